"""Issue 17, over HTTP: nothing lost or half-done, every error answered as the portal's own page, words a
district can act on, the department's downloads, personal data by every route, macros, slow clients.

Expectations come from the data files read here with yaml (portal.yaml, problems.yaml, messages.yaml, the
plan), not through the code under test.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from pipeline.forms import write_form
from pipeline.plan import load_plan
from pipeline.portal import create_app
from pipeline.portal.access import portal_dir
from pipeline.tools.samples import fill_form, sample_values

from .conftest import REPO, LiveServer, Site, csrf_of, key_figure, make_site, upload

DATA = REPO / "pipeline" / "data"
PORTAL = yaml.safe_load((DATA / "portal.yaml").read_text(encoding="utf-8"))
PROBLEMS = yaml.safe_load((DATA / "problems.yaml").read_text(encoding="utf-8"))
MESSAGES = yaml.safe_load((DATA / "messages.yaml").read_text(encoding="utf-8"))
IIN = "010203400500"
PERSONAL_NAME = f"ИИН {IIN} Иванов Иван Петров Пётр.xlsx"
KAZAKH_ONLY = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
ENGLISH_ERRORS = ("Not Found", "Method Not Allowed", "Internal Server Error", "Too Many Requests", "Bad Request",
                  "Request Entity Too Large", "Request Timeout")


def audit(site: Site) -> list[dict]:
    path = portal_dir(site.outbox) / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def everything_in(folder: Path) -> list[str]:
    """Every file under the folder, hidden temporary files included."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def literal(pattern: str) -> str:
    """The longest stretch of a message pattern between its {placeholders}."""
    return max(re.split(r"\{\w+\}", pattern), key=len).strip()


def title_of(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()


def _client(site: Site, app: object | None = None) -> object:
    """A test client that answers a server error as the server would (the portal's page), not by raising."""
    from starlette.testclient import TestClient  # imported late: its httpx notice is filtered by conftest then

    return TestClient(app or create_app(site.config), base_url="http://127.0.0.1", raise_server_exceptions=False)


# --- stored and audited together or not at all ----------------------------------------------------------------

def test_an_unwritable_audit_log_stores_nothing_and_answers_in_kazakh(tmp_path: Path, workbooks) -> None:
    """Main answered 500 and kept the file in the inbox, unaudited; each retry stored another copy."""
    site = make_site(tmp_path)
    blocked = portal_dir(site.outbox) / "audit.jsonl"
    blocked.mkdir(parents=True)  # a folder where the log should be: every append fails
    with _client(site) as client:
        link = site.links["akzhaiyk"]
        for _ in range(2):  # a retry changes nothing
            answer = upload(client, link, workbooks["akzhaiyk"])
            assert answer.status_code == 503
            body = answer.json()
            assert body["stored"] is False and body["code"] == "upload-not-recorded"
            assert everything_in(site.inbox) == []
        page = upload(client, link, workbooks["akzhaiyk"], json=False)
        assert page.status_code == 503 and '<html lang="kk">' in page.text
        assert PROBLEMS["upload-not-recorded"]["message"] in page.text
        assert everything_in(site.inbox) == []
        blocked.rmdir()
        stored = upload(client, link, workbooks["akzhaiyk"]).json()
        assert stored["stored"] is True
        assert everything_in(site.inbox) == [stored["stored_name"]]
        [record] = audit(site)
        assert record["stored_name"] == stored["stored_name"] and record["sha256"] == stored["sha256"]


# --- every error as the portal's own page ------------------------------------------------------------------------

def _error_cases(site: Site, client: object) -> dict[str, object]:
    link = site.links["akzhaiyk"]
    return {
        "404 root": lambda lang: client.get(f"/?lang={lang}"),
        "404 unknown": lambda lang: client.get(f"/nowhere?lang={lang}"),
        "404 secret": lambda lang: client.get(f"/p/{'A' * 43}?lang={lang}"),
        "405": lambda lang: client.get(f"{link}/upload?lang={lang}"),
        "400": lambda lang: client.post(f"{link}/upload?lang={lang}", data={"csrf": csrf_of(client, link)}),
        "403": lambda lang: client.post(f"{link}/upload?lang={lang}", data={"csrf": "x"},
                                        files={"file": ("a.xlsx", b"x")}),
        "413": lambda lang: client.post(f"{link}/upload?lang={lang}", content=b"x" * 10,
                                        headers={"content-length": str(10**9), "content-type": "multipart/form-data; boundary=x"}),
    }


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_error_page_is_the_portals_own_in_its_language(tmp_path: Path, lang: str) -> None:
    """Main: `/` and unknown paths answered an English "Not Found" 980 px wide on a phone; 405 and 500 too."""
    site = make_site(tmp_path)
    with _client(site) as client:
        for case, call in _error_cases(site, client).items():
            status = int(case.split()[0])
            page = call(lang)
            assert page.status_code == status, case
            assert f'<html lang="{lang}">' in page.text, case
            assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text, case
            assert title_of(page.text) == PORTAL[lang]["errors"][str(status)]["title"], case
            assert not any(english in page.text for english in ENGLISH_ERRORS), case
            if lang == "ru":
                assert not KAZAKH_ONLY.search(page.text.split("<main>")[1]), case
        # the same 404 whatever was wrong: no hint which part of a link is bad
        assert client.get("/").text == client.get("/nowhere").text == client.get(f"/p/{'A' * 43}").text


def test_too_many_requests_is_the_portals_page(tmp_path: Path) -> None:
    site = make_site(tmp_path, request_rate=2)
    with _client(site) as client:
        link = site.links["akzhaiyk"]
        answers = [client.get(link) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert title_of(answers[2].text) == PORTAL["kk"]["errors"]["429"]["title"]
        assert answers[2].headers["retry-after"] == "60"


def test_an_unexpected_error_answers_a_page_and_its_traceback_goes_to_the_log(tmp_path: Path) -> None:
    """Any exception in a request: the portal's 500 page in the page's language with an incident number;
    the traceback, masked and without the secret link, in outbox/.logs/portal.log (never on the page)."""
    site = make_site(tmp_path)
    app = create_app(site.config)
    secret = site.links["akzhaiyk"].rsplit("/", 1)[1]

    def broken() -> object:
        raise RuntimeError(f"status broke on {IIN} at /p/{secret}")

    app.app.state.portal.shared.get = broken
    with _client(site, app) as client:
        page = client.get(site.links["akzhaiyk"])
        ru = client.get(site.links["akzhaiyk"] + "?lang=ru")
        after = client.get("/static/portal.css")
    assert page.status_code == 500 and ru.status_code == 500 and after.status_code == 200
    assert title_of(page.text) == PORTAL["kk"]["errors"]["500"]["title"]
    assert title_of(ru.text) == PORTAL["ru"]["errors"]["500"]["title"]
    for text in (page.text, ru.text):
        assert "Traceback" not in text and "RuntimeError" not in text and IIN not in text
    incident = re.search(r'id="incident">[^<]*?([0-9a-f]{8})', page.text).group(1)
    log = (site.outbox / ".logs" / "portal.log").read_text(encoding="utf-8")
    assert f"incident {incident}" in log and "Traceback" in log and "RuntimeError" in log
    assert IIN not in log and secret not in log


def test_a_refused_build_answers_its_code_and_kazakh_message(tmp_path: Path, workbooks) -> None:
    """Main: RunStopped from run_report was not caught, the department got a bare 500."""
    site = make_site(tmp_path)
    with _client(site) as client:
        dept = site.links["department"]
        token = csrf_of(client, dept)
        empty = client.post(f"{dept}/build", data={"date": "2017-08-17", "csrf": token})
        assert empty.status_code == 409
        assert literal(MESSAGES["kk"]["run"]["report-nothing-to-report"]) in empty.text
        assert "<code>report-nothing-to-report</code>" in empty.text
        as_json = client.post(f"{dept}/build", data={"date": "2017-08-17", "csrf": token},
                              headers={"Accept": "application/json"}).json()
        assert as_json["built"] is False and as_json["code"] == "report-nothing-to-report"
        # exit-4: a report built from two forms, then one of them gone
        for unit in ("akzhaiyk", "syrym"):
            assert upload(client, site.links[unit], workbooks[unit]).json()["stored"]
        built = client.post(f"{dept}/build", data={"date": "2017-08-17", "csrf": token}, follow_redirects=False)
        assert built.status_code == 303
        next(site.inbox.rglob("syrym-*")).unlink()
        fewer = client.post(f"{dept}/build?lang=ru", data={"date": "2017-08-17", "csrf": token})
        assert fewer.status_code == 409 and "<code>report-fewer-submissions</code>" in fewer.text
        assert literal(MESSAGES["ru"]["run"]["report-fewer-submissions"]) in fewer.text



def test_a_bug_in_render_answers_the_build_with_the_error_page_never_a_report(
        tmp_path: Path, workbooks, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug planted in render: the build button answers the 500 page with an incident number (not «built», not
    a refusal), the traceback is in the portal's log, and no report is published."""
    import pipeline.render.docx

    def broken(*args: object, **kwargs: object) -> bytes:
        raise ZeroDivisionError("planted by the test")

    site = make_site(tmp_path)
    with _client(site) as client:
        dept = site.links["department"]
        token = csrf_of(client, dept)
        for unit in ("akzhaiyk", "syrym"):
            assert upload(client, site.links[unit], workbooks[unit]).json()["stored"]
        monkeypatch.setattr(pipeline.render.docx, "render_bytes", broken)
        answer = client.post(f"{dept}/build", data={"date": "2017-08-17", "csrf": token}, follow_redirects=False)
    assert answer.status_code == 500
    assert title_of(answer.text) == PORTAL["kk"]["errors"]["500"]["title"] and "Traceback" not in answer.text
    incident = re.search(r'id="incident">[^<]*?([0-9a-f]{8})', answer.text).group(1)
    log = (site.outbox / ".logs" / "portal.log").read_text(encoding="utf-8")
    assert f"incident {incident}" in log and "ZeroDivisionError: planted by the test" in log
    assert not (site.outbox / "2017-08-17").exists()

# --- words a district acts on --------------------------------------------------------------------------------------

def test_a_file_with_errors_is_stored_needs_correction_never_accepted(client, site: Site, workbooks) -> None:
    """Main said «қателер бар. Файл қабылданды және сақталды» — an officer reads "accepted" as done."""
    answer = upload(client, site.links["akzhaiyk"], workbooks["bad"], json=False)
    page = client.get(answer.headers["location"])
    result = page.text.split('id="result"')[1].split("</section>")[0]
    assert 'data-state="stored_errors"' in page.text
    assert PORTAL["kk"]["result_state"]["stored_errors"] in result
    assert "қабылданды" not in result
    first = re.search(r'id="fix-first">(.*?)</p>', result, re.S).group(1)
    body = client.get(site.links["akzhaiyk"], headers={"Accept": "application/json"}).json()["history"][0]
    wrong = next(p for p in body["problems"] if p["code"] == "value-not-number")
    assert wrong["cell"] in first and literal(PROBLEMS["value-not-number"]["message"]).strip("«» :") in first


def test_problems_in_the_pages_language_codes_behind_a_detail_result_kept_across_the_switch(
        client, site: Site, workbooks) -> None:
    plan = load_plan()
    link = site.links["akzhaiyk"]
    body = upload(client, link, workbooks["bad"]).json()
    kk = client.get(f"{link}?upload={body['id']}")
    switch = re.search(r'id="lang-switch" href="([^"]+)"', kk.text).group(1).replace("&amp;", "&")
    assert f"upload={body['id']}" in switch and "lang=ru" in switch  # main: the switch dropped the result
    ru = client.get(switch.split("#")[0])
    assert 'id="result"' in ru.text
    figure = plan.figure_by_code[key_figure(plan, sample_values(plan, "akzhaiyk", dt.date(2017, 8, 17)))]
    raw_plan = yaml.safe_load((DATA / "plans" / "mektepke-zhol-2017.yaml").read_text(encoding="utf-8"))
    label_ru = next(f["label_ru"] for s in raw_plan["sections"] for i in s["items"] for f in i.get("figures", [])
                    if f["code"] == figure.code)
    row = re.search(r'<tr class="sev-error" data-code="value-not-number">(.*?)</tr>', ru.text, re.S).group(1)
    message = re.search(r'<div class="msg">([^<]*)<details', row).group(1)
    assert label_ru in message and not KAZAKH_ONLY.search(message.replace("көп", ""))  # the typed value stays
    assert re.search(r"<details class=\"code\"><summary>[^<]+</summary><code>value-not-number</code></details>", row)
    assert not re.search(r"<td[^>]*><code>value-not-number</code></td>", ru.text)  # no bare code column


def test_history_times_are_written_as_people_write_them(client, site: Site, workbooks) -> None:
    upload(client, site.links["akzhaiyk"], workbooks["akzhaiyk"])
    page = client.get(site.links["akzhaiyk"]).text
    history = page.split('class="history"')[1]
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", history)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page)


# --- personal data by every route ------------------------------------------------------------------------------------

def test_personal_data_in_an_upload_name_is_masked_in_audit_pages_and_downloads(client, site: Site, workbooks) -> None:
    """Main kept «ИИН … Иванов Иван Петров Пётр.xlsx» unmasked in audit.jsonl, on both pages and in the
    feedback download's name, and the feedback's first sheet named the server's staging path."""
    link, dept = site.links["akzhaiyk"], site.links["department"]
    body = upload(client, link, workbooks["bad"], name=PERSONAL_NAME).json()
    assert "personal-data-in-name" in {p["code"] for p in body["problems"]}
    [record] = audit(site)
    assert record["original_name"] == "ИИН *** ***.xlsx"
    feedback = client.get(body["feedback"])
    assert feedback.status_code == 200
    disposition = feedback.headers["content-disposition"]
    first_sheet = openpyxl.load_workbook(io.BytesIO(feedback.content)).worksheets[0]
    title = str(first_sheet["A1"].value)
    assert "ИИН ***" in title and "staging" not in title and str(site.outbox) not in title
    unit_page = client.get(f"{dept}/unit/akzhaiyk")
    sha = re.search(r'data-sha="([0-9a-f]{64})"', unit_page.text).group(1)
    downloads = [client.get(f"{dept}/unit/akzhaiyk/file/{sha}"), client.get(f"{dept}/unit/akzhaiyk/feedback/{sha}")]
    texts = [client.get(link).text, client.get(f"{link}?upload={body['id']}&lang=ru").text, unit_page.text,
             json.dumps(client.get(link, headers={"Accept": "application/json"}).json(), ensure_ascii=False),
             (portal_dir(site.outbox) / "audit.jsonl").read_text(encoding="utf-8"), disposition,
             *(d.headers["content-disposition"] for d in downloads)]
    for text in texts:
        decoded = __import__("urllib.parse").parse.unquote(text)
        assert IIN not in decoded and "Иванов" not in decoded and "Петров" not in decoded, text[:200]
    assert downloads[0].content == workbooks["bad"].read_bytes()


# --- the department's page ---------------------------------------------------------------------------------------------

def test_department_sees_files_by_date_with_downloads_its_own_box_and_stale_reports(
        client, site: Site, workbooks, tmp_path: Path) -> None:
    plan = load_plan()
    dept, link = site.links["department"], site.links["akzhaiyk"]
    # an e-mailed form of 8 August in the inbox, and two uploads of 17 August (one with a wrong cell)
    aug8 = tmp_path / "Ақжайық 08.08.xlsx"
    fill_form(write_form(plan, "akzhaiyk", tmp_path / "blank.xlsx"), aug8,
              sample_values(plan, "akzhaiyk", dt.date(2017, 8, 8)))
    (site.inbox / "mail").mkdir()
    shutil.copy(aug8, site.inbox / "mail" / aug8.name)
    bad = upload(client, link, workbooks["bad"]).json()
    fixed = upload(client, link, workbooks["fixed"]).json()
    page = client.get(f"{dept}/unit/akzhaiyk").text
    sections = re.findall(r'<section class="date-group" id="date-([\d-]+)">', page)
    assert sections == ["2017-08-17", "2017-08-08"]
    aug17 = page.split('id="date-2017-08-17"')[1].split("</section>")[0]
    assert aug17.count('class="file-block') == 2 and aug17.count("dl-file") == 2
    assert aug17.count("dl-feedback") == 1  # only the upload with a wrong cell has a feedback workbook
    blocks = dict(re.findall(r'<article class="file-block[^"]*" data-sha="([0-9a-f]{64})">(.*?)</article>', aug17, re.S))
    got = {client.get(f"{dept}/unit/akzhaiyk/file/{sha}").content for sha in blocks}
    assert got == {workbooks["bad"].read_bytes(), workbooks["fixed"].read_bytes()}
    [with_feedback] = [sha for sha, block in blocks.items() if "dl-feedback" in block]
    assert client.get(f"{dept}/unit/akzhaiyk/file/{with_feedback}").content == workbooks["bad"].read_bytes()
    feedback = client.get(f"{dept}/unit/akzhaiyk/feedback/{with_feedback}")
    assert feedback.headers["content-disposition"].endswith("-feedback.xlsx") or "feedback.xlsx" in feedback.headers["content-disposition"]
    assert openpyxl.load_workbook(io.BytesIO(feedback.content)).worksheets[0]["A1"].value
    aug8_block = page.split('id="date-2017-08-08"')[1].split("</section>")[0]
    assert "dl-file" in aug8_block and aug8.name in aug8_block
    # a district link never reaches these downloads
    assert client.get(f"{link}/unit/akzhaiyk/file/{with_feedback}").status_code == 404
    # the department's own upload box says it is for the department's own form
    home = client.get(dept).text
    assert PORTAL["kk"]["dept_upload_heading"] in home
    # a report built, then a newer upload: the report is marked stale
    token = csrf_of(client, dept)
    assert client.post(f"{dept}/build", data={"date": "2017-08-17", "csrf": token}, follow_redirects=False).status_code == 303
    assert 'class="stale"' not in client.get(dept).text
    assert upload(client, site.links["syrym"], workbooks["syrym"]).json()["stored"]
    stale = client.get(dept).text
    assert re.search(r'<li id="report-2017-08-17">.*?class="stale" data-stale="1"', stale, re.S)
    assert client.get(dept, headers={"Accept": "application/json"}).json()["stale"] == {"2017-08-17": 1}
    assert bad["stored"] and fixed["stored"]


def test_the_grids_colours_tell_errors_from_missing(client) -> None:
    css = client.get("/static/portal.css").text
    colour = {state: re.search(rf"\.st-{state} {{ background: (#[0-9a-f]{{6}})", css).group(1)
              for state in ("on_time", "late", "errors", "missing", "not_due")}
    assert len(set(colour.values())) == 5

    def rgb(hex_colour: str) -> tuple[int, int, int]:
        return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]

    distance = sum((a - b) ** 2 for a, b in zip(rgb(colour["errors"]), rgb(colour["missing"]))) ** 0.5
    assert distance > 60  # main: #f3b4b1 against #f9d6d5, 40 apart — two pinks


# --- macros ----------------------------------------------------------------------------------------------------------------

def _with_vba(src: Path, out: Path) -> Path:
    """The form as an .xlsm with a VBA project part, its relationship and its content types."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                data = data.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/'
                                    b'vnd.ms-office.vbaProject"/></Types>')
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                                    b'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
            zout.writestr(info, data)
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Attribute VB_Name = \"Module1\"" * 20)
    return out


def test_macros_are_removed_from_the_stored_copy(client, site: Site, workbooks, tmp_path: Path) -> None:
    """Main stored an .xlsm with its macros."""
    xlsm = _with_vba(workbooks["akzhaiyk"], tmp_path / "Ақжайық макрос.xlsm")
    body = upload(client, site.links["akzhaiyk"], xlsm).json()
    assert body["stored"] is True and "upload-macros-removed" in {p["code"] for p in body["problems"]}
    stored = site.inbox / body["stored_name"]
    assert stored.suffix == ".xlsx"
    with zipfile.ZipFile(stored) as zf:
        names = [n.lower() for n in zf.namelist()]
        assert not any("vba" in n for n in names)
        assert b"macroEnabled" not in zf.read("[Content_Types].xml")
        assert b"vbaProject" not in zf.read("xl/_rels/workbook.xml.rels")
    assert openpyxl.load_workbook(stored)["Нысан"].max_row > 50  # still the same workbook, values and all
    [record] = audit(site)
    assert record["sha256"] == body["sha256"] != record["stored_sha256"]


def test_an_xls_with_a_macro_sheet_is_refused_with_a_code(client, site: Site, tmp_path: Path) -> None:
    import struct

    import olefile

    xls = tmp_path / "akzhaiyk macro.xls"
    shutil.copy(REPO / "tests/fixtures/libreoffice/akzhaiyk-2017-08-26.xls", xls)
    with olefile.OleFileIO(str(xls), write_mode=True) as ole:
        raw = bytearray(ole.openstream("Workbook").read())
        pos, sheets = 0, []
        while pos + 4 <= len(raw):
            rec, length = struct.unpack_from("<HH", raw, pos)
            if rec == 0x0085:
                sheets.append(pos)
            if rec == 0x000A:
                break
            pos += 4 + length
        raw[sheets[-1] + 9] = 1  # the last sheet becomes an Excel 4.0 macro sheet
        ole.write_stream("Workbook", bytes(raw))
    body = upload(client, site.links["akzhaiyk"], xls).json()
    assert body["stored"] is False and body["code"] == "upload-macros-refused"
    assert everything_in(site.inbox) == []


# --- slow connections ------------------------------------------------------------------------------------------------------

def test_a_stalled_upload_is_answered_408_and_let_go(tmp_path: Path) -> None:
    """Main had no read timeout: a client that stops sending held its connection for ever."""
    site = make_site(tmp_path, read_timeout=1.0)
    with LiveServer(site.config) as live:
        path = site.links["akzhaiyk"] + "/upload"
        with socket.create_connection(("127.0.0.1", live.port), timeout=60) as sock:
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                          "boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n").encode())
            answer = b""
            while b"</html>" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, page = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert title_of(page.decode("utf-8")) == PORTAL["kk"]["errors"]["408"]["title"]
        assert everything_in(site.inbox) == []


# --- one status for every request -----------------------------------------------------------------------------------------

def test_the_status_is_computed_once_per_inbox_change_and_shared(tmp_path: Path, workbooks, monkeypatch) -> None:
    """Main computed the whole inbox's status for every page load (100 loads: p50 12.6 s)."""
    import pipeline.portal.app as app_module

    calls: list[float] = []
    real = app_module.compute_status

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(time.monotonic())
        time.sleep(0.2)  # slow enough for the concurrent requests below to overlap it
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "compute_status", counted)
    site = make_site(tmp_path)
    app = create_app(site.config)
    portal = app.app.state.portal
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(portal.shared.get())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 20 and all(r is results[0] for r in results)
    with _client(site, app) as client:
        for _ in range(3):
            assert client.get(site.links["department"]).status_code == 200
        assert len(calls) == 1
        upload(client, site.links["akzhaiyk"], workbooks["akzhaiyk"])
        client.get(site.links["department"])
        client.get(site.links["akzhaiyk"])
        assert len(calls) == 2  # the upload changed the inbox: computed again, once


def test_a_correction_with_a_wrong_cell_says_which_earlier_value_the_report_takes(client, site: Site, workbooks,
                                                                                 tmp_path: Path) -> None:
    """A later file of a date with a wrong cell: the report takes that figure from the earlier file of the
    date where it was valid, and the district's page says so (main: the figure was simply lost)."""
    plan = load_plan()
    values = sample_values(plan, "akzhaiyk", dt.date(2017, 8, 17))
    code = key_figure(plan, values)
    later = tmp_path / "Ақжайық 17.08 соңғы.xlsx"
    fill_form(write_form(plan, "akzhaiyk", tmp_path / "blank.xlsx"), later,
              {**values, "form.filled_date": dt.date(2017, 8, 17), code: "бір мың"})
    link = site.links["akzhaiyk"]
    assert upload(client, link, workbooks["akzhaiyk"]).json()["stored"]
    body = upload(client, link, later).json()
    page = client.get(f"{link}?upload={body['id']}").text
    row = re.search(r'<tr class="sev-warning" data-code="value-from-earlier-file">(.*?)</tr>', page, re.S)
    assert row and str(values[code]) in row.group(1) and workbooks["akzhaiyk"].name in row.group(1)
    cells = {(c["unit"], c["date"]): c for c in
             client.get(site.links["department"], headers={"Accept": "application/json"}).json()["cells"]}
    assert cells[("akzhaiyk", "2017-08-17")]["used"].endswith(".xlsx")
