"""Exceptions the command line turns into a one-line message and an exit code (see `EXIT`)."""

from __future__ import annotations

#: The command line's exit codes, for scripts (documented in the README).
EXIT = {
    "ok": 0,  # the report was written (or the files checked); no file of the date has errors
    "file_errors": 1,  # the report was written, but a file of the date has errors (see issues.csv)
    "usage": 2,  # a usage or plan error; nothing was written
    "nothing_to_report": 3,  # no usable submission for the date; nothing written, the published report kept
    "refused": 4,  # fewer submissions than the published report; nothing written unless --force
    "outbox_fault": 5,  # the outbox cannot be written (a file, read-only, full, no permission); nothing left
    "missing_packages": 6,  # started by a Python without the project's packages (not through make or .venv)
    "internal_error": 7,  # a fault in the program itself (a bug): one line, the traceback in a log
    "mail_fault": 8,  # a mail server cannot be used (unreachable, TLS, login, lost); what was done is kept
}


class UsageError(Exception):
    """A user's mistake (a date outside the campaign, a missing folder or file): the message in the
    console's language and a stable `code` printed with it («Қате [inbox-missing]: …»)."""

    def __init__(self, message: str, code: str = "usage") -> None:
        super().__init__(message)
        self.code = code


class RunStopped(Exception):
    """A run that stops on purpose before publishing: a stable `code` (a key of `run:` in messages.yaml),
    the values its message needs, and the exit code."""

    def __init__(self, code: str, exit_code: int, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.exit_code = exit_code
        self.params = params


class OutboxFault(RunStopped):
    """The outbox could not be written; the run removed what it had written and published nothing."""
