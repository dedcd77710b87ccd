"""mail.toml and contacts.yaml are checked like the plan: every mistake named by its key, in Kazakh (or
Russian), exit 2, before anything is fetched or sent; the default without a settings file writes drafts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

EXAMPLE = REPO / "mail.example.toml"


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_the_examples_in_the_repository_are_valid(tmp_path: Path) -> None:
    settings = tmp_path / "mail.toml"
    settings.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "contacts.yaml").write_text((REPO / "contacts.example.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = run("mail", "check", "--mail-settings", str(settings))
    assert result.returncode == 0, result.stderr
    assert "imap.example.kz:993" in result.stdout and "smtp.example.kz:587" in result.stdout
    assert "мекенжайы жоқ: –" in result.stdout  # every unit of the plan has an address in the example


@pytest.mark.parametrize("text, keys", [
    ('from = "x <a@b.kz>"\nbogus = 1\n', ["bogus"]),
    ('[imap]\nhost = "mail.example.kz"\ntls = "none"\n', ["imap.tls"]),  # plain text to another machine
    ('[imap]\nhost = ""\nport = 70000\ntls = "ssl"\nuser = "u"\n', ["imap.host", "imap.port", "imap.tls", "imap.password_env"]),
    ('[smtp]\nhost = "h"\npassword_env = "A"\npassword_file = "/nonexistent"\n', ["from", "smtp.password_file"]),
    ('from = "not an address"\n[schedule]\nremind_at = "9 o\'clock"\nfetch_minutes = 0\nsend = "yes"\n',
     ["from", "schedule.remind_at", "schedule.fetch_minutes", "schedule.send"]),
])
def test_settings_mistakes_are_named_by_key(tmp_path: Path, text: str, keys: list[str]) -> None:
    settings = tmp_path / "mail.toml"
    settings.write_text(text, encoding="utf-8")
    result = run("mail", "check", "--mail-settings", str(settings))
    assert result.returncode == 2 and "[mail-settings-invalid]" in result.stderr and "Traceback" not in result.stderr
    for key in keys:
        assert f"\n  {key}: " in result.stderr, (key, result.stderr)
    ru = run("--lang", "ru", "mail", "check", "--mail-settings", str(settings))
    assert "Ошибка в файле настроек почты" in ru.stderr


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    settings = tmp_path / "mail.toml"
    settings.write_text("[imap\nhost=", encoding="utf-8")
    assert "[mail-settings-invalid]" in run("mail", "check", "--mail-settings", str(settings)).stderr
    missing = run("mail", "check", "--mail-settings", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "[mail-settings-missing]" in missing.stderr


def test_contacts_checked_against_the_plan(tmp_path: Path) -> None:
    (tmp_path / "mail.toml").write_text('contacts = "contacts.yaml"\n', encoding="utf-8")
    (tmp_path / "contacts.yaml").write_text(
        "addressee: [deputy@akimat.kz]\n"
        "department: [bilim@example.kz]\n"
        "units:\n"
        "  tereky: [a@example.kz]\n"            # a typo of terekti
        "  oral: [oral@, bilim@example.kz]\n"   # not an address; the department's address for a unit
        "  syrym: [s@example.kz]\n"
        "  taskala: [S@Example.kz]\n"           # the same address as Сырым's (case does not matter)
        "  department: [x@example.kz]\n"
        "phone: 1\n", encoding="utf-8")
    result = run("mail", "check", "--mail-settings", str(tmp_path / "mail.toml"))
    assert result.returncode == 2 and "[mail-contacts-invalid]" in result.stderr
    for key in ("units.tereky", "units.oral[0]", "units.oral[1]", "units.taskala[0]", "units.department", "phone"):
        assert f"\n  {key}: " in result.stderr, key
    assert "terekti (Теректі ауданы)" in result.stderr  # the valid codes are listed with their names


def test_without_settings_everything_is_a_draft(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    args = ["--inbox", str(tmp_path / "inbox"), "--outbox", str(tmp_path / "outbox")]
    env = {"MZ_MAIL_SETTINGS": ""}
    # The repository's own mail.toml is not there (it is the department's, ignored by git): the defaults.
    fetch = run("mail", "fetch", *args, "--mail-settings", str(tmp_path / "mail.toml"), env=env)
    assert fetch.returncode == 2 and "[mail-settings-missing]" in fetch.stderr
    (tmp_path / "mail.toml").write_text('from = "B <b@example.kz>"\n', encoding="utf-8")
    fetch = run("mail", "fetch", *args, "--mail-settings", str(tmp_path / "mail.toml"))
    assert fetch.returncode == 2 and "[mail-imap-not-configured]" in fetch.stderr
    remind = run("remind", "--date", "2017-08-17", "--today", "2017-08-16", *args, "--mail-settings",
                 str(tmp_path / "mail.toml"))
    assert remind.returncode == 0, remind.stderr
    drafts = sorted((tmp_path / "outbox" / "2017-08-17" / "mail" / "remind").iterdir())
    assert len(drafts) == 13  # no unit has reported; no contacts file: drafts without a recipient
    assert remind.stdout.count("[mail-no-contact]") == 13
    send = run("remind", "--date", "2017-08-17", "--today", "2017-08-16", "--send", *args, "--mail-settings",
               str(tmp_path / "mail.toml"))
    assert send.returncode == 2 and "[mail-smtp-not-configured]" in send.stderr
    nothing = run("mail", "send", "--date", "2017-08-17", *args, "--mail-settings", str(tmp_path / "mail.toml"))
    assert nothing.returncode == 3 and "[mail-report-missing]" in nothing.stderr


def test_mail_wording_has_the_same_keys_in_both_languages() -> None:
    import yaml

    data = yaml.safe_load((REPO / "pipeline" / "data" / "mail.yaml").read_text(encoding="utf-8"))

    def keys(node: object, prefix: str = "") -> set[str]:
        if isinstance(node, dict):
            return set().union(*(keys(v, f"{prefix}.{k}") for k, v in node.items())) | {prefix}
        return {prefix}

    assert keys(data["kk"]) == keys(data["ru"])
