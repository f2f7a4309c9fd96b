"""Rendering screens: one Jinja2 environment (autoescape on), the page frame, and response headers.

Templates live beside their screens: `web/templates/` holds the layout and shared macros, and each
area's `web/<area>/templates/` is reached as `<area>/<name>.html` (a later area adds a folder and
its templates are found). Every value is escaped unless a template says otherwise, and none does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from radflow.bootstrap import Radflow
from radflow.domain.policy import Action, role_may
from radflow.domain.users import Principal
from radflow.entrypoints.web.areas import area_menu
from radflow.entrypoints.web.display import (
    format_age,
    format_due,
    format_local,
    format_local_date,
    format_size,
    is_overdue,
    state_label,
)
from radflow.entrypoints.web.navigation import NavItem, menu_for

WEB_DIR: Final = Path(__file__).parent
SHARED_TEMPLATES: Final = WEB_DIR / "templates"

#: Headers on every screen: patient data is not cached, not framed, and scripts come only from us
#: (htmx is vendored under /static; nothing is fetched from elsewhere at run time).
SCREEN_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
}


@dataclass(frozen=True)
class Page:
    """What the layout needs on every screen: who is signed in, their menu, the time and the zone."""

    principal: Principal | None
    csrf_token: str
    now: datetime
    zone: ZoneInfo
    center_name: str
    menu: tuple[NavItem, ...]
    path: str
    session_idle_minutes: int

    def may(self, action: Action) -> bool:
        """True when the signed-in role may take `action` (to offer only forms that will be accepted)."""
        return self.principal is not None and role_may(self.principal.role, action)


def _loader() -> BaseLoader:
    areas = {folder.parent.name: FileSystemLoader(folder) for folder in sorted(WEB_DIR.glob("*/templates"))
             if folder.is_dir()}
    return ChoiceLoader([FileSystemLoader(SHARED_TEMPLATES), PrefixLoader(areas)])


@pass_context
def _local(context: Context, moment: datetime | None) -> str:
    page: Page = context["page"]
    return format_local(moment, page.zone)


@pass_context
def _local_date(context: Context, moment: datetime | None) -> str:
    page: Page = context["page"]
    return format_local_date(moment, page.zone)


@pass_context
def _age(context: Context, since: datetime) -> str:
    page: Page = context["page"]
    return format_age(page.now - since)


@pass_context
def _due(context: Context, target: datetime) -> str:
    page: Page = context["page"]
    return format_due(target, page.now)


@pass_context
def _overdue(context: Context, target: datetime) -> bool:
    page: Page = context["page"]
    return is_overdue(target, page.now)


def make_environment() -> Environment:
    """The screens' Jinja2 environment: autoescape everywhere, undefined names are errors."""
    environment = Environment(loader=_loader(), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(local=_local, local_date=_local_date, age=_age, due=_due, overdue=_overdue,
                               state_label=state_label, size=format_size)
    return environment


TEMPLATES: Final = make_environment()


def wired(request: Request) -> Radflow:
    """The process's wired radflow."""
    radflow: Radflow = request.app.state.radflow
    return radflow


def page_for(request: Request, principal: Principal | None) -> Page:
    """The frame of a screen for this request."""
    radflow = wired(request)
    return Page(
        principal=principal, csrf_token=getattr(request.state, "csrf_token", "") or "",
        now=radflow.ctx.clock.now(), zone=radflow.settings.zone, center_name=radflow.settings.center_name,
        menu=tuple(menu_for(principal, area_menu())) if principal else (), path=request.url.path,
        session_idle_minutes=radflow.settings.session_idle_minutes,
    )


def render(request: Request, principal: Principal | None, template: str, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """Render a screen (or an htmx fragment) with the page frame and the screens' headers."""
    html = TEMPLATES.get_template(template).render(page=page_for(request, principal), **context)
    return HTMLResponse(html, status_code=status_code, headers=SCREEN_HEADERS)


def see_other(url: str) -> RedirectResponse:
    """After a form was accepted: go to the screen that shows the result (POST/redirect/GET)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
