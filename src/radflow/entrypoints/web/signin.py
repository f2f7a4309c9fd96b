"""Sign in and out of the screens: the browser session cookie, and where each role starts.

The session cookie is httponly (no script reads it), SameSite=Lax (not sent on other sites' posts)
and Secure when the center serves over HTTPS (`RADFLOW_SECURE_COOKIES`). The sign-in form itself is
protected against login CSRF with a double-submit token: a random value in a short-lived cookie
that the form must echo (OWASP CSRF Prevention Cheat Sheet, "Signed double-submit cookie" / login CSRF).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from radflow.domain.errors import Unauthenticated
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import SESSION_COOKIE, public, request_source, requires
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FormError, FormFields, PostedForm
from radflow.entrypoints.web.navigation import home_for, safe_next
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.accounts import sign_in, sign_out

router = APIRouter(route_class=ScreenRoute)

LOGIN_CSRF_COOKIE = "radflow_login_csrf"
_LOGIN_CSRF_SECONDS = 3600


def _login_form(request: Request, *, next_url: str | None, error: FormError | None = None, status_code: int = 200,
                username: str = "", expired: bool = False, signed_out: bool = False) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, None, "login.html", status_code=status_code, login_csrf=token, next=next_url,
                      error=error, values={"username": username}, expired=expired, signed_out=signed_out)
    secure = request.app.state.radflow.settings.secure_cookies
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=_LOGIN_CSRF_SECONDS, httponly=True, samesite="strict",
                        secure=secure, path="/login")
    return response


@router.get("/login", dependencies=[public("the sign-in form")])
def login_page(request: Request, next: str = "", expired: str = "", signed_out: str = "") -> Response:
    """The sign-in form (with why the user is here: an idle timeout, or after signing out)."""
    return _login_form(request, next_url=safe_next(next), expired=bool(expired), signed_out=bool(signed_out))


@router.post("/login", dependencies=[public("signing in: checks the password, opens a session")])
async def login(request: Request, radflow: ScreenApp, form: PostedForm) -> Response:
    """Check the password, set the session cookie and go to the page asked for or the role's start page."""
    fields = FormFields(form)
    username, next_url = fields.text("username"), safe_next(fields.text("next"))
    sent, expected = fields.text("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(sent, expected):
        return _login_form(request, next_url=next_url, username=username, status_code=403,
                           error=FormError("The sign-in form expired; please sign in again."))
    password = form.get("password")
    try:
        signed_in = await run_in_threadpool(
            sign_in, radflow.bus.uow_factory, radflow.ctx, radflow.hasher, username,
            password if isinstance(password, str) else "", request_source(request))
    except Unauthenticated as refused:
        return _login_form(request, next_url=next_url, username=username, status_code=401,
                           error=FormError(refused.message, "password"))
    response = see_other(next_url or home_for(signed_in.principal))
    response.set_cookie(SESSION_COOKIE, signed_in.session_token, httponly=True, samesite="lax",
                        secure=radflow.settings.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, radflow: ScreenApp,
           actor: Annotated[Principal, requires(Action.PROFILE_READ)]) -> Response:
    """End the session (audited) and show the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        sign_out(radflow.bus.uow_factory, radflow.ctx, token, actor)
    response = see_other("/login?signed_out=1")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def start_page(actor: Annotated[Principal, requires(Action.PROFILE_READ)]) -> Response:
    """Each role's start page: intake → intake queue, radiologist → protocoling, manager → board, …"""
    return see_other(home_for(actor))
