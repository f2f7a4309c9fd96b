"""How the screens answer a refused or failed request: a page a person can act on, never JSON or a trace.

`ScreenRoute` is the route class of every screen. It maps radflow's error hierarchy once for the
screens, as `entrypoints/api/errors.py` does for the API: not signed in (or the session timed out)
→ back to the sign-in page with the reason and the page to return to; anything else → an error page
with the service's message and the status the API would give. Refusals were already audited where
they happened (the policy dependency or the bus).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.routing import APIRoute

from radflow.domain.errors import RadflowError, Unauthenticated
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import SESSION_COOKIE
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.rendering import render, see_other

_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not possible now", 422: "Not accepted"}


def sign_in_again(request: Request) -> Response:
    """Send the browser to the sign-in page, saying why, and come back here afterwards."""
    query: dict[str, str] = {}
    if request.method == "GET":
        query["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.cookies.get(SESSION_COOKIE):
        # A session cookie that no longer opens a session: it timed out after inactivity, or was ended.
        query["expired"] = "1"
    url = "/login" + (f"?{urlencode(query)}" if query else "")
    if request.headers.get("HX-Request"):
        # htmx would swap the sign-in page into a fragment; ask it to load the whole page instead.
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = see_other(url)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def error_page(request: Request, error: RadflowError) -> Response:
    """A page with the service's message, in the layout of the signed-in user (when known)."""
    status = status_for(error)
    principal: Principal | None = getattr(request.state, "principal", None)
    return render(request, principal, "error.html", status_code=status,
                  title=_TITLES.get(status, "Something went wrong"), message=error.message, status=status)


class ScreenRoute(APIRoute):
    """A screen's route: radflow errors become the sign-in page or an error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler (dependencies included) with the screens' error mapping."""
        handle = super().get_route_handler()

        async def screen_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except Unauthenticated:
                return sign_in_again(request)
            except RadflowError as error:
                return error_page(request, error)

        return screen_handler
