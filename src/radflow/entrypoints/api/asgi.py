"""An ASGI app factory for process managers (`uvicorn --factory radflow.entrypoints.api.asgi:app_factory`)."""

from __future__ import annotations

from fastapi import FastAPI

from radflow.bootstrap import bootstrap
from radflow.config import Settings
from radflow.entrypoints.api.app import create_app


def app_factory() -> FastAPI:
    """Wire radflow from the environment and build the HTTP app (one per worker process)."""
    return create_app(bootstrap(Settings()))
