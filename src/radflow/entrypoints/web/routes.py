"""The screens, mounted at `/`: sign-in, static assets and each area's screens.

A later area (scheduling, the exam day, reading) adds its package beside these — `web/<area>/routes.py`
with a `router` built on `ScreenRoute`, templates in `web/<area>/templates/` — adds it to `AREAS`,
and adds its menu entries in `navigation.py`.
"""

from __future__ import annotations

from fastapi import APIRouter

from radflow.entrypoints.web import signin, static_files
from radflow.entrypoints.web.authorization import routes as authorization
from radflow.entrypoints.web.board import routes as board
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.intake import referral
from radflow.entrypoints.web.intake import routes as intake
from radflow.entrypoints.web.orders import routes as orders
from radflow.entrypoints.web.patients import routes as patients
from radflow.entrypoints.web.protocoling import routes as protocoling

#: Each area's router, in menu order.
AREAS = (intake, referral, protocoling, authorization, board, orders, patients)

router = APIRouter(route_class=ScreenRoute, include_in_schema=False)
router.include_router(signin.router)
router.include_router(static_files.router)
for area in AREAS:
    router.include_router(area.router)
