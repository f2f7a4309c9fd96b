"""The HTTP app factory: REST API under /api, FHIR under /fhir, the screens at /."""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI

import radflow
from radflow.bootstrap import Radflow
from radflow.entrypoints.api import health, routes_admin, routes_orders, routes_patients
from radflow.entrypoints.api.errors import install_error_handlers

#: Routers of other areas, included when present: (module, attribute, prefix).
AREA_ROUTERS: tuple[tuple[str, str, str], ...] = (
    ("radflow.entrypoints.api.routes_knowledge", "router", "/api"),
    ("radflow.entrypoints.api.routes_scheduling", "router", "/api"),
    ("radflow.entrypoints.api.routes_exam_day", "router", "/api"),
    ("radflow.entrypoints.api.routes_hl7", "router", "/api"),
    ("radflow.entrypoints.api.routes_reporting", "router", "/api"),
    ("radflow.entrypoints.api.routes_reminders", "router", "/api"),
    ("radflow.entrypoints.api.routes_results", "router", "/api"),
    ("radflow.entrypoints.api.fhir.routes", "router", "/fhir"),
    ("radflow.entrypoints.api.fhir_scheduling", "router", "/fhir"),
    ("radflow.entrypoints.api.fhir_exam_day", "router", "/fhir"),
    ("radflow.entrypoints.api.fhir_results", "router", "/fhir"),
    # The screens: web/routes.py includes every web/<area>/routes.py it finds (web/areas.py).
    ("radflow.entrypoints.web.routes", "router", ""),
)


def create_app(wired: Radflow, *, areas: bool = True) -> FastAPI:
    """Build the FastAPI app around a wired radflow (`areas=False`: only the foundation's own routes)."""
    app = FastAPI(title="radflow", version=radflow.__version__,
                  description="The imaging patient pipeline: REST API (this page), FHIR R4 at /fhir, screens at /.")
    app.state.radflow = wired
    install_error_handlers(app)
    app.include_router(health.router)
    api = APIRouter(prefix="/api")
    for module in (routes_patients, routes_orders, routes_admin):
        api.include_router(module.router)
    app.include_router(api)
    for module_name, attribute, prefix in AREA_ROUTERS if areas else ():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if not missing.name or not module_name.startswith(missing.name):
                raise
            continue
        app.include_router(getattr(module, attribute), prefix=prefix)
    for mount in wired.extras.get("mounts", ()):
        mount(app)
    return app
