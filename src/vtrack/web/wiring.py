"""Mounts the dashboard on the app: templates, static files, vendor scripts, page routes."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from vtrack.settings import Settings
from vtrack.web.routes import PAGE_ROUTERS
from vtrack.web.session import install_page_errors
from vtrack.web.templating import Templates
from vtrack.web.vendor import default_node_modules, vendor_router


def install_web(app: FastAPI, settings: Settings) -> None:
    app.state.templates = Templates(settings)
    install_page_errors(app)
    app.include_router(vendor_router(settings.web_node_modules or default_node_modules()))
    static = Path(str(resources.files("vtrack.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
