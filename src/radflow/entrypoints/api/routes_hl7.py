"""REST routes of the HL7 interface monitor: message log, one message, reprocess and dismiss, the
outbound queue with resend, the sender mapping, and the listener's connections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from radflow.domain.errors import ValidationError
from radflow.domain.hl7_message import Hl7Message, MessageStatus, ReferenceKind
from radflow.domain.jobs import JobState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import jsonable
from radflow.services.interfaces.mappings import LoadMapping, MappingLoaded, MappingView, ShowMapping
from radflow.services.interfaces.monitor import (
    DismissMessage,
    GetMessage,
    InterfaceOverview,
    ListOutbound,
    MessageDetail,
    MessagePage,
    OutboundRow,
    Overview,
    Reprocessed,
    ReprocessMessage,
    ResendOutbound,
    SearchMessages,
)
from radflow.services.interfaces.store import MessageSearch

router = APIRouter(prefix="/hl7", tags=["HL7 interface"])


class DismissIn(BaseModel):
    """Why a refused or held message is not to be applied."""

    reason: str = Field(min_length=1, max_length=500)


class MappingIn(BaseModel):
    """A new sender mapping (the YAML or JSON text of docs/hl7-mapping.md)."""

    content: str = Field(min_length=1, max_length=2_000_000)
    source: str = Field(default="", max_length=255)


def _enum[E](kind: type[E], value: str, field: str) -> E | None:
    if not value:
        return None
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)  # type: ignore[attr-defined]
        raise ValidationError(f"{field} '{value}' is not one of: {allowed}", field=field) from None


def message_json(message: Hl7Message) -> dict[str, Any]:
    """A stored message: who sent it, its status, raw text (segments on lines) and the ACK it got."""
    return {
        "id": message.id, "received_at": message.received_at.isoformat(), "peer": message.peer,
        "sending_application": message.sending_application, "sending_facility": message.sending_facility,
        "sender_name": message.sender_name, "control_id": message.control_id, "message_type": message.message_type,
        "version": message.version, "status": message.status.value, "ack_code": message.ack_code,
        "error": {"code": message.error_code, "location": message.error_location, "text": message.error_text}
        if message.error_text else None,
        "deliveries": message.deliveries, "processings": message.processings, "patient_id": message.patient_id,
        "duplicate_of_id": message.duplicate_of_id,
        "references": [{"kind": r.kind.value, "value": r.value} for r in message.references],
        "raw": message.raw.decode("latin-1").replace("\r", "\n"), "ack": message.ack.decode("latin-1").replace(
            "\r", "\n"), "log": list(message.log),
    }


@router.get("/messages")
def search_messages(
    radflow: App, actor: Annotated[Principal, requires(Action.HL7_MONITOR)], status: str = "", mrn: str = "",
    accession: str = "", control_id: str = "", sending_application: str = "", message_type: str = "",
    received_from: datetime | None = None, received_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The message log, newest first, by MRN, accession, control id (MSH-10), status, sender, type, time."""
    kind, reference = (ReferenceKind.MRN, mrn) if mrn else (ReferenceKind.ACCESSION, accession)
    query = MessageSearch(status=_enum(MessageStatus, status, "status"), reference_kind=kind if reference else None,
                          reference=reference, control_id=control_id, sending_application=sending_application,
                          message_type=message_type, received_from=received_from, received_to=received_to,
                          limit=limit, offset=offset)
    page: MessagePage = radflow.bus.handle(SearchMessages(actor=actor, query=query))
    return {"total": page.total, "counts": {s.value: n for s, n in page.counts.items()},
            "messages": jsonable(list(page.rows))}


@router.get("/messages/{message_id}")
def read_message(message_id: str, radflow: App,
                 actor: Annotated[Principal, requires(Action.HL7_MONITOR)]) -> dict[str, Any]:
    """One message with its raw text, ACK, history and the other messages under its control id."""
    detail: MessageDetail = radflow.bus.handle(GetMessage(actor=actor, message_id=message_id))
    return {**message_json(detail.message), "same_control_id": jsonable(list(detail.same_control_id))}


@router.post("/messages/{message_id}/reprocess")
def reprocess(message_id: str, radflow: App,
              actor: Annotated[Principal, requires(Action.HL7_MANAGE)]) -> dict[str, Any]:
    """Apply a refused or held message again, with the mapping in use now."""
    result: Reprocessed = radflow.bus.handle(ReprocessMessage(actor=actor, message_id=message_id))
    return {"status": result.status.value, "error": result.error or None}


@router.post("/messages/{message_id}/dismiss")
def dismiss(message_id: str, body: DismissIn, radflow: App,
            actor: Annotated[Principal, requires(Action.HL7_MANAGE)]) -> dict[str, Any]:
    """Decide that a refused or held message is not to be applied."""
    status: MessageStatus = radflow.bus.handle(DismissMessage(actor=actor, message_id=message_id,
                                                              reason=body.reason))
    return {"status": status.value}


@router.get("/outbound")
def outbound(radflow: App, actor: Annotated[Principal, requires(Action.HL7_MONITOR)],
             state: Annotated[list[str] | None, Query()] = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Messages radflow sends: pending, running and dead by default (`state=done` for the sent ones)."""
    states = tuple(s for s in (_enum(JobState, value, "state") for value in state or ()) if s is not None)
    rows: list[OutboundRow] = radflow.bus.handle(ListOutbound(
        actor=actor, limit=limit, **({"states": states} if states else {})))
    return {"jobs": jsonable(rows)}


@router.post("/outbound/{job_id}/resend")
def resend(job_id: str, radflow: App, actor: Annotated[Principal, requires(Action.HL7_MANAGE)]) -> dict[str, Any]:
    """Send a dead outbound message again (same MSH-10, so the receiver can still deduplicate)."""
    state: JobState = radflow.bus.handle(ResendOutbound(actor=actor, job_id=job_id))
    return {"state": state.value}


@router.get("/mapping")
def read_mapping(radflow: App, actor: Annotated[Principal, requires(Action.HL7_MONITOR)]) -> dict[str, Any]:
    """The sender mapping in use (its text and its senders) and the earlier versions."""
    view: MappingView = radflow.bus.handle(ShowMapping(actor=actor))
    return {
        "version": view.current.id if view.current else None,
        "content": view.current.content if view.current else None,
        "senders": [{"name": s.name, "sending_application": s.sending_application,
                     "sending_facility": s.sending_facility, "mrn_authority": s.mrn.assigning_authority,
                     "procedures": len(s.procedures),
                     "outbound": f"{s.outbound.host}:{s.outbound.port}" if s.outbound else None}
                    for s in (view.parsed.senders if view.parsed else ())],
        "versions": [{"version": v.id, "loaded_at": v.loaded_at.isoformat(), "loaded_by": v.loaded_by,
                      "source": v.source} for v in view.versions],
    }


@router.put("/mapping")
def load_mapping(body: MappingIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.HL7_MAPPING_MANAGE)]) -> dict[str, Any]:
    """Replace the sender mapping: checked whole, refused (422, every problem with its line) if anything is wrong."""
    loaded: MappingLoaded = radflow.bus.handle(LoadMapping(actor=actor, content=body.content, source=body.source))
    return {"version": loaded.version, "senders": list(loaded.senders)}


@router.get("/status")
def interface_status(radflow: App, actor: Annotated[Principal, requires(Action.HL7_MONITOR)]) -> dict[str, Any]:
    """Messages per status, outbound jobs per state, the mapping version, and this process's listener."""
    overview: Overview = radflow.bus.handle(InterfaceOverview(actor=actor))
    return {"messages": {s.value: n for s, n in overview.messages.items()},
            "outbound": {s.value: n for s, n in overview.outbound.items()},
            "mapping_version": overview.mapping_version, "listener": listener_counters(radflow)}


def listener_counters(radflow: App) -> dict[str, Any] | None:
    """This process's MLLP listener (its port and counters), or None when it does not run here."""
    service = radflow.extras.get("mllp")
    if service is None:
        return None
    return {"port": service.port, **{name: int(value) for name, value in vars(service.listener.counters).items()}}
