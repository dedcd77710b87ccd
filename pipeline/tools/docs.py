"""The problem-code reference, generated from the catalogue so the docs can never drift from the code."""

from __future__ import annotations

from pipeline.problems import SEVERITY_ORDER, catalogue

_SEVERITY_WORDS = {"error": "error — not used, exit 1", "warning": "warning — used, check it", "info": "info"}


def problem_codes_markdown() -> str:
    entries = sorted(catalogue().values(), key=lambda e: (SEVERITY_ORDER[e.severity], e.code))
    lines = [
        "# Problem codes",
        "",
        "Generated from `pipeline/data/problems.yaml` by `python -m pipeline codes --out docs/problem-codes.md`;",
        "do not edit by hand. Every problem in `issues.csv`, in `check` output and in the feedback workbooks",
        "carries one of these codes, the file, and where it applies the sheet and the cell.",
        "",
        "| code | severity | where | what it means | message (Kazakh) | message (Russian, the portal's Russian page) |",
        "|---|---|---|---|---|---|",
    ]
    for e in entries:
        message = e.message.replace("|", "\\|")
        message_ru = e.message_ru.replace("|", "\\|")
        lines.append(f"| `{e.code}` | {_SEVERITY_WORDS[e.severity]} | {e.scope} | {e.title} | {message} | {message_ru} |")
    return "\n".join(lines) + "\n"
