"""The screens' static assets (stylesheet, vendored htmx), served from the package; nothing from a CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from radflow.domain.errors import NotFound
from radflow.entrypoints.api.deps import public
from radflow.entrypoints.web.error_pages import ScreenRoute

STATIC_DIR: Final = Path(__file__).parent / "static"
_MEDIA_TYPES: Final = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                       ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}

router = APIRouter(route_class=ScreenRoute)


def asset_path(name: str) -> Path:
    """The file for an asset name: only plain files directly in the static folder (no path tricks)."""
    candidate = STATIC_DIR / name
    if "/" in name or "\\" in name or name.startswith(".") or candidate.suffix not in _MEDIA_TYPES \
            or not candidate.is_file():
        raise NotFound(f"no static asset '{name}'")
    return candidate


@router.get("/static/{name}", dependencies=[public("stylesheet and scripts of the sign-in page and screens")])
def static_asset(name: str) -> Response:
    """A stylesheet or script of the screens."""
    path = asset_path(name)
    return Response(path.read_bytes(), media_type=_MEDIA_TYPES[path.suffix],
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
