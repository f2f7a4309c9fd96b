"""Results screens: the referring provider's inbox (first openings recorded), the patient portal with the
released reports and their PDF, where a report went, holds, the follow-up worklist, MQSA letter tracking,
records requests and the outcomes audit.

Forms post to these routes; a refusal brings the same screen back with the service's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from radflow.domain.errors import ValidationError
from radflow.domain.followup import FollowUpState
from radflow.domain.policy import Action
from radflow.domain.records_request import DeliveryMethod
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.navigation import NavItem
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import SCREEN_HEADERS, render, see_other
from radflow.services import records_requests as rr
from radflow.services.distribution import GetDistributions, GetInbox, OpenInboxReport
from radflow.services.followups import CloseFollowUp, GetFollowUp, GetFollowUpWorklist, ReopenFollowUp
from radflow.services.mammography_audit import GetOutcomesAudit
from radflow.services.patient_communication import ListPatientLetters, ResendLetter, SetResultResponsibility
from radflow.services.patient_release import (
    GetReleaseStatus,
    LiftReleaseHold,
    ListMyResults,
    ListMyWaitingResults,
    OpenMyResult,
    PlaceReleaseHold,
    PrintReport,
)
from radflow.services.results_ports import FollowUpFilter

router = APIRouter(route_class=ScreenRoute)

#: This area's menu entries (read by `web.areas.area_menu`).
MENU = (
    NavItem("Results inbox", "/results/inbox", (Action.RESULTS_INBOX,)),
    NavItem("My results", "/portal", (Action.PORTAL_RESULTS,)),
    NavItem("Follow-ups", "/followups", (Action.FOLLOWUP_READ,)),
    NavItem("Patient letters", "/results/letters", (Action.PATIENT_LETTERS,)),
    NavItem("Records requests", "/results/records-requests", (Action.RECORDS_MANAGE,)),
    NavItem("Outcomes audit", "/results/outcomes", (Action.OUTCOMES_AUDIT,)),
)

MODALITIES = [(m, m) for m in ("CT", "MR", "US", "MG", "DX", "NM", "PT", "XA", "RF")]
REGIONS = [(r, r.replace("_", " ")) for r in ("head", "neck", "chest", "abdomen", "pelvis", "spine", "breast",
                                               "upper_extremity", "lower_extremity", "heart", "vascular",
                                               "whole_body")]
STATES = [(s.value, s.value.replace("_", " ")) for s in FollowUpState]


def _try(request: Request, again: Callable[[FormError, int], Response], action: Callable[[], Any],
         then: str) -> Response:
    """Run a form's command; on a refusal the same screen comes back with the message."""
    try:
        action()
    except FORM_ERRORS as refused:
        return again(FormError.of(refused), status_for(refused))
    return see_other(then)


# -- the referring provider's inbox --------------------------------------------------------------


@router.get("/results/inbox")
def inbox(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.RESULTS_INBOX)],
          unopened: str = "") -> Response:
    """Reports of orders you placed, are copied on or cover for; unopened actionable ones stand out."""
    lines = radflow.bus.handle(GetInbox(actor=actor, unopened_only=bool(unopened)))
    return render(request, actor, "results/inbox.html", lines=lines, unopened=bool(unopened))


@router.get("/results/inbox/{order_id}")
def inbox_report(order_id: str, request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.RESULTS_INBOX)]) -> Response:
    """The report, opened: your first opening is recorded (who and when)."""
    view = radflow.bus.handle(OpenInboxReport(actor=actor, order_id=order_id))
    return render(request, actor, "results/inbox_report.html", view=view)


@router.get("/results/orders/{order_id}/report.pdf")
def report_pdf(order_id: str, radflow: ScreenApp,
               actor: Annotated[Principal, requires(Action.REPORT_READ)]) -> Response:
    """The signed report as a PDF (a patient's once released to them)."""
    pdf = radflow.bus.handle(PrintReport(actor=actor, order_id=order_id))
    return Response(pdf, media_type="application/pdf", headers={
        **SCREEN_HEADERS, "Content-Disposition": f'inline; filename="report-{order_id}.pdf"'})


# -- where a report went, holds, who tells the patient --------------------------------------------


def _deliveries(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, *,
                error: FormError | None = None, status_code: int = 200) -> Response:
    found = radflow.bus.handle(GetDistributions(actor=actor, order_id=order_id))
    release = radflow.bus.handle(GetReleaseStatus(actor=actor, order_id=order_id))
    return render(request, actor, "results/distributions.html", order_id=order_id, deliveries=found,
                  release=release, error=error, status_code=status_code)


@router.get("/results/orders/{order_id}")
def deliveries(order_id: str, request: Request, radflow: ScreenApp,
               actor: Annotated[Principal, requires(Action.DISTRIBUTION_READ)]) -> Response:
    """Where the report went (inboxes, the EHR, the portal, letters), what became of each; its release."""
    return _deliveries(request, radflow, actor, order_id)


@router.post("/results/orders/{order_id}/holds")
def place_hold(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
               actor: Annotated[Principal, requires(Action.RELEASE_HOLD)]) -> Response:
    """Hold this one report back from its patient, for a reason the rule accepts and a limited time."""
    fields = FormFields(form)
    back = "/portal" if actor.role is Role.PATIENT else f"/results/orders/{order_id}"

    def again(error: FormError, status: int) -> Response:
        if actor.role is Role.PATIENT:
            return _portal(request, radflow, actor, error=error, status_code=status)
        return _deliveries(request, radflow, actor, order_id, error=error, status_code=status)

    def place() -> None:
        days = fields.text("days")
        if not days.isdigit():
            raise ValidationError("give the number of days the hold runs (it ends on its own)", field="days")
        radflow.bus.handle(PlaceReleaseHold(actor=actor, order_id=order_id,
                                            reason=fields.text("reason") or "patient_request",
                                            explanation=fields.text("explanation"), days=int(days)))

    return _try(request, again, place, back)


@router.post("/results/holds/{hold_id}/lift")
def lift_hold(hold_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
              actor: Annotated[Principal, requires(Action.RELEASE_HOLD)]) -> Response:
    """End a hold now."""
    fields = FormFields(form)
    order_id = fields.text("order_id")
    back = "/portal" if actor.role is Role.PATIENT else f"/results/orders/{order_id}"

    def again(error: FormError, status: int) -> Response:
        return _deliveries(request, radflow, actor, order_id, error=error, status_code=status)

    return _try(request, again, lambda: radflow.bus.handle(LiftReleaseHold(actor=actor, hold_id=hold_id,
                                                                            reason=fields.text("reason"))), back)


@router.post("/results/orders/{order_id}/responsibility")
def set_responsibility(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                       actor: Annotated[Principal, requires(Action.RESULT_RESPONSIBILITY)]) -> Response:
    """Record who tells the patient about this result."""
    fields = FormFields(form)

    def again(error: FormError, status: int) -> Response:
        return _deliveries(request, radflow, actor, order_id, error=error, status_code=status)

    return _try(request, again, lambda: radflow.bus.handle(SetResultResponsibility(
        actor=actor, order_id=order_id, responsible=fields.text("responsible"), basis=fields.text("basis"))),
        f"/results/orders/{order_id}")


# -- the patient portal -------------------------------------------------------------------------


def _portal(request: Request, radflow: ScreenApp, actor: Principal, *, error: FormError | None = None,
            status_code: int = 200) -> Response:
    lines = radflow.bus.handle(ListMyResults(actor=actor))
    waiting = radflow.bus.handle(ListMyWaitingResults(actor=actor))
    requests = radflow.bus.handle(rr.ListRecordsRequests(actor=actor, open_only=False)) if actor.patient_id else []
    return render(request, actor, "results/portal.html", lines=lines, waiting=waiting, requests=requests, error=error,
                  deliveries=[(d.value, d.value.replace("_", " ")) for d in DeliveryMethod],
                  status_code=status_code)


@router.get("/portal")
def portal(request: Request, radflow: ScreenApp,
           actor: Annotated[Principal, requires(Action.PORTAL_RESULTS)]) -> Response:
    """Your released reports (as soon as they are signed), and your requests for copies."""
    return _portal(request, radflow, actor)


@router.get("/portal/results/{order_id}")
def portal_result(order_id: str, request: Request, radflow: ScreenApp,
                  actor: Annotated[Principal, requires(Action.PORTAL_RESULTS)]) -> Response:
    """One of your reports, with its PDF."""
    view = radflow.bus.handle(OpenMyResult(actor=actor, order_id=order_id))
    return render(request, actor, "results/portal_report.html", view=view)


@router.post("/portal/records-requests")
def portal_request(request: Request, radflow: ScreenApp, form: PostedForm,
                   actor: Annotated[Principal, requires(Action.RECORDS_REQUEST)]) -> Response:
    """Ask for copies of your reports or for your images to be sent somewhere."""
    fields = FormFields(form)
    items = tuple(v for k, v in form.multi_items() if k == "items" and isinstance(v, str))
    orders = tuple(v for k, v in form.multi_items() if k == "order_ids" and isinstance(v, str))

    def again(error: FormError, status: int) -> Response:
        return _portal(request, radflow, actor, error=error, status_code=status)

    return _try(request, again, lambda: radflow.bus.handle(rr.RequestRecords(
        actor=actor, patient_id=actor.patient_id or "", items=items, delivery=fields.text("delivery"),
        order_ids=orders, third_party=bool(fields.text("recipient")), recipient=fields.text("recipient"))),
        "/portal#requests")


def _patient_requests(request: Request, radflow: ScreenApp, actor: Principal, patient_id: str, *,
                      error: FormError | None = None, status_code: int = 200) -> Response:
    found = radflow.bus.handle(rr.ListRecordsRequests(actor=actor, patient_id=patient_id, open_only=False))
    return render(request, actor, "results/patient_requests.html", patient_id=patient_id, requests=found,
                  deliveries=[(d.value, d.value.replace("_", " ")) for d in DeliveryMethod], error=error,
                  status_code=status_code)


@router.get("/patients/{patient_id}/records-requests")
def patient_requests(patient_id: str, request: Request, radflow: ScreenApp,
                     actor: Annotated[Principal, requires(Action.RECORDS_REQUEST)]) -> Response:
    """A patient's requests for copies and transfers, and the form to record a new one (made at the desk)."""
    return _patient_requests(request, radflow, actor, patient_id)


@router.post("/patients/{patient_id}/records-requests")
def new_patient_request(patient_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                        actor: Annotated[Principal, requires(Action.RECORDS_REQUEST)]) -> Response:
    """Record a request made in person, by phone or by letter."""
    fields = FormFields(form)
    items = tuple(v for k, v in form.multi_items() if k == "items" and isinstance(v, str))
    orders = tuple(o for o in fields.codes("order_ids"))
    return _try(request, lambda e, s: _patient_requests(request, radflow, actor, patient_id, error=e, status_code=s),
                lambda: radflow.bus.handle(rr.RequestRecords(
                    actor=actor, patient_id=patient_id, items=items, delivery=fields.text("delivery"),
                    order_ids=orders, third_party=fields.flag("third_party"), recipient=fields.text("recipient"),
                    requester_name=fields.text("requester_name"))), f"/patients/{patient_id}/records-requests")


# -- follow-ups ---------------------------------------------------------------------------------


@router.get("/followups")
def followup_worklist(request: Request, radflow: ScreenApp,
                      actor: Annotated[Principal, requires(Action.FOLLOWUP_READ)]) -> Response:
    """Follow-up items by due date, filtered by state, modality, body region and due dates."""
    query = dict(request.query_params)
    pairs: list[tuple[str, str | UploadFile]] = list(request.query_params.multi_items())
    fields = FormFields(FormData(pairs))
    states = tuple(FollowUpState(s) for s in request.query_params.getlist("state") if s in FollowUpState) or (
        FollowUpState.OPEN, FollowUpState.OVERDUE)
    lines = radflow.bus.handle(GetFollowUpWorklist(actor=actor, wanted=FollowUpFilter(
        states=states, modality=fields.text("modality"), body_region=fields.text("body_region"),
        due_before=fields.day("due_before"), due_after=fields.day("due_after"), source=fields.text("source"))))
    return render(request, actor, "results/followups.html", lines=lines, values=query,
                  chosen=[s.value for s in states], options={"modality": MODALITIES, "body_region": REGIONS,
                                                              "state": STATES})


def _followup(request: Request, radflow: ScreenApp, actor: Principal, followup_id: str, *,
              error: FormError | None = None, status_code: int = 200) -> Response:
    item = radflow.bus.handle(GetFollowUp(actor=actor, followup_id=followup_id))
    return render(request, actor, "results/followup.html", item=item, error=error, status_code=status_code)


@router.get("/followups/{followup_id}")
def followup(followup_id: str, request: Request, radflow: ScreenApp,
             actor: Annotated[Principal, requires(Action.FOLLOWUP_READ)]) -> Response:
    """One follow-up item: its recommendation, due date, reminders and history."""
    return _followup(request, radflow, actor, followup_id)


@router.post("/followups/{followup_id}/close")
def close_followup(followup_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                   actor: Annotated[Principal, requires(Action.FOLLOWUP_MANAGE)]) -> Response:
    """Close with the reason (done elsewhere, declined, not indicated)."""
    reason = FormFields(form).text("reason")
    return _try(request, lambda e, s: _followup(request, radflow, actor, followup_id, error=e, status_code=s),
                lambda: radflow.bus.handle(CloseFollowUp(actor=actor, followup_id=followup_id, reason=reason)),
                f"/followups/{followup_id}")


@router.post("/followups/{followup_id}/reopen")
def reopen_followup(followup_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                    actor: Annotated[Principal, requires(Action.FOLLOWUP_MANAGE)]) -> Response:
    """Reopen a closed item."""
    reason = FormFields(form).text("reason")
    return _try(request, lambda e, s: _followup(request, radflow, actor, followup_id, error=e, status_code=s),
                lambda: radflow.bus.handle(ReopenFollowUp(actor=actor, followup_id=followup_id, reason=reason)),
                f"/followups/{followup_id}")


# -- letters, records requests, the audit --------------------------------------------------------


def _letters(request: Request, radflow: ScreenApp, actor: Principal, *, open_only: bool = False,
             error: FormError | None = None, status_code: int = 200) -> Response:
    lines = radflow.bus.handle(ListPatientLetters(actor=actor, open_only=open_only))
    return render(request, actor, "results/letters.html", lines=lines, open_only=open_only, error=error,
                  status_code=status_code)


@router.get("/results/letters")
def letters(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.PATIENT_LETTERS)],
            open_only: str = "") -> Response:
    """MQSA lay letters and result notices against their due dates."""
    return _letters(request, radflow, actor, open_only=bool(open_only))


@router.post("/results/letters/{distribution_id}/resend")
def resend_letter(distribution_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                  actor: Annotated[Principal, requires(Action.DISTRIBUTION_MANAGE)]) -> Response:
    """Send a letter or notice again."""
    reason = FormFields(form).text("reason") or "resent from the tracking screen"
    return _try(request, lambda e, s: _letters(request, radflow, actor, error=e, status_code=s),
                lambda: radflow.bus.handle(ResendLetter(actor=actor, distribution_id=distribution_id, reason=reason)),
                "/results/letters")


def _requests(request: Request, radflow: ScreenApp, actor: Principal, *, error: FormError | None = None,
              status_code: int = 200) -> Response:
    found = radflow.bus.handle(rr.ListRecordsRequests(actor=actor))
    return render(request, actor, "results/requests.html", requests=found, error=error, status_code=status_code)


@router.get("/results/records-requests")
def records_requests(request: Request, radflow: ScreenApp,
                     actor: Annotated[Principal, requires(Action.RECORDS_MANAGE)]) -> Response:
    """Open requests for copies and image transfers, soonest due first (30 days: 45 CFR 164.524(b)(2))."""
    return _requests(request, radflow, actor)


@router.post("/results/records-requests/{request_id}/{step}")
def work_request(request_id: str, step: str, request: Request, radflow: ScreenApp, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.RECORDS_MANAGE)]) -> Response:
    """start, extend, fulfil, deny or withdraw a request."""
    fields = FormFields(form)
    return _try(request, lambda e, s: _requests(request, radflow, actor, error=e, status_code=s),
                lambda: radflow.bus.handle(rr.WorkRecordsRequest(
                    actor=actor, request_id=request_id, step=step, text=fields.text("text"),
                    send_copies=fields.flag("send_copies"))), "/results/records-requests")


@router.get("/results/outcomes")
def outcomes(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.OUTCOMES_AUDIT)],
             year: int = 0) -> Response:
    """The MQSA medical outcomes audit of a year, per radiologist and for the facility."""
    chosen = year or radflow.ctx.clock.now().astimezone(radflow.settings.zone).year
    audit = radflow.bus.handle(GetOutcomesAudit(actor=actor, year=chosen))
    return render(request, actor, "results/outcomes.html", audit=audit)
