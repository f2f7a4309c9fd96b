"""The screens, mounted at `/`: sign-in, static assets and every area's screens.

Areas are found, not listed (`areas.py`): a later area (scheduling, the exam day, reading) adds its
package beside these — `web/<area>/routes.py` with a `router` built on `ScreenRoute`, templates in
`web/<area>/templates/`, and its menu entries as `MENU` in that routes module.
"""

from __future__ import annotations

from fastapi import APIRouter

from radflow.entrypoints.web import signin, static_files
from radflow.entrypoints.web.areas import area_routes
from radflow.entrypoints.web.error_pages import ScreenRoute

router = APIRouter(route_class=ScreenRoute)
router.include_router(signin.router, include_in_schema=False)
router.include_router(static_files.router, include_in_schema=False)
for area in area_routes():
    router.include_router(area.router, include_in_schema=False)
