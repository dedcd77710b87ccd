"""`python -m pipeline`: first make sure this Python has the project's packages (pipeline.startup, no
imports), then the command line."""

import sys


def run() -> int:
    from pipeline.startup import missing_packages, say_missing

    missing = missing_packages()
    if missing:
        return say_missing(missing, sys.argv[1:])
    from pipeline.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
