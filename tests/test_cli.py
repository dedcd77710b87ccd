"""The command line: exit codes and one-line answers, never a traceback for a user's mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_check_on_a_text_file_renamed_xlsx(tmp_path):
    fake = tmp_path / "Ақжайық 17.08.xlsx"
    fake.write_text("бұл кесте емес\n", encoding="utf-8")
    result = _run("check", str(fake))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    first = result.stdout.splitlines()[0].split("\t")
    assert first[0] == "errors" and first[3] == "file-not-spreadsheet"


def test_check_on_a_good_form(tmp_path, plan):
    from pipeline.forms import layout
    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, sample_values

    blank = write_form(plan, "syrym", tmp_path / "blank.xlsx")
    filled = tmp_path / "Сырым.xlsx"
    fill_form(blank, filled, sample_values(plan, "syrym", plan.dates[1]))
    result = _run("check", str(filled))
    assert result.returncode == 0, result.stdout
    assert result.stdout.split("\t")[0] in ("ok", "warnings")
    assert layout.FORM_SHEET  # the form sheet name stays the reader's anchor


def test_report_date_outside_the_campaign_lists_valid_dates(tmp_path):
    result = _run("report", "--date", "2017-08-18", "--inbox", str(tmp_path), "--outbox", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "2017-08-17" in result.stderr and "2017-09-28" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_report_with_missing_inbox_and_bad_date_text(tmp_path):
    missing = _run("report", "--date", "2017-08-17", "--inbox", str(tmp_path / "nope"), "--outbox", str(tmp_path))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    garbage = _run("report", "--date", "17.08", "--inbox", str(tmp_path), "--outbox", str(tmp_path))
    assert garbage.returncode == 2 and "Traceback" not in garbage.stderr


def test_check_missing_file_and_broken_plan(tmp_path):
    missing = _run("check", str(tmp_path / "none.xlsx"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    plan = tmp_path / "plan.yaml"
    plan.write_text("campaign: {}\n", encoding="utf-8")
    broken = _run("--plan", str(plan), "forms", "--out", str(tmp_path / "forms"))
    assert broken.returncode == 2 and "campaign.code" in broken.stderr and "Traceback" not in broken.stderr


def test_help_lists_every_command():
    result = _run("--help")
    for command in ("report", "forms", "check", "samples", "codes"):
        assert command in result.stdout


def test_problem_code_docs_are_generated_from_the_catalogue():
    from pipeline.tools.docs import problem_codes_markdown
    from pipeline.problems import catalogue

    committed = (REPO / "docs" / "problem-codes.md").read_text(encoding="utf-8")
    assert committed == problem_codes_markdown(), "run `make codes` and commit docs/problem-codes.md"
    for code in catalogue():
        assert f"`{code}`" in committed


CORPUS = REPO.parent / "shared" / "corpus" / "spreadsheets"


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared spreadsheet corpus not present")
def test_check_answers_every_corpus_file_with_a_verdict_and_a_code():
    files = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv"))
    result = subprocess.run([sys.executable, "-m", "pipeline", "check", *map(str, files)],
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 1
    lines = [line.split("\t") for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert len(lines) == len(files) == 148
    answered = {Path(line[2]).name: line for line in lines}
    assert set(answered) == {f.name for f in files}
    for name, line in answered.items():
        assert line[0] in ("ok", "warnings", "errors"), name
        assert line[3] != "-", name  # none of them is our form: each is answered with a code


def test_the_template_page_lists_every_template_field():
    from pipeline.render import template_fields

    page = (REPO / "docs" / "report-template.md").read_text(encoding="utf-8")
    for name in template_fields():
        assert f"`{name}`" in page, name


# --- check and report answer a folder's files the same way ------------------------------------------------


def _first_lines(stdout: str) -> dict[str, tuple[str, str]]:
    """file name → (verdict, codes) from the first line `check` prints for each file."""
    out = {}
    for line in stdout.splitlines():
        if not line.startswith(" "):
            verdict, _, name, codes = line.split("\t")
            out[Path(name).name] = (verdict, codes)
    return out


@pytest.mark.parametrize("tool_files", [[], [".gitkeep"], [".gitkeep", ".DS_Store", "Thumbs.db", "desktop.ini"]])
def test_check_on_a_folder_with_nothing_to_check_says_so_and_exits_3(tmp_path, tool_files):
    folder = tmp_path / "бос қалта"
    folder.mkdir()
    for name in tool_files:
        (folder / name).write_bytes(b"")
    result = _run("check", str(folder))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == ""  # a tool file is not anyone's form: not listed, not "unknown"
    assert "[check-nothing-to-check]" in result.stderr and str(folder) in result.stderr
    assert "Traceback" not in result.stderr


def test_check_and_report_answer_a_lock_file_and_a_cover_letter_alike(tmp_path, plan):
    """An office lock file and a PDF cover letter: set aside with the same code by `check` (of the folder or
    of the file itself) and by `report` (manifest.json); a tool file is listed by neither."""
    import json

    from pipeline.forms.build import write_form
    from pipeline.tools.samples import fill_form, sample_values

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    blank = write_form(plan, "syrym", tmp_path / "blank.xlsx")
    fill_form(blank, inbox / "Сырым 08.08.xlsx", sample_values(plan, "syrym", plan.dates[0]))
    (inbox / "~$Сырым 08.08.xlsx").write_bytes(b"\x0bSyrym" + b"\0" * 100)
    (inbox / "Ілеспе хат.pdf").write_bytes(b"%PDF-1.4 cover letter")
    (inbox / ".gitkeep").write_bytes(b"")
    expected = {"~$Сырым 08.08.xlsx": ("ignored", "ignored-lock-file"),
                "Ілеспе хат.pdf": ("ignored", "ignored-not-spreadsheet")}

    folder = _run("check", str(inbox))
    lines = _first_lines(folder.stdout)
    assert {k: v for k, v in lines.items() if k in expected} == expected
    assert set(lines) == {"Сырым 08.08.xlsx", *expected} and folder.returncode == 0, folder.stdout
    one_by_one = _run("check", *(str(inbox / name) for name in expected))
    assert _first_lines(one_by_one.stdout) == expected
    assert one_by_one.returncode == 3 and "[check-nothing-to-check]" in one_by_one.stderr  # no spreadsheet among them

    outbox = tmp_path / "outbox"
    report = _run("report", "--date", plan.dates[0].isoformat(), "--inbox", str(inbox), "--outbox", str(outbox))
    assert report.returncode in (0, 1), report.stderr
    manifest = json.loads((outbox / plan.dates[0].isoformat() / "manifest.json").read_text(encoding="utf-8"))
    inputs = {i["file"]: i for i in manifest["inputs"]}
    assert set(inputs) == {"Сырым 08.08.xlsx", *expected}
    assert {name: (inputs[name]["verdict"], ",".join(inputs[name]["codes"])) for name in expected} == expected


def test_default_folders_are_those_of_the_current_folder(tmp_path, plan):
    """Without --inbox/--outbox a run reads ./inbox and writes ./outbox of the folder it is started in,
    wherever the package itself lies (here: this repository, on PYTHONPATH)."""
    import datetime as dt
    import os

    from pipeline.tools.samples import generate_samples

    generate_samples(plan, tmp_path / "inbox", seed=2014, dates=[dt.date(2017, 8, 8)])
    before = sorted(p.name for p in (REPO / "outbox").iterdir())
    result = subprocess.run([sys.executable, "-m", "pipeline", "report", "--date", "2017-08-08", "--no-progress"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode in (0, 1), result.stderr
    assert (tmp_path / "outbox" / "2017-08-08" / "akparat-2017-08-08.docx").is_file()
    assert sorted(p.name for p in (REPO / "outbox").iterdir()) == before
