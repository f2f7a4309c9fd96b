"""REST routes of distribution, patient release and communication, follow-ups, records requests and the audit.

Each route names its policy action; the services check the object and write the audit records.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from radflow.domain.distribution import Distribution
from radflow.domain.followup import FollowUp, FollowUpState
from radflow.domain.policy import Action
from radflow.domain.records_request import RecordsRequest
from radflow.domain.release import ReleaseHold
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import jsonable
from radflow.services import records_requests as rr
from radflow.services.distribution import GetDistributions, GetInbox, OpenedReport, OpenInboxReport
from radflow.services.followups import CloseFollowUp, GetFollowUp, GetFollowUpWorklist, ReopenFollowUp
from radflow.services.mammography_audit import GetOutcomesAudit, OutcomesAudit, RecordBiopsyResult
from radflow.services.patient_communication import ListPatientLetters, ResendLetter, SetResultResponsibility
from radflow.services.patient_release import (
    GetReleaseStatus,
    LiftReleaseHold,
    ListMyResults,
    OpenMyResult,
    PlaceReleaseHold,
    PrintReport,
    ReleaseStatus,
)
from radflow.services.results_ports import FollowUpFilter

router = APIRouter(tags=["distribution, patient communication and follow-up"])

PDF_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def distribution_json(d: Distribution) -> dict[str, Any]:
    """One delivery: to whom, how, what became of it, and when."""
    return {
        "id": d.id, "order_id": d.order_id, "report_id": d.report_id, "accession_number": d.accession_number,
        "purpose": d.purpose.value, "recipient": {"kind": d.recipient_kind.value, "ref": d.recipient_ref,
                                                  "name": d.recipient_name},
        "channel": d.channel.value, "state": d.state.value, "report_version": d.report_version,
        "created_at": jsonable(d.created_at), "due_at": jsonable(d.due_at), "sent_at": jsonable(d.sent_at),
        "delivered_at": jsonable(d.delivered_at), "first_opened_at": jsonable(d.first_opened_at),
        "first_opened_by": d.first_opened_by_name, "open_count": d.open_count, "actionable": d.actionable,
        "actionable_reasons": list(d.actionable_reasons), "escalated_at": jsonable(d.escalated_at),
        "escalated_to": list(d.escalated_to), "job_key": d.job_key, "details": jsonable(d.details),
        "log": list(d.log),
    }


def followup_json(item: FollowUp) -> dict[str, Any]:
    """One follow-up item with its reminders and history."""
    return {
        "id": item.id, "patient_id": item.patient_id, "state": item.state.value, "source": item.source.value,
        "source_order_id": item.source_order_id, "source_accession": item.source_accession,
        "recommendation": item.recommendation, "modality": item.modality, "body_region": item.body_region,
        "procedure": item.procedure, "due_date": item.due_date.isoformat(),
        "due_date_latest": jsonable(item.due_date_latest), "rule": item.rule, "rule_source": item.rule_source,
        "responsible": {"npi": item.responsible_npi, "name": item.responsible_name},
        "reminders": list(item.reminders), "overdue_at": jsonable(item.overdue_at),
        "escalated_to": list(item.escalated_to), "completed_at": jsonable(item.completed_at),
        "completed_by_order_id": item.completed_by_order_id, "completed_accession": item.completed_accession,
        "closed_reason": item.closed_reason, "created_at": jsonable(item.created_at), "log": list(item.log),
    }


def hold_json(hold: ReleaseHold) -> dict[str, Any]:
    """One hold on a patient's report."""
    return {"id": hold.id, "order_id": hold.order_id, "reason": hold.reason.value, "explanation": hold.explanation,
            "placed_by": hold.placed_by_name, "placed_by_role": hold.placed_by_role,
            "placed_at": jsonable(hold.placed_at), "expires_at": jsonable(hold.expires_at), "state": hold.state.value,
            "ended_at": jsonable(hold.ended_at), "end_reason": hold.end_reason}


def request_json(request: RecordsRequest) -> dict[str, Any]:
    """One records request with its deadline."""
    return {"id": request.id, "patient_id": request.patient_id, "items": list(request.items),
            "order_ids": list(request.order_ids), "delivery": request.delivery, "state": request.state.value,
            "received_at": jsonable(request.received_at), "due_at": jsonable(request.due_at),
            "extended": request.extended, "extension_reason": request.extension_reason,
            "third_party": request.third_party, "recipient": request.recipient,
            "release_form_document_id": request.release_form_document_id, "answered_at": jsonable(request.answered_at),
            "answer": request.answer, "log": list(request.log)}


def _opened_json(view: OpenedReport) -> dict[str, Any]:
    report = view.report
    return {"order_id": view.order.id, "accession_number": view.order.accession_number,
            "patient": {"id": view.patient.id, "name": view.patient.display_name}, "state": report.state.value,
            "text": report.text(), "rads": [r.to_json() for r in report.rads_results],
            "signed_at": jsonable(report.signed_at), "signed_by": report.signed_by_name,
            "first_opening": view.first_opening,
            "distributions": [distribution_json(d) for d in view.distributions
                              if d.recipient_kind.value != "patient"]}


# -- the referring provider's inbox --------------------------------------------------------------


@router.get("/results/inbox")
def inbox(radflow: App, actor: Annotated[Principal, requires(Action.RESULTS_INBOX)],
          unopened: bool = False) -> dict[str, Any]:
    """Reports of orders you placed, are copied on or cover for; newest first."""
    lines = radflow.bus.handle(GetInbox(actor=actor, unopened_only=unopened))
    return {"total": len(lines), "reports": [{**distribution_json(line.distribution),
                                               "patient_name": line.patient_name,
                                               "report_state": line.report_state} for line in lines]}


@router.get("/results/inbox/{order_id}")
def open_report(order_id: str, radflow: App,
                actor: Annotated[Principal, requires(Action.RESULTS_INBOX)]) -> dict[str, Any]:
    """Open a report from the inbox: your first opening is recorded (who, when)."""
    return _opened_json(radflow.bus.handle(OpenInboxReport(actor=actor, order_id=order_id)))


@router.get("/orders/{order_id}/distributions")
def distributions(order_id: str, radflow: App,
                  actor: Annotated[Principal, requires(Action.DISTRIBUTION_READ)]) -> dict[str, Any]:
    """Where the order's report went (inboxes, ORU, portal, letters) and what became of each."""
    found = radflow.bus.handle(GetDistributions(actor=actor, order_id=order_id))
    return {"order_id": order_id, "distributions": [distribution_json(d) for d in found]}


@router.get("/orders/{order_id}/report.pdf")
def report_pdf(order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.REPORT_READ)]) -> Response:
    """The signed report as a PDF (a patient's once released to them)."""
    pdf = radflow.bus.handle(PrintReport(actor=actor, order_id=order_id))
    return Response(pdf, media_type="application/pdf",
                    headers={**PDF_HEADERS, "Content-Disposition": f'inline; filename="report-{order_id}.pdf"'})


# -- patient release ------------------------------------------------------------------------------


class HoldIn(BaseModel):
    """A hold on one patient's report: patient_request or preventing_harm, why, and for how many days."""

    reason: str
    explanation: str = ""
    days: int = Field(ge=1)


class ReasonIn(BaseModel):
    """Why (lifting a hold, closing or reopening a follow-up, resending a letter)."""

    reason: str = ""


def _release_json(status: ReleaseStatus) -> dict[str, Any]:
    return {"order_id": status.order_id, "signed_at": jsonable(status.signed_at),
            "released": status.released_since is not None, "released_since": jsonable(status.released_since),
            "holds": [hold_json(h) for h in status.holds]}


@router.get("/orders/{order_id}/release")
def release_status(order_id: str, radflow: App,
                   actor: Annotated[Principal, requires(Action.REPORT_READ)]) -> dict[str, Any]:
    """Whether the patient may see the report (released on signing unless this report is held), and its holds."""
    return _release_json(radflow.bus.handle(GetReleaseStatus(actor=actor, order_id=order_id)))


@router.post("/orders/{order_id}/release/holds", status_code=201)
def place_hold(order_id: str, body: HoldIn, radflow: App,
               actor: Annotated[Principal, requires(Action.RELEASE_HOLD)]) -> dict[str, Any]:
    """Hold this one report back from its patient, for a limited time (45 CFR 171.201 / 171.202(e))."""
    hold_id = radflow.bus.handle(PlaceReleaseHold(actor=actor, order_id=order_id, reason=body.reason,
                                                  explanation=body.explanation, days=body.days))
    return {"hold_id": hold_id, **_release_json(radflow.bus.handle(GetReleaseStatus(actor=actor, order_id=order_id)))}


@router.post("/release-holds/{hold_id}/lift")
def lift_hold(hold_id: str, body: ReasonIn, radflow: App,
              actor: Annotated[Principal, requires(Action.RELEASE_HOLD)]) -> dict[str, Any]:
    """End a hold now: the report is released to the patient."""
    return {"hold_id": hold_id, "state": radflow.bus.handle(LiftReleaseHold(actor=actor, hold_id=hold_id,
                                                                            reason=body.reason))}


class ResponsibilityIn(BaseModel):
    """Who tells the patient: center or ordering_provider, and on what basis."""

    responsible: str
    basis: str


@router.put("/orders/{order_id}/result-responsibility")
def set_responsibility(order_id: str, body: ResponsibilityIn, radflow: App,
                       actor: Annotated[Principal, requires(Action.RESULT_RESPONSIBILITY)]) -> dict[str, Any]:
    """Record who communicates this order's result to the patient (a mammogram's stays with the facility)."""
    return {"order_id": order_id, "responsible": radflow.bus.handle(SetResultResponsibility(
        actor=actor, order_id=order_id, responsible=body.responsible, basis=body.basis))}


@router.get("/patient-letters")
def patient_letters(radflow: App, actor: Annotated[Principal, requires(Action.PATIENT_LETTERS)],
                    open_only: bool = False) -> dict[str, Any]:
    """MQSA lay letters and result notices, soonest due first, with whether each is late."""
    lines = radflow.bus.handle(ListPatientLetters(actor=actor, open_only=open_only))
    return {"total": len(lines), "letters": [{**distribution_json(line.distribution), "patient_name": line.patient_name,
                                              "late": line.late} for line in lines]}


@router.post("/patient-letters/{distribution_id}/resend")
def resend_letter(distribution_id: str, body: ReasonIn, radflow: App,
                  actor: Annotated[Principal, requires(Action.DISTRIBUTION_MANAGE)]) -> dict[str, Any]:
    """Send a letter or notice again, as a new attempt."""
    return {"id": distribution_id, "state": radflow.bus.handle(ResendLetter(actor=actor,
                                                                            distribution_id=distribution_id,
                                                                            reason=body.reason))}


# -- the patient portal ---------------------------------------------------------------------------


@router.get("/portal/results")
def portal_results(radflow: App, actor: Annotated[Principal, requires(Action.PORTAL_RESULTS)]) -> dict[str, Any]:
    """Your released reports, newest first."""
    lines = radflow.bus.handle(ListMyResults(actor=actor))
    return {"total": len(lines), "results": [
        {"order_id": line.order.id, "accession_number": line.order.accession_number, "exam": line.exam_name,
         "released_since": jsonable(line.released_since), "opened": line.opened,
         "state": line.report.state.value} for line in lines]}


@router.get("/portal/results/{order_id}")
def portal_result(order_id: str, radflow: App,
                  actor: Annotated[Principal, requires(Action.PORTAL_RESULTS)]) -> dict[str, Any]:
    """One of your released reports."""
    view = radflow.bus.handle(OpenMyResult(actor=actor, order_id=order_id))
    return {"order_id": view.order.id, "accession_number": view.order.accession_number, "exam": view.exam_name,
            "text": view.report.text(), "signed_at": jsonable(view.report.signed_at),
            "signed_by": view.report.signed_by_name, "pdf": f"/api/orders/{view.order.id}/report.pdf"}


# -- follow-ups -----------------------------------------------------------------------------------


@router.get("/followups")
def followup_worklist(radflow: App, actor: Annotated[Principal, requires(Action.FOLLOWUP_READ)],
                      state: Annotated[list[str] | None, Query()] = None, modality: str = "", body_region: str = "",
                      due_before: date | None = None, due_after: date | None = None, patient_id: str = "",
                      source: str = "", limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    """Follow-up items, soonest due first (default: open and overdue); a referrer sees their own only."""
    states = tuple(FollowUpState(s) for s in state) if state else (FollowUpState.OPEN, FollowUpState.OVERDUE)
    lines = radflow.bus.handle(GetFollowUpWorklist(actor=actor, wanted=FollowUpFilter(
        states=states, modality=modality.upper(), body_region=body_region, due_before=due_before,
        due_after=due_after, patient_id=patient_id, source=source, limit=limit)))
    return {"total": len(lines), "followups": [{**followup_json(line.item), "patient_name": line.patient_name,
                                                "mrn": line.mrn} for line in lines]}


@router.get("/followups/{followup_id}")
def followup(followup_id: str, radflow: App,
             actor: Annotated[Principal, requires(Action.FOLLOWUP_READ)]) -> dict[str, Any]:
    """One follow-up item with its reminders and history."""
    return followup_json(radflow.bus.handle(GetFollowUp(actor=actor, followup_id=followup_id)))


@router.post("/followups/{followup_id}/close")
def close_followup(followup_id: str, body: ReasonIn, radflow: App,
                   actor: Annotated[Principal, requires(Action.FOLLOWUP_MANAGE)]) -> dict[str, Any]:
    """Close an item with the reason (done elsewhere, declined, not indicated)."""
    return {"id": followup_id, "state": radflow.bus.handle(CloseFollowUp(actor=actor, followup_id=followup_id,
                                                                         reason=body.reason))}


@router.post("/followups/{followup_id}/reopen")
def reopen_followup(followup_id: str, body: ReasonIn, radflow: App,
                    actor: Annotated[Principal, requires(Action.FOLLOWUP_MANAGE)]) -> dict[str, Any]:
    """Reopen a closed item; its reminders are planned again."""
    return {"id": followup_id, "state": radflow.bus.handle(ReopenFollowUp(actor=actor, followup_id=followup_id,
                                                                          reason=body.reason))}


# -- records requests -----------------------------------------------------------------------------


class RecordsRequestIn(BaseModel):
    """A request for copies (report_copies) and/or images, how they go, and to whom."""

    patient_id: str
    items: list[str]
    delivery: str
    order_ids: list[str] = Field(default_factory=list)
    third_party: bool = False
    recipient: str = ""
    requester_name: str = ""


class RequestStepIn(BaseModel):
    """A step on a request: the reason, the answer or the basis; send the copies from here."""

    text: str = ""
    send_copies: bool = False


@router.post("/records-requests", status_code=201)
def request_records(body: RecordsRequestIn, radflow: App,
                    actor: Annotated[Principal, requires(Action.RECORDS_REQUEST)]) -> dict[str, Any]:
    """Ask for copies of reports or an image transfer (due in 30 days: 45 CFR 164.524(b)(2))."""
    request_id = radflow.bus.handle(rr.RequestRecords(
        actor=actor, patient_id=body.patient_id, items=tuple(body.items), delivery=body.delivery,
        order_ids=tuple(body.order_ids), third_party=body.third_party, recipient=body.recipient,
        requester_name=body.requester_name))
    return {"id": request_id}


@router.get("/records-requests")
def records_requests(radflow: App, actor: Annotated[Principal, requires(Action.RECORDS_MANAGE)]) -> dict[str, Any]:
    """Open requests, soonest due first."""
    found = radflow.bus.handle(rr.ListRecordsRequests(actor=actor))
    return {"total": len(found), "requests": [request_json(r) for r in found]}


@router.get("/patients/{patient_id}/records-requests")
def patient_records_requests(patient_id: str, radflow: App,
                             actor: Annotated[Principal, requires(Action.RECORDS_REQUEST)]) -> dict[str, Any]:
    """A patient's requests, newest first (a patient: their own)."""
    found = radflow.bus.handle(rr.ListRecordsRequests(actor=actor, patient_id=patient_id, open_only=False))
    return {"total": len(found), "requests": [request_json(r) for r in found]}


@router.post("/records-requests/{request_id}/release-form", status_code=201)
def release_form(request_id: str, file: UploadFile, radflow: App,
                 actor: Annotated[Principal, requires(Action.RECORDS_MANAGE)]) -> dict[str, Any]:
    """File the patient's signed release form on the request."""
    content = file.file.read()
    document_id = radflow.bus.handle(rr.AttachReleaseForm(
        actor=actor, request_id=request_id, filename=file.filename or "release-form",
        content_type=file.content_type or "application/octet-stream", content=content))
    return {"id": request_id, "document_id": document_id}


@router.post("/records-requests/{request_id}/{step}")
def work_request(request_id: str, step: str, body: RequestStepIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.RECORDS_MANAGE)]) -> dict[str, Any]:
    """start, extend (once, with the reason), fulfil (what went out), deny (the basis) or withdraw."""
    return {"id": request_id, "state": radflow.bus.handle(rr.WorkRecordsRequest(
        actor=actor, request_id=request_id, step=step, text=body.text, send_copies=body.send_copies))}


# -- the mammography outcomes audit ---------------------------------------------------------------


class BiopsyIn(BaseModel):
    """A breast biopsy's pathology."""

    biopsy_date: date
    outcome: str
    pathology_text: str
    laterality: str = ""
    source: str = ""


@router.post("/orders/{order_id}/biopsy-results", status_code=201)
def record_biopsy(order_id: str, body: BiopsyIn, radflow: App,
                  actor: Annotated[Principal, requires(Action.PATHOLOGY_RECORD)]) -> dict[str, Any]:
    """Capture the pathology of a biopsy that followed this breast imaging exam."""
    return {"id": radflow.bus.handle(RecordBiopsyResult(
        actor=actor, order_id=order_id, biopsy_date=body.biopsy_date, outcome=body.outcome,
        pathology_text=body.pathology_text, laterality=body.laterality, source=body.source))}


@router.get("/outcomes-audit/{year}")
def outcomes_audit(year: int, radflow: App,
                   actor: Annotated[Principal, requires(Action.OUTCOMES_AUDIT)]) -> dict[str, Any]:
    """The MQSA medical outcomes audit of a year: per radiologist and for the facility."""
    audit: OutcomesAudit = radflow.bus.handle(GetOutcomesAudit(actor=actor, year=year))
    return {"year": audit.year, "exams": audit.exams, "without_assessment": audit.without_assessment,
            "figures": [f.to_json() for f in audit.figures], "sources": audit.sources}
