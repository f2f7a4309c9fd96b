"""The critical-results live board (htmx polls it) and a result's page: record, acknowledge, attempts, withdraw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.critical_result import CHANNELS, CriticalResult
from radflow.domain.policy import Action
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.critical_results import (
    AcknowledgeCriticalResult,
    CriticalBoard,
    GetCriticalResult,
    RecordContactAttempt,
    WithdrawCriticalResult,
)

router = APIRouter(route_class=ScreenRoute, include_in_schema=False)

#: How often the board asks for fresh times (seconds).
POLL_SECONDS = 15


@router.get("/critical-results")
def board(request: Request, radflow: ScreenApp,
          actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_READ)]) -> Response:
    """Open critical results with the time left, refreshed every few seconds."""
    results = radflow.bus.handle(CriticalBoard(actor=actor))
    return render(request, actor, "reporting/board.html", results=results, poll=POLL_SECONDS)


@router.get("/critical-results/board")
def board_rows(request: Request, radflow: ScreenApp,
               actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_READ)]) -> Response:
    """The board's table alone (what htmx swaps in)."""
    results = radflow.bus.handle(CriticalBoard(actor=actor))
    return render(request, actor, "reporting/board_rows.html", results=results, poll=POLL_SECONDS)


def page(request: Request, radflow: Radflow, actor: Principal, result_id: str, *, status_code: int = 200,
         error: FormError | None = None, values: dict[str, str] | None = None, notice: str = "") -> Response:
    """A critical result's page: what, who was told, when and how, and the forms the actor may use."""
    result: CriticalResult = radflow.bus.handle(GetCriticalResult(actor=actor, critical_result_id=result_id))
    return render(request, actor, "reporting/critical.html", status_code=status_code, result=result, error=error,
                  values=values or {}, notice=notice, channels=[(c, c.replace("_", " ")) for c in CHANNELS],
                  is_referrer=actor.role is Role.REFERRING_PROVIDER)


@router.get("/critical-results/{result_id}")
def critical_result(result_id: str, request: Request, radflow: ScreenApp,
                    actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_READ)], done: str = "") -> Response:
    """One critical result with its communication record."""
    notices = {"acknowledged": "Acknowledged: the communication is documented in the report.",
               "attempt": "Attempt recorded.", "withdrawn": "Withdrawn."}
    return page(request, radflow, actor, result_id, notice=notices.get(done, ""))


@router.post("/critical-results/{result_id}/acknowledge")
def acknowledge(result_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_ACKNOWLEDGE)]) -> Response:
    """Receipt with read-back (a radiologist documents whom they reached, how, and what was read back)."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(AcknowledgeCriticalResult(
            actor=actor, critical_result_id=result_id, read_back=fields.text("read_back"),
            acknowledged_by_name=fields.text("acknowledged_by_name"), channel=fields.text("channel")))
    except FORM_ERRORS as refused:
        return page(request, radflow, actor, result_id, status_code=status_for(refused),
                    error=FormError.of(refused), values=fields.values())
    return see_other(f"/critical-results/{result_id}?done=acknowledged")


@router.post("/critical-results/{result_id}/attempt")
def attempt(result_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
            actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_RAISE)]) -> Response:
    """Record an attempt to reach someone that failed."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(RecordContactAttempt(actor=actor, critical_result_id=result_id,
                                                detail=fields.text("detail")))
    except FORM_ERRORS as refused:
        return page(request, radflow, actor, result_id, status_code=status_for(refused),
                    error=FormError.of(refused), values=fields.values())
    return see_other(f"/critical-results/{result_id}?done=attempt")


@router.post("/critical-results/{result_id}/withdraw")
def withdraw(result_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
             actor: Annotated[Principal, requires(Action.CRITICAL_RESULT_RAISE)]) -> Response:
    """Withdraw a critical result marked by mistake."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(WithdrawCriticalResult(actor=actor, critical_result_id=result_id,
                                                  reason=fields.text("reason")))
    except FORM_ERRORS as refused:
        return page(request, radflow, actor, result_id, status_code=status_for(refused),
                    error=FormError.of(refused), values=fields.values())
    return see_other(f"/critical-results/{result_id}?done=withdrawn")
