"""Dependencies: the wired app, the signed-in principal, and each route's declared policy action."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from radflow.bootstrap import Radflow
from radflow.domain import policy
from radflow.domain.errors import Forbidden, Unauthenticated
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.accounts import session_principal, token_principal
from radflow.services.audit import record_refusal

SESSION_COOKIE = "radflow_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_radflow(request: Request) -> Radflow:
    """The process's wired radflow (set by the app factory)."""
    radflow: Radflow = request.app.state.radflow
    return radflow


App = Annotated[Radflow, Depends(get_radflow)]


def request_source(request: Request) -> str:
    """Where a request came from, for the audit trail."""
    client = request.client.host if request.client else "unknown"
    return f"http:{client}"


async def _csrf_token_sent(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def current_principal(request: Request, radflow: App) -> Principal:
    """Who is calling: a bearer token (API) or a browser session (screens, with CSRF on changes)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    source = request_source(request)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        principal = await run_in_threadpool(token_principal, radflow.bus.uow_factory, authorization[7:].strip(),
                                            source)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer …'")
        background = request.headers.get("X-Background-Refresh") == "1"
        principal, csrf = await run_in_threadpool(
            lambda: session_principal(radflow.bus.uow_factory, radflow.ctx, token, source, activity=not background))
        request.state.csrf_token = csrf
        # A cookie is sent by the browser on its own: changes must prove they come from our pages.
        if request.method in UNSAFE_METHODS and await _csrf_token_sent(request) != csrf:
            raise Forbidden("the form has expired or did not come from radflow; reload the page and try again")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class Requires:
    """A route's policy entry: the action it performs (checked here by role, by the service by object)."""

    def __init__(self, action: Action) -> None:
        self.action = action

    async def __call__(self, request: Request, principal: CurrentPrincipal, radflow: App) -> Principal:
        try:
            policy.check(principal, self.action)
        except Forbidden as refused:
            await run_in_threadpool(record_refusal, radflow.bus.uow_factory, radflow.ctx, principal,
                                    self.action.value, detail=f"{request.method} {request.url.path}: {refused.message}")
            raise
        return principal


class Public:
    """A route's policy entry saying it needs no sign-in (login page, health, FHIR metadata)."""

    reason: str

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def __call__(self) -> None:
        return None


def requires(action: Action) -> Any:
    """`Depends(...)` for a route that performs `action`."""
    return Depends(Requires(action))


def public(reason: str) -> Any:
    """`Depends(...)` for a route open to anyone, with the reason."""
    return Depends(Public(reason))
