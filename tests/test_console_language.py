"""One language on the console: every command's help, `status`, `bench`'s options and the report's lines in
Kazakh by default and in Russian with `--lang ru` (before or after the command) or MZ_LANG=ru.

The oracle is the alphabet, not the catalogue: Russian text holds none of the letters only Kazakh has, and no
text holds English words (argparse's own or ours)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KAZAKH_ONLY = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
ENGLISH = re.compile(r"\b(the|and|of|to|for|with|also|default|show|this|message|exit|options|usage|arguments|"
                     r"required|error|invalid|time|files|districts|uploading|skip)\b", re.IGNORECASE)
COMMANDS = ["report", "history", "restore", "forms", "check", "samples", "codes", "bench", "status", "serve",
            "links"]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env={**os.environ, "MZ_LANG": "", **(env or {})})


def _words(text: str) -> str:
    """The help's words: option names, metavars in capitals, paths and URLs taken out."""
    text = re.sub(r"--?[a-z][a-z-]*|\{[a-z,]+\}|\b[A-Z_]{2,}\b|\S*[/.]\S*|https?://\S+", " ", text)
    return text.replace("python -m pipeline", " ")


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_help_is_kazakh_by_default_and_russian_when_asked(command):
    args = [command] if command else []
    kk = _cli(*args, "--help")
    assert kk.returncode == 0, kk.stderr
    assert KAZAKH_ONLY.search(kk.stdout) and not ENGLISH.search(_words(kk.stdout)), ENGLISH.findall(_words(kk.stdout))
    for ru in (_cli("--lang", "ru", *args, "--help"), _cli(*args, "--help", env={"MZ_LANG": "ru"}),
               _cli(*args, "--help", "--lang", "ru")):
        assert ru.returncode == 0, ru.stderr
        assert "использование:" in ru.stdout
        assert not KAZAKH_ONLY.search(ru.stdout), KAZAKH_ONLY.findall(ru.stdout)
        assert not ENGLISH.search(_words(ru.stdout)), ENGLISH.findall(_words(ru.stdout))


def test_argument_errors_carry_a_code_in_either_language():
    kk = _cli("history")
    ru = _cli("history", "--lang", "ru")
    assert kk.returncode == ru.returncode == 2
    assert "қате [usage-arguments]:" in kk.stderr and "ошибка [usage-arguments]:" in ru.stderr
    assert not KAZAKH_ONLY.search(ru.stderr)


def test_every_refusal_prints_its_code(tmp_path):
    """The refusals that printed «Қате:» alone: a date, a folder, a file, a version, a unit."""
    cases = {
        "date-argument-not-reporting": ["report", "--date", "2017-08-18", "--inbox", str(tmp_path)],
        "date-argument-invalid": ["history", "--date", "17.08", "--outbox", str(tmp_path)],
        "inbox-missing": ["report", "--date", "2017-08-17", "--inbox", str(tmp_path / "жоқ"), "--outbox",
                          str(tmp_path / "out")],
        "file-missing": ["check", str(tmp_path / "жоқ.xlsx")],
        "version-missing": ["restore", "--date", "2017-08-17", "--version", "9", "--outbox", str(tmp_path / "out")],
        "unit-unknown": ["links", "--rotate", "nowhere", "--outbox", str(tmp_path / "out")],
    }
    for code, args in cases.items():
        for lang, prefix in (("kk", "Қате"), ("ru", "Ошибка")):
            out = _cli(*args, "--lang", lang)
            assert out.returncode == 2, (code, out.stderr)
            assert out.stderr.startswith(f"{prefix} [{code}]: "), (code, lang, out.stderr)
            assert "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def inbox(plan, tmp_path_factory) -> Path:
    from pipeline.tools.samples import generate_samples

    folder = tmp_path_factory.mktemp("inbox")
    generate_samples(plan, folder, seed=2014, dates=[dt.date(2017, 8, 8), dt.date(2017, 8, 17)])
    return folder


def test_status_speaks_the_chosen_language(inbox, tmp_path):
    args = ["status", "--date", "2017-08-17", "--inbox", str(inbox), "--outbox", str(tmp_path / "out")]
    kk = _cli(*args)
    ru = _cli(*args, "--lang", "ru")
    by_env = _cli(*args, env={"MZ_LANG": "ru"})
    assert kk.returncode == ru.returncode == by_env.returncode == 0, ru.stderr
    assert ru.stdout == by_env.stdout
    # The file names are the districts' own (Kazakh); every other word is the console's.
    names = {p.name for p in inbox.iterdir()}
    own = "\n".join(line for line in ru.stdout.splitlines() if not any(n in line for n in names))
    assert own.strip() and not KAZAKH_ONLY.search(own), KAZAKH_ONLY.findall(own)
    assert KAZAKH_ONLY.search(kk.stdout.splitlines()[0])


def test_the_report_lines_speak_the_chosen_language(inbox, tmp_path):
    ru = _cli("report", "--date", "2017-08-17", "--inbox", str(inbox), "--outbox", str(tmp_path / "out"),
              "--no-progress", "--lang", "ru")
    assert ru.returncode in (0, 1), ru.stderr
    text = ru.stdout.replace(str(tmp_path), "")
    assert "просмотрено файлов:" in text and not KAZAKH_ONLY.search(text), text


def test_console_catalogues_have_the_same_keys_in_both_languages():
    import json

    from pipeline.texts import load_data

    def keys(tree: object, prefix: str = "") -> set[str]:
        if isinstance(tree, dict):
            return set().union(*(keys(v, f"{prefix}{k}.") for k, v in tree.items())) | {prefix}
        return {prefix}

    status = load_data("status.yaml")
    assert keys(status["kk"]) == keys(status["ru"])
    startup = json.loads((REPO / "pipeline" / "data" / "startup.json").read_text(encoding="utf-8"))
    assert keys(startup["kk"]) == keys(startup["ru"])
