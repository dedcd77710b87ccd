"""The portal's HTTP face: routes, security headers, size, rate and time limits. Library calls do the work.

URLs (every one under a secret link; a wrong or missing secret answers the same 404 as any unknown path):

    GET  /p/{secret}                          the district's page, or the department's grid for its link
    POST /p/{secret}/upload                   an upload (multipart: file, csrf); JSON with Accept: application/json
    GET  /p/{secret}/form                     the unit's blank form
    GET  /p/{secret}/feedback/{id}            the feedback workbook of one of the unit's uploads
    GET  /p/{secret}/unit/{code}              department: one unit's files by date, problems, downloads
    GET  /p/{secret}/unit/{code}/file/{sha}   department: a file of the unit, as the district sent it
    GET  /p/{secret}/unit/{code}/feedback/{sha}  department: that file's feedback workbook
    POST /p/{secret}/build                    department: build the report for a date (csrf)
    GET  /p/{secret}/report/{date}/{n}        department: the n-th file of a published report
    GET  /p/{secret}/mail/remind/{d}/{u}      department: the reminder draft (.eml) for unit u and date d
    GET  /static/{name}                       the CSS and the few lines of JS (fixed list)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.errors import OutboxFault, RunStopped, UsageError
from pipeline.forms import form_file_name, write_form
from pipeline.messages import messages
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan
from pipeline.portal import pages, views
from pipeline.portal.access import DEPARTMENT, ServerKey, portal_dir, resolve
from pipeline.portal.errors import Guard, error_response, lang_of, wants_json
from pipeline.portal.shared import SharedStatus, status_key
from pipeline.portal.uploads import UPLOAD_ID, Uploads, UploadOutcome, problem_json
from pipeline.status import CampaignStatus, compute_status
from pipeline.plan.clock import campaign_tz, local_today

MB = 1_000_000
#: multipart framing around the file: boundaries, part headers, the csrf field
FORM_OVERHEAD = 64 * 1024
REPORT_SUFFIXES = (".docx", ".pdf", ".xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # The secret is in the URL: never send it on as a referrer.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


@dataclass
class PortalConfig:
    inbox: Path
    outbox: Path
    plan_path: Path = DEFAULT_PLAN
    max_upload_bytes: int = 20 * MB
    #: per link: at most this many uploads (and report builds) in `rate_window` seconds …
    upload_rate: int = 30
    #: … and at most this many requests of any kind
    request_rate: int = 600
    rate_window: float = 60.0
    #: uploads checked at once (each check takes a core); the others wait their turn without a thread
    check_slots: int = 2
    refresh_seconds: int = 30
    #: a client that sends nothing of its request body for this many seconds is answered 408
    read_timeout: float = 30.0
    #: the portal's "today" (tests set one); None: today on the campaign's clock (the plan's utc_offset)
    today: Callable[[], dt.date] | None = None
    #: mail.toml of the mail face (issue 18): the department page shows its panel when set (serve sets it)
    mail_settings: Path | None = None


class TooLarge(Exception):
    pass


class RateLimiter:
    """A sliding window per key; in memory (one server process), reset by a restart."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def allow(self, key: tuple[str, str], limit: int, window: float) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SecurityHeaders:
    """Adds the security headers to every response, errors and static files included."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _not_found() -> HTTPException:
    return HTTPException(404)


class Portal:
    def __init__(self, config: PortalConfig) -> None:
        self.config = config
        self.plan: Plan = load_plan(config.plan_path)
        self.key = ServerKey.load(config.outbox)
        self.uploads = Uploads(self.plan, config.plan_path, config.inbox, config.outbox,
                               readers=config.check_slots)
        self.limiter = RateLimiter()
        self.shared = SharedStatus(self._compute_status, self._status_key)
        self._checks: dict[int, asyncio.Semaphore] = {}

    # --- common --------------------------------------------------------------------------------------------
    def today(self) -> dt.date:
        return self.config.today() if self.config.today is not None else local_today(self.plan)

    def role(self, request: Request, kind: str = "request") -> tuple[str, str]:
        secret = str(request.path_params.get("secret", ""))
        role = resolve(self.config.outbox, secret)
        if role is None:
            raise _not_found()
        limit = self.config.upload_rate if kind == "upload" else self.config.request_rate
        if not self.limiter.allow((role, kind), limit, self.config.rate_window):
            raise HTTPException(429, headers={"Retry-After": str(int(self.config.rate_window))})
        return role, secret

    def page(self, name: str, request: Request, secret: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        lang = lang_of(request)
        other = "ru" if lang == "kk" else "kk"
        params = dict(request.query_params)
        # The switch keeps what the page shows (an upload's result, a built report) in the other language.
        switch = request.url.path + pages.query(params, lang=other) + ("#result" if "upload" in params else "")
        html = pages.render(
            name, t=pages.wording(lang, self.plan), tz=campaign_tz(self.plan), lang=lang, other_lang=other,
            base=f"/p/{secret}", switch_href=switch,
            q=pages.query({"lang": lang}), csrf=self.key.csrf_token(secret), names=pages.unit_names(self.plan, lang),
            short=pages.short_names(self.plan, lang), plan=self.plan, path=request.url.path, **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def _compute_status(self) -> CampaignStatus:
        return compute_status(None, inbox=self.config.inbox, outbox=self.config.outbox,
                              plan_path=self.config.plan_path, workers=1, today=self.today())

    def _status_key(self) -> object:
        return status_key(self.config.inbox, self.config.outbox, self.config.plan_path, list(self.plan.dates),
                          self.today())

    async def status(self) -> CampaignStatus:
        return await run_in_threadpool(self.shared.get)

    def check_slots(self) -> asyncio.Semaphore:
        loop = id(asyncio.get_running_loop())
        if loop not in self._checks:
            self._checks[loop] = asyncio.Semaphore(max(1, self.config.check_slots))
        return self._checks[loop]

    # --- routes --------------------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        role, secret = self.role(request)
        if role == DEPARTMENT:
            return await self.department(request, secret)
        return await self.district(request, role, secret)

    def _shown_upload(self, request: Request, unit: str) -> dict[str, object] | None:
        shown = request.query_params.get("upload", "")
        if not UPLOAD_ID.match(shown):
            return None
        return next((r for r in self.uploads.audit.uploads(unit) if r.get("id") == shown), None)

    async def district(self, request: Request, unit: str, secret: str) -> Response:
        status = await self.status()
        records = self.uploads.audit.uploads(unit)
        history = views.history(records, status)
        today = self.today()
        if wants_json(request):
            return JSONResponse({
                "unit": unit, "csrf": self.key.csrf_token(secret),
                "next_date": (d.isoformat() if (d := pages.next_date(self.plan, today)) else None),
                "history": history,
            })
        lang = lang_of(request)
        return self.page("district.html", request, secret, unit=unit, history=history,
                         result=views.result(self._shown_upload(request, unit), lang, self.plan, status, records),
                         next_date=pages.next_date(self.plan, today), last_date=self.plan.final_date,
                         limit_mb=self.config.max_upload_bytes // MB)

    async def department(self, request: Request, secret: str) -> Response:
        status = await self.status()
        reports = self._reports()
        stale = views.report_staleness(status, self.config.outbox, reports)
        if wants_json(request):
            return JSONResponse({
                "csrf": self.key.csrf_token(secret),
                "cells": [
                    {"unit": c.unit, "date": c.date.isoformat(), "state": c.state, "days_late": c.days_late,
                     "has_errors": c.has_errors, "latest": c.latest.name if c.latest else None,
                     "used": c.used.name if c.used else None}
                    for c in status.cells.values()
                ],
                "reports": {d: [f.name for f in files] for d, files in reports.items()},
                "stale": stale,
            })
        mail = await run_in_threadpool(self._mail_panel, status, lang_of(request))
        built = request.query_params.get("built", "")
        lang = lang_of(request)
        # Hidden files (an upload's temporary file being written, a program's own) are ignored by every run:
        # not "files of no unit" for the department to worry about.
        unassigned = [f for f in status.unassigned if not Path(f.name).name.startswith(".")]
        return self.page("department.html", request, secret, status=status, reports=reports, stale=stale,
                         unassigned=unassigned,
                         result=views.result(self._shown_upload(request, DEPARTMENT), lang, self.plan),
                         unit=DEPARTMENT, limit_mb=self.config.max_upload_bytes // MB,
                         refresh=self.config.refresh_seconds, built=built if built in reports else None,
                         build_default=pages.next_date(self.plan, self.today()) or self.plan.final_date,
                         mail=mail,
                         # Which folders it watches and writes, so no one wonders whose inbox the grid shows.
                         folders={"inbox": self.config.inbox.resolve(), "outbox": self.config.outbox.resolve()})

    # --- the mail panel (issue 18; wording and logic in pipeline/mail/panel.py) ------------------------------
    def _mail_panel(self, status: Any, lang: str) -> dict[str, Any] | None:
        if self.config.mail_settings is None:
            return None
        from pipeline.mail.panel import mail_panel

        c = self.config
        return mail_panel(c.mail_settings, inbox=c.inbox, outbox=c.outbox, plan_path=c.plan_path, status=status,
                          today=self.today(), lang=lang)

    async def mail_draft(self, request: Request) -> Response:
        role, _ = self.role(request)
        if role != DEPARTMENT or self.config.mail_settings is None:
            raise _not_found()
        from pipeline.mail.panel import draft_bytes

        c, date, unit = self.config, str(request.path_params["date"]), str(request.path_params["unit"])
        status = await self.status()
        data = await run_in_threadpool(lambda: draft_bytes(c.mail_settings, inbox=c.inbox, outbox=c.outbox,
                                                           plan_path=c.plan_path, status=status, date_text=date,
                                                           unit=unit, today=self.today()))
        if data is None:
            raise _not_found()
        return Response(data, media_type="message/rfc822",
                        headers={"content-disposition": f'attachment; filename="remind-{unit}-{date}.eml"'})

    def _department_unit(self, request: Request) -> tuple[str, str]:
        role, secret = self.role(request)
        code = str(request.path_params["code"])
        if role != DEPARTMENT or code not in pages.unit_names(self.plan, "kk"):
            raise _not_found()
        return code, secret

    async def unit_page(self, request: Request) -> Response:
        code, secret = self._department_unit(request)
        status = await self.status()
        groups = views.unit_files(status, code, self.uploads.audit.uploads(code), lang_of(request), self.plan)
        return self.page("unit.html", request, secret, unit=code, groups=groups, status=status)

    async def _unit_file(self, request: Request) -> tuple[Any, dict[str, object] | None]:
        code, _ = self._department_unit(request)
        sha = str(request.path_params["sha"])
        status = await self.status()
        found = next((f for f in status.files_of(code) if f.sha256 and f.sha256 == sha), None)
        if found is None:
            raise _not_found()
        record = next((r for r in self.uploads.audit.uploads(code) if r.get("stored_name") == found.name), None)
        return found, record

    async def unit_file(self, request: Request) -> Response:
        found, record = await self._unit_file(request)
        path = Path(found.source)
        inbox = self.config.inbox.resolve()
        if not path.is_file() or inbox not in path.resolve().parents:
            raise _not_found()
        name = str(record.get("original_name") or "") if record else ""
        return FileResponse(path, filename=name or Path(found.name).name, media_type="application/octet-stream")

    async def unit_feedback(self, request: Request) -> Response:
        found, record = await self._unit_file(request)
        where = views.feedback_of(found, record)
        if where is None:
            raise _not_found()
        kind, relative = where
        root = portal_dir(self.config.outbox) / "feedback" if kind == "portal" else self.config.outbox
        path = (root / relative).resolve()
        if not path.is_file() or root.resolve() not in path.parents:
            raise _not_found()
        stem = Path(str(record.get("original_name") or "") if record else Path(found.name).name).stem
        return FileResponse(path, filename=f"{stem or 'file'}-feedback.xlsx", media_type=XLSX)

    async def upload(self, request: Request) -> Response:
        role, secret = self.role(request, "upload")
        limit = self.config.max_upload_bytes
        t = pages.wording(lang_of(request), self.plan)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
            return self._refuse(request, secret, 413, t["too_large"].format(limit=limit // MB))
        received = 0

        async def counted() -> MutableMapping[str, Any]:
            nonlocal received
            message = await request.receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit + FORM_OVERHEAD:
                    raise TooLarge()  # stop reading: the rest of the body is never taken in
            return message

        try:
            form = await Request(request.scope, counted).form(max_files=1, max_fields=4)
        except TooLarge:
            return self._refuse(request, secret, 413, t["too_large"].format(limit=limit // MB))
        except (MultiPartException, ClientDisconnect, ValueError):
            return self._refuse(request, secret, 400, t["bad_form"])
        token = form.get("csrf") or request.headers.get("x-csrf-token")
        if not self.key.csrf_ok(secret, token if isinstance(token, str) else None):
            return self._refuse(request, secret, 403, t["bad_form"])
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return self._refuse(request, secret, 400, t["no_file"])
        data = await upload.read(limit + 1)
        await form.close()
        if len(data) > limit:
            return self._refuse(request, secret, 413, t["too_large"].format(limit=limit // MB))
        async with self.check_slots():  # waiting for a turn holds no thread
            outcome = await run_in_threadpool(self.uploads.handle, role, upload.filename, data)
        return self._answer(request, secret, outcome)

    def _answer(self, request: Request, secret: str, outcome: UploadOutcome) -> Response:
        lang = lang_of(request)
        not_recorded = outcome.refused == "upload-not-recorded"
        if wants_json(request):
            return JSONResponse({
                "verdict": outcome.verdict, "stored": outcome.stored, "id": outcome.upload_id,
                "stored_name": outcome.stored_name, "sha256": outcome.sha256, "code": outcome.refused,
                "duplicate_of": ({k: v for k, v in outcome.duplicate_of.items() if k != "stored_name"}
                                 if outcome.duplicate_of else None),
                "feedback": f"/p/{secret}/feedback/{outcome.upload_id}" if outcome.feedback and not not_recorded else None,
                "problems": [problem_json(p) for p in outcome.problems],
            }, status_code=503 if not_recorded else 200 if outcome.stored or outcome.duplicate_of else 422)
        if not_recorded:  # no record to show it from: answered here, nothing was kept
            shown = views.result(outcome.record(), lang, self.plan)
            return error_response(request, 503, message=shown["refusal"]["message"] if shown and shown["refusal"]
                                  else None, base=f"/p/{secret}", code=outcome.refused)
        return RedirectResponse(f"/p/{secret}?lang={lang}&upload={outcome.upload_id}#result", status_code=303)

    def _refuse(self, request: Request, secret: str, code: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"verdict": "refused", "stored": False, "problems": [], "error": message},
                                status_code=code, headers={"Connection": "close"} if code == 413 else None)
        return error_response(request, code, message=message, base=f"/p/{secret}",
                              headers={"Connection": "close"} if code == 413 else None)

    async def blank_form(self, request: Request) -> Response:
        role, _ = self.role(request)
        path = portal_dir(self.config.outbox) / "forms" / f"{role}.xlsx"
        if not path.is_file():
            await run_in_threadpool(write_form, self.plan, role, path)
        return FileResponse(path, filename=form_file_name(self.plan, role), media_type=XLSX)

    async def feedback(self, request: Request) -> Response:
        role, _ = self.role(request)
        upload_id = str(request.path_params["upload_id"])
        if not UPLOAD_ID.match(upload_id):
            raise _not_found()
        record = next((r for r in self.uploads.audit.uploads(role) if r.get("id") == upload_id), None)
        if record is None or not record.get("feedback"):
            raise _not_found()
        path = self.uploads.feedback_path(upload_id, Path(str(record["feedback"])).name)
        if not path.is_file():
            raise _not_found()
        original = Path(str(record.get("original_name") or "file")).stem or "file"
        return FileResponse(path, filename=f"{original}-feedback.xlsx", media_type=XLSX)

    def _reports(self) -> dict[str, list[Path]]:
        """Published report folders → their downloadable files, in a fixed order (the URL carries an index)."""
        found: dict[str, list[Path]] = {}
        for date in self.plan.dates:
            folder = self.config.outbox / date.isoformat()
            if folder.is_dir():
                files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in REPORT_SUFFIXES)
                if files:
                    found[date.isoformat()] = files
        return found

    async def report_file(self, request: Request) -> Response:
        role, _ = self.role(request)
        if role != DEPARTMENT:
            raise _not_found()
        files = self._reports().get(str(request.path_params["date"]), [])
        index = str(request.path_params["index"])
        if not index.isdigit() or int(index) >= len(files):
            raise _not_found()
        path = files[int(index)]
        return FileResponse(path, filename=path.name)

    async def build(self, request: Request) -> Response:
        role, secret = self.role(request, "upload")
        if role != DEPARTMENT:
            raise _not_found()
        form = await request.form(max_files=0, max_fields=4)
        token = form.get("csrf")
        lang = lang_of(request)
        if not self.key.csrf_ok(secret, token if isinstance(token, str) else None):
            return self._refuse(request, secret, 403, pages.wording(lang, self.plan)["bad_form"])
        wanted = str(form.get("date", ""))
        date = next((d for d in self.plan.dates if d.isoformat() == wanted), None)
        if date is None:
            raise HTTPException(400)
        from pipeline.report import run_report

        try:
            result = await run_in_threadpool(
                lambda: run_report(date.isoformat(), inbox=self.config.inbox, outbox=self.config.outbox,
                                   plan_path=self.config.plan_path, workers=1, pdf=form.get("pdf") == "1"))
        except RunStopped as stopped:  # a refusal (nothing to report, fewer forms) or an outbox fault
            return self._not_built(request, secret, 503 if isinstance(stopped, OutboxFault) else 409, stopped.code,
                                   str(messages(lang)["run"][stopped.code]).format(**stopped.params))
        except UsageError as exc:
            return self._not_built(request, secret, 400, None, str(exc))
        if wants_json(request):
            return JSONResponse({"built": True, "date": date.isoformat(),
                                 "files": sorted(result.outputs), "exit_code": result.exit_code})
        return RedirectResponse(f"/p/{secret}?lang={lang}&built={date.isoformat()}#reports", status_code=303)

    def _not_built(self, request: Request, secret: str, status: int, code: str | None, message: str) -> Response:
        text = pages.wording(lang_of(request), self.plan)["build_failed"].format(error=message)
        if wants_json(request):
            return JSONResponse({"built": False, "code": code, "error": text}, status_code=status)
        return error_response(request, status, message=text, base=f"/p/{secret}", code=code)

    async def static(self, request: Request) -> Response:
        entry = pages.STATIC_FILES.get(str(request.path_params["name"]))
        if entry is None:
            raise _not_found()
        response = FileResponse(pages.STATIC / entry[0], media_type=entry[1])
        response.headers["cache-control"] = "max-age=3600"
        return response


async def _http_error(request: Request, exc: Exception) -> Response:
    """Every HTTP error the routes or the router raise (an unknown path is a 404 here too), as the portal's
    own page in its language."""
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, headers=dict(exc.headers) if exc.headers else None)


def create_app(config: PortalConfig) -> Any:
    portal = Portal(config)
    routes = [
        Route("/p/{secret}", portal.home, methods=["GET"]),
        Route("/p/{secret}/upload", portal.upload, methods=["POST"]),
        Route("/p/{secret}/form", portal.blank_form, methods=["GET"]),
        Route("/p/{secret}/feedback/{upload_id}", portal.feedback, methods=["GET"]),
        Route("/p/{secret}/unit/{code}", portal.unit_page, methods=["GET"]),
        Route("/p/{secret}/unit/{code}/file/{sha}", portal.unit_file, methods=["GET"]),
        Route("/p/{secret}/unit/{code}/feedback/{sha}", portal.unit_feedback, methods=["GET"]),
        Route("/p/{secret}/build", portal.build, methods=["POST"]),
        Route("/p/{secret}/report/{date}/{index}", portal.report_file, methods=["GET"]),
        Route("/p/{secret}/mail/remind/{date}/{unit}", portal.mail_draft, methods=["GET"]),
        Route("/static/{name}", portal.static, methods=["GET"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            portal.uploads.close()  # the warm reader processes end with the server

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan,
                    middleware=[Middleware(Guard, outbox=config.outbox, read_timeout=config.read_timeout)])
    app.state.portal = portal
    return SecurityHeaders(app)
