"""Attachments as districts' mail programs send them: names in every encoding, zips, winmail.dat, hostile
names and broken messages — decoded from bytes written by hand (tests/mail/mime.py), never by the code
under test."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pipeline.mail.parse import parse_message

from .mime import message, plain_message, tnef_message, zip_of

LIMIT = 20_000_000
NAME = "Теректі ауданы – 17.08.2017 есеп (түзетілген).xlsx"


@pytest.mark.parametrize("style", ["outlook", "webmail-b", "webmail-q", "raw-utf8", "name-only"])
def test_cyrillic_names_in_every_encoding(forms: dict[str, Path], style: str) -> None:
    raw = message("Теректі <terekti@akimat.example.kz>", "Есеп", [(NAME, forms["terekti"].read_bytes(), style)])
    got = parse_message(raw, max_attachment_bytes=LIMIT)
    [attachment] = got.attachments
    assert attachment.name == NAME
    assert attachment.kind == "form"
    assert attachment.data == forms["terekti"].read_bytes()
    assert got.sender == "terekti@akimat.example.kz"
    assert got.problems == []


def test_windows_1251_encoded_word(forms: dict[str, Path]) -> None:
    name = "Отчёт Теректы.xlsx"  # cp1251 has no Kazakh letters: what such a program can send
    raw = message("x <terekti@akimat.example.kz>", "Есеп", [(name, forms["terekti"].read_bytes(), "cp1251-2047")])
    assert parse_message(raw, max_attachment_bytes=LIMIT).attachments[0].name == name


def test_raw_windows_1251_bytes_in_the_header(forms: dict[str, Path]) -> None:
    raw = message("x <terekti@akimat.example.kz>", "Есеп", [("PLACEHOLDER.xlsx", forms["terekti"].read_bytes(), "webmail-b")])
    # A program that writes the name's windows-1251 bytes straight into the header.
    encoded = raw.split(b'filename="', 1)[1].split(b'"', 1)[0]
    raw = raw.replace(encoded, "Отчёт.xlsx".encode("cp1251"))
    assert parse_message(raw, max_attachment_bytes=LIMIT).attachments[0].name == "Отчёт.xlsx"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһіАӘБҒҚҢӨҰҮІ 0123456789_-.()№«»"),
               min_size=1, max_size=80).filter(lambda s: s.strip(" .") == s and s.strip()),
       st.sampled_from(["outlook", "webmail-b", "webmail-q", "raw-utf8"]))
def test_any_cyrillic_name_survives_any_encoding(stem: str, style: str) -> None:
    name = stem + ".xlsx"
    raw = message("a <a@b.kz>", "x", [(name, b"PK\x03\x04not really", style)])
    assert parse_message(raw, max_attachment_bytes=LIMIT).attachments[0].name == name


def test_zip_with_forms_and_a_cover_letter(forms: dict[str, Path]) -> None:
    archive = zip_of([("Есеп/Теректі 17.08.xlsx", forms["terekti"].read_bytes()),
                      ("Хат.pdf", b"%PDF-1.4 cover letter"), ("__MACOSX/._Теректі 17.08.xlsx", b"junk")])
    raw = message("x <terekti@akimat.example.kz>", "Есеп", [("Есептер.zip", archive, "outlook")],
                  ctype_override={0: "application/x-zip-compressed"})
    got = parse_message(raw, max_attachment_bytes=LIMIT)
    kinds = {a.name: a.kind for a in got.attachments}
    assert kinds == {"Теректі 17.08.xlsx": "form", "Хат.pdf": "skipped"}
    form = next(a for a in got.attachments if a.kind == "form")
    assert form.container == "Есептер.zip" and form.data == forms["terekti"].read_bytes()


def test_zip_made_by_windows_explorer_cp866_names(forms: dict[str, Path]) -> None:
    archive = zip_of([("Отчёт Теректы.xlsx", forms["terekti"].read_bytes())], cp866=True)
    got = parse_message(message("x <t@a.kz>", "z", [("архив.zip", archive, "webmail-b")]), max_attachment_bytes=LIMIT)
    assert [a.name for a in got.attachments] == ["Отчёт Теректы.xlsx"]


def test_broken_and_encrypted_zip() -> None:
    broken = message("x <t@a.kz>", "z", [("архив.zip", b"PK\x03\x04" + b"\x00" * 100, "webmail-b")])
    got = parse_message(broken, max_attachment_bytes=LIMIT)
    assert [a.problem.code for a in got.attachments] == ["mail-zip-unreadable"]
    assert [p.code for p in got.problems] == ["mail-no-spreadsheet"]


def test_winmail_dat_is_answered_with_its_code() -> None:
    got = parse_message(tnef_message("x <t@a.kz>", "Есеп"), max_attachment_bytes=LIMIT)
    assert [(a.kind, a.problem.code) for a in got.attachments] == [("refused", "mail-winmail-dat")]


def test_no_attachment_and_auto_replies() -> None:
    plain = parse_message(plain_message("x <t@a.kz>", "Сұрақ"), max_attachment_bytes=LIMIT)
    assert plain.attachments == [] and [p.code for p in plain.problems] == ["mail-no-spreadsheet"]
    assert not plain.auto
    auto = parse_message(plain_message("x <t@a.kz>", "Демалыста", extra_headers="Auto-Submitted: auto-replied\r\n"),
                         max_attachment_bytes=LIMIT)
    assert auto.auto
    bounce = parse_message(plain_message("MAILER-DAEMON <mailer-daemon@a.kz>", "Undelivered"), max_attachment_bytes=LIMIT)
    assert bounce.auto


def test_attachment_over_the_limit_is_refused_not_kept(forms: dict[str, Path]) -> None:
    big = b"PK\x03\x04" + b"\x00" * 3000
    got = parse_message(message("x <t@a.kz>", "z", [("Үлкен.xlsx", big, "outlook")]), max_attachment_bytes=2000)
    [a] = got.attachments
    assert a.kind == "refused" and a.problem.code == "mail-attachment-too-large" and a.data == b"" and a.size == len(big)


def test_personal_data_in_a_name_is_masked_everywhere_it_is_kept(forms: dict[str, Path]) -> None:
    name = "Тізім 010203400500 Иванов Иван, Петров Пётр.xlsx"
    raw = message("Иванов Иван <t@a.kz>", "ЖСН 010203400500", [(name, forms["terekti"].read_bytes(), "outlook")])
    got = parse_message(raw, max_attachment_bytes=LIMIT)
    [a] = got.attachments
    assert a.name_masked and "010203400500" not in a.name and "Иванов" not in a.name
    assert "010203400500" not in got.subject


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage",
    b"Content-Type: multipart/mixed\r\n\r\nno boundary at all",
    b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",  # never closed
    b"From: =?utf-8?B?////?= <@>\r\nSubject: =?x-unknown?Q?=FF?=\r\n\r\n",
])
def test_malformed_messages_never_raise(raw: bytes) -> None:
    got = parse_message(raw, max_attachment_bytes=LIMIT)
    assert got.problems and got.problems[0].code in ("mail-message-malformed", "mail-no-spreadsheet")


def test_hostile_names_become_harmless_text(forms: Path) -> None:
    data = b"PK\x03\x04 not a real workbook"
    cases = {
        "..\\..\\Windows\\System32\\есеп.xlsx": "есеп.xlsx",
        "../../etc/passwd.xlsx": "passwd.xlsx",
        "есеп\u202egpj.xlsx": "есеп gpj.xlsx",  # a right-to-left override is not printable: a space
        "а" * 500 + ".xlsx": "а" * 200,
    }
    for raw_name, shown in cases.items():
        got = parse_message(message("x <t@a.kz>", "z", [(raw_name, data, "outlook")]), max_attachment_bytes=LIMIT)
        assert got.attachments[0].name == shown, raw_name


def test_zip_bomb_and_a_zip_inside_a_zip(forms: dict[str, Path]) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.xlsx", b"\x00" * 300_000_000)  # deflates ~1000:1
    bomb = parse_message(message("x <t@a.kz>", "z", [("архив.zip", buffer.getvalue(), "outlook")]),
                         max_attachment_bytes=LIMIT)
    assert [a.problem.code for a in bomb.attachments] == ["mail-zip-unreadable"]
    inner = zip_of([("Теректі.xlsx", forms["terekti"].read_bytes())])
    nested = parse_message(message("x <t@a.kz>", "z", [("a.zip", zip_of([("b.zip", inner)]), "outlook")]),
                           max_attachment_bytes=LIMIT)
    assert [(a.kind, a.problem.code) for a in nested.attachments] == [("skipped", "mail-attachment-not-spreadsheet")]
