"""Exceptions the command line turns into a one-line message and exit code 2."""


class UsageError(Exception):
    """A user's mistake (a date outside the campaign, a missing folder or file)."""
