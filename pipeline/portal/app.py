"""The portal's HTTP face: routes, security headers, size and rate limits. Library calls do the work.

URLs (every one under a secret link; a wrong or missing secret answers the same 404 as any unknown path):

    GET  /p/{secret}                     the district's page, or the department's grid for its link
    POST /p/{secret}/upload              an upload (multipart: file, csrf); JSON with Accept: application/json
    GET  /p/{secret}/form                the unit's blank form
    GET  /p/{secret}/feedback/{id}       the feedback workbook of one of the unit's uploads
    GET  /p/{secret}/unit/{code}         department: one unit's files and problems
    POST /p/{secret}/build               department: build the report for a date (csrf)
    GET  /p/{secret}/report/{date}/{n}   department: the n-th file of a published report
    GET  /static/{name}                  the CSS and the few lines of JS (fixed list)
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.errors import UsageError
from pipeline.forms import form_file_name, write_form
from pipeline.plan import DEFAULT_PLAN, Plan, load_plan
from pipeline.plan.clock import campaign_tz, local_today
from pipeline.portal import pages
from pipeline.portal.access import DEPARTMENT, ServerKey, portal_dir, resolve
from pipeline.portal.uploads import UPLOAD_ID, Uploads, problem_json
from pipeline.status import compute_status

MB = 1_000_000
#: multipart framing around the file: boundaries, part headers, the csrf field
FORM_OVERHEAD = 64 * 1024
REPORT_SUFFIXES = (".docx", ".pdf", ".xlsx")
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
    check_slots: int = 2
    refresh_seconds: int = 30
    #: the portal's "today" (tests set one); None: today on the campaign's clock (the plan's utc_offset)
    today: Callable[[], dt.date] | None = None


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
                               check_slots=config.check_slots)
        self.limiter = RateLimiter()

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

    @staticmethod
    def lang(request: Request) -> str:
        lang = request.query_params.get("lang", "kk")
        return lang if lang in pages.LANGS else "kk"

    @staticmethod
    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    def page(self, name: str, request: Request, secret: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        base = f"/p/{secret}"
        html = pages.render(
            name, t=pages.wording(lang, self.plan), tz=campaign_tz(self.plan), lang=lang, other_lang="ru" if lang == "kk" else "kk", base=base,
            q=f"?lang={lang}", csrf=self.key.csrf_token(secret), names=pages.unit_names(self.plan, lang),
            short=pages.short_names(self.plan, lang),
            plan=self.plan, path=request.url.path, **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def status(self) -> Any:
        return compute_status(None, inbox=self.config.inbox, outbox=self.config.outbox,
                              plan_path=self.config.plan_path, workers=1, today=self.today())

    # --- routes --------------------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        role, secret = self.role(request)
        if role == DEPARTMENT:
            return await self.department(request, secret)
        return await self.district(request, role, secret)

    async def district(self, request: Request, unit: str, secret: str) -> Response:
        status = await run_in_threadpool(self.status)
        by_name = {f.name: f for f in status.files}
        history = []
        for record in reversed(self.uploads.audit.uploads(unit)):
            stored = str(record.get("stored_name") or record.get("duplicate_of") or "")
            file_status = by_name.get(stored)
            history.append({**record, "in_report": file_status.status if file_status else
                            ("refused" if not record.get("stored") else "pending")})
        today = self.today()
        shown = request.query_params.get("upload", "")
        result = next((r for r in history if r.get("id") == shown), None) if UPLOAD_ID.match(shown) else None
        if self.wants_json(request):
            return JSONResponse({
                "unit": unit, "csrf": self.key.csrf_token(secret),
                "next_date": (d.isoformat() if (d := pages.next_date(self.plan, today)) else None),
                "history": history,
            })
        return self.page("district.html", request, secret, unit=unit, history=history, result=result,
                         next_date=pages.next_date(self.plan, today), last_date=self.plan.final_date,
                         limit_mb=self.config.max_upload_bytes // MB)

    async def department(self, request: Request, secret: str) -> Response:
        status = await run_in_threadpool(self.status)
        reports = self._reports()
        if self.wants_json(request):
            return JSONResponse({
                "csrf": self.key.csrf_token(secret),
                "cells": [
                    {"unit": c.unit, "date": c.date.isoformat(), "state": c.state, "days_late": c.days_late,
                     "has_errors": c.has_errors, "latest": c.latest.name if c.latest else None,
                     "used": c.used.name if c.used else None}
                    for c in status.cells.values()
                ],
                "reports": {d: [f.name for f in files] for d, files in reports.items()},
            })
        built = request.query_params.get("built", "")
        shown = request.query_params.get("upload", "")
        result = next((r for r in self.uploads.audit.uploads(DEPARTMENT) if r.get("id") == shown), None) \
            if UPLOAD_ID.match(shown) else None
        return self.page("department.html", request, secret, status=status, reports=reports, result=result,
                         unit=DEPARTMENT, limit_mb=self.config.max_upload_bytes // MB,
                         refresh=self.config.refresh_seconds, built=built if built in reports else None,
                         build_default=pages.next_date(self.plan, self.today()) or self.plan.final_date,
                         error=request.query_params.get("error") == "1")

    async def unit_page(self, request: Request) -> Response:
        role, secret = self.role(request)
        code = str(request.path_params["code"])
        if role != DEPARTMENT or code not in pages.unit_names(self.plan, "kk"):
            raise _not_found()
        status = await run_in_threadpool(self.status)
        files = sorted(status.files_of(code), key=lambda f: (f.report_date or dt.date.min, f.mtime), reverse=True)
        originals = {str(r["stored_name"]): str(r.get("original_name") or "") for r in self.uploads.audit.uploads(code)
                     if r.get("stored_name")}
        return self.page("unit.html", request, secret, unit=code, files=files, status=status, originals=originals)

    async def upload(self, request: Request) -> Response:
        role, secret = self.role(request, "upload")
        limit = self.config.max_upload_bytes
        lang = self.lang(request)
        t = pages.wording(lang, self.plan)
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
        outcome = await run_in_threadpool(self.uploads.handle, role, upload.filename, data)
        if self.wants_json(request):
            return JSONResponse({
                "verdict": outcome.verdict, "stored": outcome.stored, "id": outcome.upload_id,
                "stored_name": outcome.stored_name or outcome.duplicate_of, "sha256": outcome.sha256,
                "feedback": f"/p/{secret}/feedback/{outcome.upload_id}" if outcome.feedback else None,
                "problems": [problem_json(p) for p in outcome.problems],
            }, status_code=200 if outcome.stored else 422)
        return RedirectResponse(f"/p/{secret}?lang={lang}&upload={outcome.upload_id}#result", status_code=303)

    def _refuse(self, request: Request, secret: str, code: int, message: str) -> Response:
        if self.wants_json(request):
            return JSONResponse({"verdict": "refused", "stored": False, "problems": [], "error": message},
                                status_code=code, headers={"Connection": "close"} if code == 413 else None)
        return self.page("message.html", request, secret, status_code=code, message=message, switch_home=True)

    async def blank_form(self, request: Request) -> Response:
        role, _ = self.role(request)
        path = portal_dir(self.config.outbox) / "forms" / f"{role}.xlsx"
        if not path.is_file():
            await run_in_threadpool(write_form, self.plan, role, path)
        return FileResponse(path, filename=form_file_name(self.plan, role),
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

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
        return FileResponse(path, filename=f"{original}-feedback.xlsx",
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

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
        lang = self.lang(request)
        if not self.key.csrf_ok(secret, token if isinstance(token, str) else None):
            return self.page("message.html", request, secret, status_code=403, message=pages.wording(lang, self.plan)["bad_form"],
                             switch_home=True)
        wanted = str(form.get("date", ""))
        date = next((d for d in self.plan.dates if d.isoformat() == wanted), None)
        if date is None:
            raise HTTPException(400)
        from pipeline.report import run_report

        try:
            result = await run_in_threadpool(
                lambda: run_report(date.isoformat(), inbox=self.config.inbox, outbox=self.config.outbox,
                                   plan_path=self.config.plan_path, workers=1, pdf=form.get("pdf") == "1"))
        except (UsageError, OSError, RuntimeError) as exc:
            if self.wants_json(request):
                return JSONResponse({"built": False, "error": str(exc)}, status_code=500)
            return self.page("message.html", request, secret, status_code=500, switch_home=True,
                             message=pages.wording(lang, self.plan)["build_failed"].format(error=exc))
        if self.wants_json(request):
            return JSONResponse({"built": True, "date": date.isoformat(),
                                 "files": sorted(result.outputs), "exit_code": result.exit_code})
        return RedirectResponse(f"/p/{secret}?lang={lang}&built={date.isoformat()}#reports", status_code=303)

    async def static(self, request: Request) -> Response:
        entry = pages.STATIC_FILES.get(str(request.path_params["name"]))
        if entry is None:
            raise _not_found()
        response = FileResponse(pages.STATIC / entry[0], media_type=entry[1])
        response.headers["cache-control"] = "max-age=3600"
        return response


def create_app(config: PortalConfig) -> Any:
    portal = Portal(config)
    routes = [
        Route("/p/{secret}", portal.home, methods=["GET"]),
        Route("/p/{secret}/upload", portal.upload, methods=["POST"]),
        Route("/p/{secret}/form", portal.blank_form, methods=["GET"]),
        Route("/p/{secret}/feedback/{upload_id}", portal.feedback, methods=["GET"]),
        Route("/p/{secret}/unit/{code}", portal.unit_page, methods=["GET"]),
        Route("/p/{secret}/build", portal.build, methods=["POST"]),
        Route("/p/{secret}/report/{date}/{index}", portal.report_file, methods=["GET"]),
        Route("/static/{name}", portal.static, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.portal = portal
    return SecurityHeaders(app)
