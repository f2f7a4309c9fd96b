"""Reminder screens: the day's messages and the rescheduling queue, a visit's messages with their status,
a patient's contact details and consent.

Forms post to these routes; a refusal brings the same screen back with the service's message.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.domain.errors import RadflowError, ValidationError
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.navigation import NavItem
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import SCREEN_HEADERS, render, see_other
from radflow.services.noshow import MarkNoShow, ReturnToScheduling
from radflow.services.preparation import RecordPatientResponse
from radflow.services.reminders.contacts import GetContactPreference, RevokeConsent, UpdateContactPreference
from radflow.services.reminders.views import GetReminderBoard, GetVisitMessages, PrintVisitLetter
from radflow.services.views import ListOrders, OrderFilter

router = APIRouter(route_class=ScreenRoute)

#: This area's menu entry (read by `web.areas.area_menu`).
MENU = (NavItem("Reminders", "/reminders", (Action.REMINDER_BOARD,)),)

CHANNELS = (("sms", "Text message"), ("email", "Email"), ("voice", "Automated call"), ("letter", "Letter"))


@router.get("/reminders")
def reminder_board(request: Request, radflow: ScreenApp,
                   actor: Annotated[Principal, requires(Action.REMINDER_BOARD)], day: str = "") -> Response:
    """The day's messages (sent, held for the morning or the caps, suppressed, failed) and the missed visits."""
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        raise ValidationError(f"'{day}' is not a date; use YYYY-MM-DD", field="day") from None
    board = radflow.bus.handle(GetReminderBoard(actor=actor, day=chosen))
    missed = radflow.bus.handle(ListOrders(actor=actor, query=OrderFilter(states=("no_show",), limit=200)))
    return render(request, actor, "reminders/board.html", board=board, missed=missed.rows)


def _visit(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, *, error: FormError | None = None,
           status_code: int = 200) -> Response:
    view = radflow.bus.handle(GetVisitMessages(actor=actor, order_id=order_id))
    return render(request, actor, "reminders/visit.html", view=view, error=error, status_code=status_code)


@router.get("/orders/{order_id}/messages")
def visit_messages(order_id: str, request: Request, radflow: ScreenApp,
                   actor: Annotated[Principal, requires(Action.MESSAGES_READ)]) -> Response:
    """A visit's preparation and reminders, each with its delivery status and history; the patient's answers."""
    return _visit(request, radflow, actor, order_id)


@router.get("/orders/{order_id}/messages/letter.pdf")
def visit_letter(order_id: str, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.MESSAGES_READ)]) -> Response:
    """The printable preparation letter of the booked visit."""
    pdf = radflow.bus.handle(PrintVisitLetter(actor=actor, order_id=order_id))
    return Response(pdf, media_type="application/pdf", headers={
        **SCREEN_HEADERS, "Content-Disposition": 'inline; filename="appointment-letter.pdf"'})


def _refused(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, refused: RadflowError) -> Response:
    return _visit(request, radflow, actor, order_id, error=FormError.of(refused), status_code=status_for(refused))


@router.post("/orders/{order_id}/messages/response")
def record_response(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                    actor: Annotated[Principal, requires(Action.PREPARATION_CONFIRM)]) -> Response:
    """The patient confirmed, or said the preparation reached them (by phone, at the desk)."""
    fields = FormFields(form)
    try:
        view = radflow.bus.handle(GetVisitMessages(actor=actor, order_id=order_id))
        if view.visit is None:
            raise ValidationError("the visit is no longer booked", field="kind")
        radflow.bus.handle(RecordPatientResponse(actor=actor, patient_id=view.patient_id, visit_date=view.visit.day,
                                                 kind=fields.text("kind"), via=fields.text("via") or "desk",
                                                 note=fields.text("note")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, refused)
    return see_other(f"/orders/{order_id}/messages#answers")


@router.post("/orders/{order_id}/no-show")
def mark_no_show(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.NO_SHOW_MARK)]) -> Response:
    """The patient did not come: the order goes to the rescheduling queue."""
    try:
        radflow.bus.handle(MarkNoShow(actor=actor, order_id=order_id, note=FormFields(form).text("note")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, refused)
    return see_other("/reminders#missed")


@router.post("/orders/{order_id}/return-to-scheduling")
def return_to_scheduling(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                         actor: Annotated[Principal, requires(Action.NO_SHOW_MARK)]) -> Response:
    """A missed order goes back to the scheduling queue for a new slot."""
    try:
        radflow.bus.handle(ReturnToScheduling(actor=actor, order_id=order_id, note=FormFields(form).text("note")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, refused)
    return see_other(f"/orders/{order_id}")


def _contact(request: Request, radflow: ScreenApp, actor: Principal, patient_id: str, *,
             error: FormError | None = None, status_code: int = 200) -> Response:
    view = radflow.bus.handle(GetContactPreference(actor=actor, patient_id=patient_id))
    return render(request, actor, "reminders/contact.html", view=view, channels=CHANNELS, error=error,
                  status_code=status_code)


@router.get("/patients/{patient_id}/contact")
def contact(patient_id: str, request: Request, radflow: ScreenApp,
            actor: Annotated[Principal, requires(Action.CONTACT_READ)]) -> Response:
    """Contact details, channels in order of preference, the daytime window and every consent given or withdrawn."""
    return _contact(request, radflow, actor, patient_id)


def _time(fields: FormFields, name: str) -> time | None:
    raw = fields.text(name)
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"'{raw}' is not a time like 08:00", field=name) from None


@router.post("/patients/{patient_id}/contact")
def update_contact(patient_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                   actor: Annotated[Principal, requires(Action.CONTACT_WRITE)]) -> Response:
    """Save contact details and preferences."""
    fields = FormFields(form)
    try:
        order = [c for c in fields.text("channels").replace(",", " ").split() if c]
        radflow.bus.handle(UpdateContactPreference(
            actor=actor, patient_id=patient_id, how=fields.text("how"), phone=fields.optional("phone"),
            email=fields.optional("email"), channels=tuple(order) if order else None,
            timezone=fields.optional("timezone"), earliest=_time(fields, "earliest"), latest=_time(fields, "latest"),
            exam_name_in_texts=fields.flag("exam_name_in_texts")))
    except FORM_ERRORS as refused:
        return _contact(request, radflow, actor, patient_id, error=FormError.of(refused),
                        status_code=status_for(refused))
    return see_other(f"/patients/{patient_id}/contact")


@router.post("/patients/{patient_id}/contact/revoke")
def revoke(patient_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
           actor: Annotated[Principal, requires(Action.CONTACT_WRITE)]) -> Response:
    """Withdraw consent now (the patient called, wrote, or said so at the desk)."""
    fields = FormFields(form)
    channels = tuple(value for key, value in form.multi_items() if key == "channel" and isinstance(value, str))
    try:
        radflow.bus.handle(RevokeConsent(actor=actor, patient_id=patient_id, channels=channels,
                                         how=fields.text("how")))
    except FORM_ERRORS as refused:
        return _contact(request, radflow, actor, patient_id, error=FormError.of(refused),
                        status_code=status_for(refused))
    return see_other(f"/patients/{patient_id}/contact")
