"""The district portal: a face beside cli.py (HTTP, pages, access control) over the same library calls.

    create_app(PortalConfig(inbox, outbox))   the ASGI application
    serve(config, host, port)                 run it under uvicorn
    make_links(outbox, plan, base_url, rotate)  issue secret links (only their hashes are kept)
"""

from __future__ import annotations

from pathlib import Path

from pipeline.plan import Plan
from pipeline.portal.access import DEPARTMENT, issue_links, load_hashes, roles
from pipeline.portal.app import PortalConfig, create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8017


def make_links(outbox: Path, plan: Plan, base_url: str, rotate: str | None = None) -> list[tuple[str, str]]:
    """(role, url) for every unit and finally the department, or for the rotated role only."""
    secrets = issue_links(outbox, plan, rotate)
    base = base_url.rstrip("/")
    return [(role, f"{base}/p/{secrets[role]}") for role in roles(plan) if role in secrets]


def serve(config: PortalConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    import uvicorn

    from pipeline.portal.uploads import few_malloc_arenas

    few_malloc_arenas()  # before uvicorn starts any thread
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", server_header=False,
                timeout_keep_alive=5)


__all__ = ["DEPARTMENT", "PortalConfig", "create_app", "load_hashes", "make_links", "serve"]
