"""Mapping radflow's errors to HTTP once: problem+json for the API, OperationOutcome for FHIR."""

from __future__ import annotations

import html
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from radflow.domain.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    RadflowError,
    Unauthenticated,
    ValidationError,
)

log = logging.getLogger("radflow.http")

_STATUS: tuple[tuple[type[RadflowError], int], ...] = (
    (NotFound, 404),
    (InvalidTransition, 409),
    (Conflict, 409),
    (ValidationError, 422),
    (Unauthenticated, 401),
    (Forbidden, 403),
)

# FHIR R4 IssueType codes (http://hl7.org/fhir/issue-type) per HTTP status.
_FHIR_CODE = {400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict",
              422: "invalid", 500: "exception"}


def status_for(error: RadflowError) -> int:
    """HTTP status of a radflow error."""
    for error_type, status in _STATUS:
        if isinstance(error, error_type):
            return status
    return 500


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir")


def _is_screen(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path.startswith("/fhir") or path in ("/healthz", "/metrics"))


# A bare page for errors no screen handled (an unknown address, a failure): escaped, no template needed.
_ERROR_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>radflow — {status}</title>'
    '<link rel="stylesheet" href="/static/radflow.css"></head><body><main class="error-page">'
    "<h1>{status}</h1><p>{message}</p><p><a href=\"/\">Back to radflow</a></p></main></body></html>"
)


def operation_outcome(status: int, message: str, *, field: str | None = None) -> dict[str, Any]:
    """A FHIR OperationOutcome for an error."""
    issue: dict[str, Any] = {"severity": "error", "code": _FHIR_CODE.get(status, "processing"),
                             "diagnostics": message}
    if field:
        issue["expression"] = [field]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def error_response(request: Request, status: int, code: str, message: str, *,
                   field: str | None = None, extra: dict[str, Any] | None = None) -> Response:
    """The error in the caller's protocol."""
    if _is_fhir(request):
        return JSONResponse(operation_outcome(status, message, field=field), status_code=status,
                            media_type="application/fhir+json")
    if status == 401 and _is_screen(request):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if _is_screen(request):
        return HTMLResponse(_ERROR_PAGE.format(status=status, message=html.escape(message)), status_code=status)
    body: dict[str, Any] = {"type": f"urn:radflow:problem:{code}", "title": code.replace("-", " "),
                            "status": status, "detail": message}
    if field:
        body["field"] = field
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install_error_handlers(app: FastAPI) -> None:
    """Register the mappings on the app."""

    @app.exception_handler(RadflowError)
    async def _radflow_error(request: Request, error: RadflowError) -> Response:
        status = status_for(error)
        return error_response(request, status, error.code, error.message, field=error.field)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return error_response(request, 422, "invalid", message, field=first["field"] or None,
                              extra={"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        return error_response(request, error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        # Process boundary: log with a correlation id, answer a generic failure, never a traceback.
        correlation = uuid.uuid4().hex[:12]
        log.error("unhandled error %s on %s %s", correlation, request.method, request.url.path, exc_info=error)
        return error_response(request, 500, "internal-error",
                              f"radflow could not complete the request (reference {correlation})")
