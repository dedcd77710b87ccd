"""When a request cannot be answered as asked: the portal's own error pages, its log, and a read timeout.

* Every error page (400, 403, 404, 405, 408, 413, 429, 500, 503) is a page of the portal — its language
  (`?lang=ru`, else Kazakh), its layout, readable on a phone — or JSON for a client that asks for JSON.
  A 404 is the same page whatever was wrong (an unknown path, a wrong or missing secret).
* An unexpected exception answers the 500 page with an incident number and writes the traceback, with
  personal data masked and secrets cut out of the URL, to `<outbox>/.logs/portal.log`; the user never sees
  it, and the server keeps serving.
* A client that stops sending its request body for `read_timeout` seconds is answered 408 and let go,
  instead of holding a connection and a worker for ever (a slow or stalled mobile connection).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from pipeline.portal import pages
from pipeline.privacy import mask

LOG_DIR = ".logs"
LOG_FILE = "portal.log"
#: any secret link in a URL, cut out before anything is logged
_SECRET_IN_PATH = re.compile(r"/p/[^/?#\s]+")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SlowClient(Exception):
    """The client sent nothing of its request body for the read timeout."""


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang", "kk")
    return lang if lang in pages.LANGS else "kk"


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, *, message: str | None = None, incident: str | None = None,
                   base: str = "", headers: dict[str, str] | None = None, code: str | None = None) -> Response:
    """The portal's page for an HTTP error `status` (or JSON). `message`: what to say instead of the
    status's own words; `base`: the link's own page, for a way back (never given on a 404)."""
    lang = lang_of(request)
    t = pages.wording(lang)
    words = t["errors"].get(str(status)) or t["errors"]["other"]
    text = message or words["message"]
    if wants_json(request):
        body: dict[str, object] = {"error": text, "status": status}
        if code:
            body["code"] = code
        if incident:
            body["incident"] = incident
        return JSONResponse(body, status_code=status, headers=headers)
    html = pages.render(
        "error.html", t=t, lang=lang, other_lang="ru" if lang == "kk" else "kk", base=base,
        q=pages.query({"lang": lang}), switch_href=pages.query({}, lang="ru" if lang == "kk" else "kk"),
        title=words["title"], message=text, status=status, incident=incident, code=code,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def log_path(outbox: Path) -> Path:
    return Path(outbox) / LOG_DIR / LOG_FILE


def log_unexpected(outbox: Path, request_line: str, exc: BaseException) -> str:
    """Write the traceback of an unexpected exception to the portal's log; returns the incident number
    the user is shown. Personal data is masked and secret links cut out of everything written."""
    incident = uuid.uuid4().hex[:8]
    text = "".join(traceback.format_exception(exc))
    # The server's own clock: a log is read beside the system's other logs.
    entry = (f"--- {dt.datetime.now().astimezone().isoformat(timespec='seconds')} incident {incident}: "
             f"{_SECRET_IN_PATH.sub('/p/…', request_line)}\n{_SECRET_IN_PATH.sub('/p/…', text)}")
    entry = "\n".join(mask(line)[0] for line in entry.splitlines()) + "\n"
    path = log_path(outbox)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, entry.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError:
        pass  # an unwritable log must not turn one failed request into another failure
    return incident


class Guard:
    """A middleware just inside Starlette's own error handler (which would answer a bare English 500): the
    read timeout on request bodies, and the 500 page (with the log entry) for any exception a request
    raises, or 408 for a stalled body."""

    def __init__(self, app: ASGIApp, outbox: Path, read_timeout: float) -> None:
        self.app = app
        self.outbox = outbox
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()  # waiting for a disconnect while a response streams: not the client's delay
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except asyncio.TimeoutError:
                raise SlowClient() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except SlowClient:
            if not started:
                response = error_response(Request(scope), 408, headers={"Connection": "close"})
                await response(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - the one place every unexpected error of a request ends
            request = Request(scope)
            incident = log_unexpected(self.outbox, f"{scope.get('method', '')} {scope.get('path', '')}", exc)
            if not started:
                await error_response(request, 500, incident=incident)(scope, receive, send)
