"""REST routes of patient messaging: a visit's messages, contact details and consent, replies, no-shows.

The messaging gateway posts inbound texts, reply emails and delivery reports here with an
integration token (`messaging.inbound`); nothing else may.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from radflow.adapters.notify.email_replies import read_email_reply
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import jsonable
from radflow.services.noshow import MarkNoShow, RefitNoShowModel, ReturnToScheduling
from radflow.services.preparation import RecordPatientResponse
from radflow.services.reminders.contacts import (
    ContactView,
    GetContactPreference,
    RevokeConsent,
    UpdateContactPreference,
)
from radflow.services.reminders.replies import HandleReply, RecordDeliveryReport
from radflow.services.reminders.views import GetReminderBoard, GetVisitMessages, VisitMessages

router = APIRouter(tags=["preparation, reminders and no-shows"])


class ContactPatch(BaseModel):
    """Changes to a patient's contact details and preferences (only the fields given)."""

    how: str = Field(description="how the patient told us: at the desk, by phone, on the portal")
    phone: str | None = None
    email: str | None = None
    channels: list[Literal["email", "sms", "voice", "letter"]] | None = None
    timezone: str | None = None
    earliest: time | None = None
    latest: time | None = None
    exam_name_in_texts: bool | None = None


class RevokeIn(BaseModel):
    """Channels the patient withdrew consent for, and how they said so."""

    channels: list[Literal["email", "sms", "voice", "letter"]]
    how: str


class ResponseIn(BaseModel):
    """A patient's answer about a visit, recorded by hand."""

    visit_date: date
    kind: Literal["confirmed", "preparation_received"]
    via: Literal["desk", "phone", "portal", "email", "sms"] = "desk"
    note: str = ""


class InboundTextIn(BaseModel):
    """A text a patient sent to the center's number, as the gateway posts it."""

    from_number: str = Field(alias="from")
    text: str
    reference: str = ""
    channel: Literal["sms", "voice"] = "sms"


class DeliveryReportIn(BaseModel):
    """A gateway's delivery report."""

    reference: str
    status: Literal["delivered", "failed"]
    detail: str = ""


class NoteIn(BaseModel):
    """A short note for the order's timeline."""

    note: str = ""


def contact_json(view: ContactView) -> dict[str, Any]:
    """A contact view as JSON (times as HH:MM)."""
    document: dict[str, Any] = jsonable(view)
    document["earliest"], document["latest"] = view.earliest.strftime("%H:%M"), view.latest.strftime("%H:%M")
    return document


def visit_messages_json(view: VisitMessages) -> dict[str, Any]:
    """A visit's messages as JSON."""
    return {
        "order_id": view.order_id, "patient_id": view.patient_id, "appointment_id": view.appointment_id,
        "appointment_state": view.appointment_state,
        "visit": None if view.visit is None else {"date": view.visit.day.isoformat(), "timezone": view.visit.timezone,
                                                  "appointments": jsonable(view.visit.exams)},
        "preparation": None if view.plan is None else jsonable(view.plan),
        "messages": jsonable(view.messages), "responses": jsonable(view.responses), "replies": jsonable(view.replies),
        "no_show_risk": view.risk, "reminder_intensity": view.intensity, "model": view.model_fitted_on,
    }


@router.get("/orders/{order_id}/messages")
def order_messages(order_id: str, radflow: App,
                   actor: Annotated[Principal, requires(Action.MESSAGES_READ)]) -> dict[str, Any]:
    """The preparation and reminders of the order's visit, each with its delivery status; the patient's answers."""
    return visit_messages_json(radflow.bus.handle(GetVisitMessages(actor=actor, order_id=order_id)))


@router.post("/orders/{order_id}/no-show")
def mark_no_show(order_id: str, body: NoteIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.NO_SHOW_MARK)]) -> dict[str, Any]:
    """The patient did not come: the order goes to the rescheduling queue (`no_show`)."""
    return {"order_id": order_id, "state": radflow.bus.handle(MarkNoShow(actor=actor, order_id=order_id,
                                                                         note=body.note))}


@router.post("/orders/{order_id}/return-to-scheduling")
def return_to_scheduling(order_id: str, body: NoteIn, radflow: App,
                         actor: Annotated[Principal, requires(Action.NO_SHOW_MARK)]) -> dict[str, Any]:
    """A missed order goes back to `ready_to_schedule` for a new slot."""
    return {"order_id": order_id, "state": radflow.bus.handle(ReturnToScheduling(actor=actor, order_id=order_id,
                                                                                 note=body.note))}


@router.get("/patients/{patient_id}/contact")
def read_contact(patient_id: str, radflow: App,
                 actor: Annotated[Principal, requires(Action.CONTACT_READ)]) -> dict[str, Any]:
    """A patient's contact details, channels, daytime window and consent history."""
    return contact_json(radflow.bus.handle(GetContactPreference(actor=actor, patient_id=patient_id)))


@router.patch("/patients/{patient_id}/contact")
def update_contact(patient_id: str, body: ContactPatch, radflow: App,
                   actor: Annotated[Principal, requires(Action.CONTACT_WRITE)]) -> dict[str, Any]:
    """Change contact details or preferences; a new number or address is consented as given by the patient."""
    fields = body.model_dump(exclude={"channels"})
    channels = tuple(body.channels) if body.channels is not None else None
    return contact_json(radflow.bus.handle(UpdateContactPreference(actor=actor, patient_id=patient_id,
                                                                   channels=channels, **fields)))


@router.post("/patients/{patient_id}/contact/revoke")
def revoke_contact(patient_id: str, body: RevokeIn, radflow: App,
                   actor: Annotated[Principal, requires(Action.CONTACT_WRITE)]) -> dict[str, Any]:
    """Withdraw consent for channels at once (a call to the desk, a letter); waiting messages are suppressed."""
    return contact_json(radflow.bus.handle(RevokeConsent(actor=actor, patient_id=patient_id,
                                                         channels=tuple(body.channels), how=body.how)))


@router.post("/patients/{patient_id}/responses", status_code=201)
def record_response(patient_id: str, body: ResponseIn, radflow: App,
                    actor: Annotated[Principal, requires(Action.PREPARATION_CONFIRM)]) -> dict[str, Any]:
    """Record that the patient confirmed the visit or received their preparation."""
    response_id = radflow.bus.handle(RecordPatientResponse(actor=actor, patient_id=patient_id, **body.model_dump()))
    return {"response_id": response_id}


@router.get("/reminders")
def reminder_board(radflow: App, actor: Annotated[Principal, requires(Action.REMINDER_BOARD)],
                   day: Annotated[date | None, Query(description="local day; today when omitted")] = None
                   ) -> dict[str, Any]:
    """Messages planned for a day: sent, held (night, caps), suppressed, failed."""
    board = radflow.bus.handle(GetReminderBoard(actor=actor, day=day))
    return {"day": board.day.isoformat(), "counts": board.counts, "messages": jsonable(board.lines)}


@router.post("/messaging/sms/inbound")
def inbound_text(body: InboundTextIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.MESSAGING_INBOUND)]) -> dict[str, Any]:
    """The gateway's webhook for a patient's text (or call-menu choice): STOP, C, X, START, HELP or free text."""
    outcome = radflow.bus.handle(HandleReply(actor=actor, channel=body.channel, from_address=body.from_number,
                                             text=body.text, gateway_reference=body.reference))
    return jsonable(outcome)  # type: ignore[no-any-return]


@router.post("/messaging/email/inbound")
def inbound_email(radflow: App, actor: Annotated[Principal, requires(Action.MESSAGING_INBOUND)],
                  raw: Annotated[bytes, Body(media_type="message/rfc822")]) -> dict[str, Any]:
    """A patient's reply email, as received (RFC 5322): the first words are read like a text."""
    reply = read_email_reply(raw)
    outcome = radflow.bus.handle(HandleReply(actor=actor, channel="email", from_address=reply.from_address,
                                             text=reply.text, gateway_reference=reply.message_id,
                                             in_reply_to=reply.in_reply_to))
    return jsonable(outcome)  # type: ignore[no-any-return]


@router.post("/messaging/delivery-reports")
def delivery_report(body: DeliveryReportIn, radflow: App,
                    actor: Annotated[Principal, requires(Action.MESSAGING_INBOUND)]) -> dict[str, Any]:
    """The gateway reports a message delivered or failed."""
    state = radflow.bus.handle(RecordDeliveryReport(actor=actor, reference=body.reference,
                                                    delivered=body.status == "delivered", detail=body.detail))
    return {"reference": body.reference, "state": state}


@router.post("/noshow/model/refit", status_code=202)
def refit_model(radflow: App, actor: Annotated[Principal, requires(Action.NO_SHOW_MODEL_MANAGE)]) -> dict[str, Any]:
    """Refit the no-show model on this center's history (a job; it then refits monthly)."""
    return {"job_key": radflow.bus.handle(RefitNoShowModel(actor=actor))}
