"""The HL7 interface monitor: connections, the message log (search by MRN, accession, control id,
status), one message with reprocess and dismiss, the outbound queue and its dead letters with resend,
and the sender mapping settings.

Every value from a message (names, free text, the raw message itself) reaches the page through
autoescaped templates only: an HL7 name carrying HTML or script is shown as text.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.errors import ValidationError
from radflow.domain.hl7_message import MessageStatus, ReferenceKind
from radflow.domain.jobs import JobState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.api.routes_hl7 import listener_counters
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.interfaces.mappings import LoadMapping, MappingView, ShowMapping
from radflow.services.interfaces.monitor import (
    DismissMessage,
    GetMessage,
    InterfaceOverview,
    ListOutbound,
    MessageDetail,
    MessagePage,
    OutboundRow,
    Overview,
    ReprocessMessage,
    ResendOutbound,
    SearchMessages,
)
from radflow.services.interfaces.store import MessageSearch

router = APIRouter(route_class=ScreenRoute)

SEARCH_KINDS = (("mrn", "MRN"), ("accession", "Accession"), ("control_id", "Control id (MSH-10)"))
STATUS_OPTIONS = [(s.value, s.value.replace("_", " ")) for s in MessageStatus]


@router.get("/hl7")
def monitor(request: Request, radflow: ScreenApp,
            actor: Annotated[Principal, requires(Action.HL7_MONITOR)]) -> Response:
    """The interface at a glance: this process's listener, messages per status, the outbound queue."""
    overview: Overview = radflow.bus.handle(InterfaceOverview(actor=actor))
    errors: MessagePage = radflow.bus.handle(SearchMessages(actor=actor, query=MessageSearch(
        status=MessageStatus.REJECTED, limit=10)))
    held: MessagePage = radflow.bus.handle(SearchMessages(actor=actor, query=MessageSearch(
        status=MessageStatus.HELD_FOR_REVIEW, limit=10)))
    return render(request, actor, "hl7/monitor.html", overview=overview, listener=listener_counters(radflow),
                  errors=errors, held=held, job_states=JobState)


def _search(radflow: Radflow, actor: Principal, kind: str, value: str, status: str, offset: int) -> MessagePage:
    value = value.strip()
    if status and status not in {s.value for s in MessageStatus}:
        raise ValidationError(f"'{status}' is not a message status", field="status")
    if kind not in {k for k, _ in SEARCH_KINDS}:
        raise ValidationError(f"'{kind}' is not something the log is searched by", field="kind")
    query = MessageSearch(
        status=MessageStatus(status) if status else None,
        reference_kind=ReferenceKind.MRN if kind == "mrn" else ReferenceKind.ACCESSION,
        reference=value if kind in ("mrn", "accession") else "",
        control_id=value if kind == "control_id" else "", limit=50, offset=max(offset, 0))
    page: MessagePage = radflow.bus.handle(SearchMessages(actor=actor, query=query))
    return page


@router.get("/hl7/messages")
def message_log(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.HL7_MONITOR)],
                kind: str = "mrn", q: str = "", status: str = "", offset: int = 0) -> Response:
    """The message log, newest first; search by MRN, accession or control id, and by status."""
    found = _search(radflow, actor, kind, q, status, offset)
    return render(request, actor, "hl7/messages.html", found=found, kind=kind, q=q, status=status, offset=offset,
                  kinds=SEARCH_KINDS, statuses=STATUS_OPTIONS)


def _message(request: Request, radflow: Radflow, actor: Principal, message_id: str, *,
             error: FormError | None = None, notice: str = "", status_code: int = 200) -> Response:
    detail: MessageDetail = radflow.bus.handle(GetMessage(actor=actor, message_id=message_id))
    message = detail.message
    return render(request, actor, "hl7/message.html", status_code=status_code, detail=detail, message=message,
                  raw_lines=message.raw.decode("latin-1").replace("\r\n", "\r").replace("\n", "\r").split("\r"),
                  ack_lines=[line for line in message.ack.decode("latin-1").split("\r") if line],
                  error=error, notice=notice)


@router.get("/hl7/messages/{message_id}")
def message_page(message_id: str, request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.HL7_MONITOR)], done: str = "") -> Response:
    """One message: raw text segment by segment, its ACK, its error, its history and references."""
    notices = {"reprocessed": "Reprocessed: the message is applied.", "dismissed": "Dismissed."}
    return _message(request, radflow, actor, message_id, notice=notices.get(done, ""))


@router.post("/hl7/messages/{message_id}/reprocess")
def reprocess(message_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
              actor: Annotated[Principal, requires(Action.HL7_MANAGE)]) -> Response:
    """Apply a refused or held message again; a new refusal is shown with its reason."""
    try:
        result = radflow.bus.handle(ReprocessMessage(actor=actor, message_id=message_id))
    except FORM_ERRORS as refused:
        return _message(request, radflow, actor, message_id, error=FormError.of(refused),
                        status_code=status_for(refused))
    if result.status is not MessageStatus.APPLIED:
        return _message(request, radflow, actor, message_id, status_code=422,
                        error=FormError(f"Still refused: {result.error}"))
    return see_other(f"/hl7/messages/{message_id}?done=reprocessed")


@router.post("/hl7/messages/{message_id}/dismiss")
def dismiss(message_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
            actor: Annotated[Principal, requires(Action.HL7_MANAGE)]) -> Response:
    """Decide that a refused or held message is not to be applied (with the reason)."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(DismissMessage(actor=actor, message_id=message_id, reason=fields.text("reason")))
    except FORM_ERRORS as refused:
        return _message(request, radflow, actor, message_id, error=FormError.of(refused),
                        status_code=status_for(refused))
    return see_other(f"/hl7/messages/{message_id}?done=dismissed")


@router.get("/hl7/outbound")
def outbound(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.HL7_MONITOR)],
             done: str = "") -> Response:
    """Messages radflow sends (status, reports, application ACKs): waiting, being sent, dead; resend the dead."""
    rows: list[OutboundRow] = radflow.bus.handle(ListOutbound(actor=actor))
    dead = [row for row in rows if row.state is JobState.DEAD]
    waiting = [row for row in rows if row.state is not JobState.DEAD]
    return render(request, actor, "hl7/outbound.html", dead=dead, waiting=waiting, error=None,
                  notice="Put back in the queue: the worker sends it next." if done == "resent" else "")


@router.post("/hl7/outbound/{job_id}/resend")
def resend(job_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
           actor: Annotated[Principal, requires(Action.HL7_MANAGE)]) -> Response:
    """Send a dead message again (same MSH-10)."""
    try:
        radflow.bus.handle(ResendOutbound(actor=actor, job_id=job_id))
    except FORM_ERRORS as refused:
        rows: list[OutboundRow] = radflow.bus.handle(ListOutbound(actor=actor))
        return render(request, actor, "hl7/outbound.html", status_code=status_for(refused),
                      dead=[r for r in rows if r.state is JobState.DEAD],
                      waiting=[r for r in rows if r.state is not JobState.DEAD], error=FormError.of(refused),
                      notice="")
    return see_other("/hl7/outbound?done=resent")


def _mapping(request: Request, radflow: Radflow, actor: Principal, *, error: FormError | None = None,
             draft: str = "", notice: str = "", status_code: int = 200) -> Response:
    view: MappingView = radflow.bus.handle(ShowMapping(actor=actor))
    return render(request, actor, "hl7/mapping.html", status_code=status_code, view=view, error=error,
                  draft=draft or (view.current.content if view.current else ""), notice=notice)


@router.get("/hl7/mapping")
def mapping(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.HL7_MONITOR)],
            done: str = "") -> Response:
    """The sender mapping in use, sender by sender, with its text; administrators load a new one here."""
    return _mapping(request, radflow, actor, notice="New mapping in use." if done == "loaded" else "")


@router.post("/hl7/mapping")
def load_mapping(request: Request, radflow: ScreenApp, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.HL7_MAPPING_MANAGE)]) -> Response:
    """Replace the mapping: checked whole, refused with every problem and its line (the text is kept)."""
    fields = FormFields(form)
    content = fields.text("content")
    try:
        radflow.bus.handle(LoadMapping(actor=actor, content=content, source="settings screen"))
    except FORM_ERRORS as refused:
        return _mapping(request, radflow, actor, error=FormError.of(refused), draft=content,
                        status_code=status_for(refused))
    return see_other("/hl7/mapping?done=loaded")
