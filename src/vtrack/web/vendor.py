"""Front-end packages come from the npm registry into node_modules at setup (`make setup`), never copied
into the repo; the server hands out the few files the pages load, by name."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import FileResponse

log = logging.getLogger(__name__)

# name in /static/vendor/ -> path inside node_modules
VENDOR_FILES: dict[str, str] = {"htmx.min.js": "htmx.org/dist/htmx.min.js"}


def default_node_modules() -> Path:
    # src/vtrack/web/vendor.py -> the checkout's root, where `npm ci` puts node_modules
    return Path(__file__).resolve().parents[3] / "node_modules"


def vendor_router(node_modules: Path) -> APIRouter:
    missing = [name for name, rel in VENDOR_FILES.items() if not (node_modules / rel).is_file()]
    if missing:
        log.warning(
            "dashboard scripts missing from %s (run `make setup`): %s", node_modules, ", ".join(missing)
        )
    router = APIRouter(include_in_schema=False)

    @router.get("/static/vendor/{name}")
    async def vendor_file(name: str) -> FileResponse:
        relative = VENDOR_FILES.get(name)
        if relative is None or not (node_modules / relative).is_file():
            raise HTTPException(404, f"{name} is not installed; run `make setup`")
        return FileResponse(
            node_modules / relative,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return router
