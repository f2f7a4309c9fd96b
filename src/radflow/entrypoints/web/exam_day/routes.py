"""The exam day's screens: the desk's arrivals and check-in, the screening form (also the patient's link from
the appointment), the technologist's room worklist and exam page (pre-scan, interruptions, contrast, dose,
QC), the radiologist's screening review queue, and the MPPS exception queue.

Forms post to these routes; a refusal brings the same screen back with the service's message beside
the form (POST/redirect/GET otherwise).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.catalog.screening_loader import shipped_screening_rules
from radflow.domain.errors import RadflowError, ValidationError
from radflow.domain.policy import Action
from radflow.domain.screening import ItemType
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.navigation import NavItem
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services import screening as scr
from radflow.services.exam_day import checkin as ci
from radflow.services.exam_day import exam, performed_steps, room
from radflow.services.exam_day.rules import shipped_exam_day_rules
from radflow.services.scheduling.appointments import GetAppointment
from radflow.services.views import ListOrders, OrderFilter

router = APIRouter(route_class=ScreenRoute)

#: This area's menu entries (read by `web.areas.area_menu`).
MENU = (
    NavItem("Arrivals", "/exam-day/arrivals", (Action.ARRIVALS_READ, Action.CHECKIN)),
    NavItem("Room worklist", "/exam-day/worklist", (Action.MODALITY_WORKLIST, Action.EXAM_DOCUMENT)),
    NavItem("Screening review", "/exam-day/screening-review", (Action.SCREENING_REVIEW,)),
    NavItem("MPPS exceptions", "/exam-day/mpps-exceptions", (Action.MPPS_RECONCILE,)),
)

IDENTIFIER_KINDS = (("full_name", "Full name"), ("birth_date", "Birth date (YYYY-MM-DD)"), ("mrn", "MRN"),
                    ("phone", "Phone"), ("postal_code", "Postal code"))


def _day(radflow: ScreenApp, raw: str) -> date:
    try:
        return date.fromisoformat(raw) if raw else radflow.ctx.clock.now().astimezone(radflow.settings.zone).date()
    except ValueError:
        raise ValidationError(f"'{raw}' is not a date; use YYYY-MM-DD", field="day") from None


@router.get("/exam-day/arrivals")
def arrivals(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.ARRIVALS_READ)],
             day: str = "", site: str = "", room_id: str = "") -> Response:
    """Today's arrivals per site and room, with where check-in and screening stand."""
    chosen = _day(radflow, day)
    rows = radflow.bus.handle(ci.Arrivals(actor=actor, day=chosen, site_id=site, scanner_id=room_id))
    return render(request, actor, "exam_day/arrivals.html", rows=rows, day=chosen, site=site, room_id=room_id)


def _checkin(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, *,
             error: FormError | None = None, values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    view = radflow.bus.handle(ci.GetCheckIn(actor=actor, order_id=order_id))
    return render(request, actor, "exam_day/checkin.html", view=view, error=error, values=values or {},
                  kinds=IDENTIFIER_KINDS, status_code=status_code)


@router.get("/exam-day/orders/{order_id}/checkin")
def checkin_page(order_id: str, request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.CHECKIN)]) -> Response:
    """One arrival: identity, coverage, exam ordered vs booked, consents, payment, screening; check in."""
    return _checkin(request, radflow, actor, order_id)


@router.post("/exam-day/orders/{order_id}/checkin")
def checkin_post(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.CHECKIN)]) -> Response:
    """Keep what the desk confirmed; 'Check in' completes when nothing blocks it."""
    fields = FormFields(form)
    identifiers = {fields.text(f"kind{n}"): fields.text(f"value{n}") for n in (1, 2) if fields.text(f"kind{n}")}
    consents = tuple(ci.ConsentInput(kind=kind, method=fields.text(f"consent_{kind}"),
                                     signer_name=fields.text(f"signer_{kind}"), witness=fields.text(f"witness_{kind}"))
                     for kind in ("contrast", "sedation") if fields.text(f"consent_{kind}"))
    try:
        radflow.bus.handle(ci.RecordCheckIn(
            actor=actor, order_id=order_id, identifiers=identifiers, confirm_coverage=fields.flag("confirm_coverage"),
            consents=consents, payment_note=fields.optional("payment_note"),
            complete=fields.text("action") == "complete"))
    except FORM_ERRORS as refused:
        return _checkin(request, radflow, actor, order_id, error=FormError.of(refused), values=fields_values(fields),
                        status_code=status_for(refused))
    return see_other(f"/exam-day/orders/{order_id}/checkin")


def fields_values(fields: FormFields) -> dict[str, str]:
    """What the user typed, to show again with an error."""
    return {key: value for key, value in fields.form.items() if isinstance(value, str) and key != "csrf_token"}


@router.post("/exam-day/orders/{order_id}/checkin/resolve-mismatch")
def resolve_mismatch(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                     actor: Annotated[Principal, requires(Action.CHECKIN_RESOLVE_MISMATCH)]) -> Response:
    """Let a differing booked exam stand, saying how it was checked."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(ci.ResolveExamMismatch(actor=actor, order_id=order_id, note=fields.text("resolution")))
    except FORM_ERRORS as refused:
        return _checkin(request, radflow, actor, order_id, error=FormError.of(refused), values=fields_values(fields),
                        status_code=status_for(refused))
    return see_other(f"/exam-day/orders/{order_id}/checkin")


def _screening(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, *,
               error: FormError | None = None, status_code: int = 200) -> Response:
    view: scr.ScreeningView = radflow.bus.handle(scr.GetScreening(actor=actor, order_id=order_id))
    answers = view.record.current_answers() if view.record else {}
    return render(request, actor, "exam_day/screening.html", view=view, answers=answers, error=error,
                  decision=view.record.latest_decision if view.record else None, status_code=status_code)


@router.get("/exam-day/orders/{order_id}/screening")
def screening_page(order_id: str, request: Request, radflow: ScreenApp,
                   actor: Annotated[Principal, requires(Action.SCREENING_READ)]) -> Response:
    """The safety questions this exam calls for, the answers so far and the decision."""
    return _screening(request, radflow, actor, order_id)


@router.get("/exam-day/appointments/{appointment_id}/screening")
def screening_link(appointment_id: str, radflow: ScreenApp,
                   actor: Annotated[Principal, requires(Action.SCREENING_ANSWER)]) -> Response:
    """The link sent with the appointment: the screening form of its exam."""
    appointment = radflow.bus.handle(GetAppointment(actor=actor, appointment_id=appointment_id))
    return see_other(f"/exam-day/orders/{appointment.order_id}/screening")


def screening_answers(fields: FormFields) -> dict[str, Any]:
    """The answers a screening form posted (blank fields are not answers), typed by their items."""
    rules = shipped_screening_rules()
    answers: dict[str, Any] = {}
    for link_id, item in rules.items.items():
        raw = fields.text(f"a:{link_id}")
        if not raw:
            continue
        if item.type is ItemType.BOOLEAN:
            answers[link_id] = raw == "yes"
        elif item.type is ItemType.DECIMAL:
            try:
                numbers = [float(part) for part in raw.replace(",", " ").split()]
            except ValueError:
                raise ValidationError(f"{item.text}: write a number", field=f"answers.{link_id}") from None
            answers[link_id] = numbers if item.repeats else numbers[0]
        else:
            answers[link_id] = raw
    return answers


@router.post("/exam-day/orders/{order_id}/screening")
def screening_post(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                   actor: Annotated[Principal, requires(Action.SCREENING_ANSWER)]) -> Response:
    """Submit answers (the source follows who answers); the case is evaluated at once."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(scr.SubmitScreeningAnswers(actor=actor, order_id=order_id,
                                                      answers=screening_answers(fields)))
    except FORM_ERRORS as refused:
        return _screening(request, radflow, actor, order_id, error=FormError.of(refused),
                          status_code=status_for(refused))
    return see_other(f"/exam-day/orders/{order_id}/screening")


@router.get("/exam-day/worklist")
def room_worklist(request: Request, radflow: ScreenApp,
                  actor: Annotated[Principal, requires(Action.MODALITY_WORKLIST)], station: str = "",
                  day: str = "") -> Response:
    """A room's worklist for the day (what its scanner sees) and the studies waiting for QC."""
    chosen = _day(radflow, day)
    view = radflow.bus.handle(room.RoomDay(actor=actor, day=chosen, station_ae_title=station))
    return render(request, actor, "exam_day/worklist.html", view=view, station=station, day=chosen)


def _exam(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, *, error: FormError | None = None,
          form_name: str = "", status_code: int = 200) -> Response:
    view = radflow.bus.handle(room.GetStudy(actor=actor, order_id=order_id))
    return render(request, actor, "exam_day/exam.html", view=view, rules=shipped_exam_day_rules(), error=error,
                  form_name=form_name, status_code=status_code)


@router.get("/exam-day/orders/{order_id}/exam")
def exam_page(order_id: str, request: Request, radflow: ScreenApp,
              actor: Annotated[Principal, requires(Action.STUDY_READ)]) -> Response:
    """The exam at the scanner: pre-scan checklist, steps, interruptions, contrast, dose and QC."""
    return _exam(request, radflow, actor, order_id)


def _exam_command(name: str, order_id: str, actor: Principal, fields: FormFields) -> object:
    rules = shipped_exam_day_rules()
    match name:
        case "prescan":
            checks = {item.id: fields.flag(f"check_{item.id}") for item in rules.prescan_checklist}
            return exam.VerifyPrescan(actor=actor, order_id=order_id, note=fields.text("note"), checks=checks)
        case "start":
            return exam.StartExam(actor=actor, order_id=order_id)
        case "end":
            return exam.EndExam(actor=actor, order_id=order_id, completed=fields.text("completed") == "yes",
                                reason_code=fields.text("reason_code"), note=fields.text("note"))
        case "interrupt":
            return exam.RecordInterruption(actor=actor, order_id=order_id, reason_code=fields.text("reason_code"),
                                           note=fields.text("note"))
        case "resume":
            return exam.ResumeExam(actor=actor, order_id=order_id, note=fields.text("note"))
        case "contrast":
            return exam.RecordContrast(
                actor=actor, order_id=order_id, agent=fields.text("agent"), volume_ml=fields.text("volume_ml"),
                route=fields.text("route"), lot=fields.text("lot"), injection_site=fields.text("injection_site"),
                reaction=fields.text("reaction") or "none", reaction_description=fields.text("reaction_description"),
                extravasation=fields.flag("extravasation"),
                extravasation_volume_ml=fields.text("extravasation_volume_ml"), treatment=fields.text("treatment"))
        case "dose":
            return exam.RecordDose(actor=actor, order_id=order_id, ctdi_vol_mgy=fields.text("ctdi_vol_mgy"),
                                   dlp_mgy_cm=fields.text("dlp_mgy_cm"), phantom=fields.text("phantom"))
        case "qc":
            repeats = tuple(exam.RepeatInput(view=fields.text("repeat_view"), reason=fields.text("repeat_reason"),
                                             triggered_by_role=fields.text("repeat_by") or "technologist",
                                             reporting_delay_minutes=int(fields.text("repeat_delay") or 0),
                                             add_on=fields.flag("repeat_add_on"))
                            for _ in range(1) if fields.text("repeat_view"))
            return exam.ReviewQc(actor=actor, order_id=order_id, outcome=fields.text("outcome"),
                                 required_series_obtained=fields.flag("required_series_obtained"), repeats=repeats,
                                 note=fields.text("note"))
        case "return":
            return exam.ReturnIncompleteExam(actor=actor, order_id=order_id, note=fields.text("note"))
    raise ValidationError(f"unknown exam action '{name}'")


def _exam_post(name: str, order_id: str, request: Request, radflow: ScreenApp, form: Any,
               actor: Principal) -> Response:
    fields = FormFields(form)
    try:
        radflow.bus.handle(_exam_command(name, order_id, actor, fields))
    except (*FORM_ERRORS, ValueError) as refused:
        error = FormError.of(refused) if isinstance(refused, RadflowError) else FormError(str(refused))
        code = status_for(refused) if isinstance(refused, RadflowError) else 422
        return _exam(request, radflow, actor, order_id, error=error, form_name=name, status_code=code)
    return see_other(f"/exam-day/orders/{order_id}/exam#{name}")


@router.post("/exam-day/orders/{order_id}/exam/prescan")
def exam_prescan(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """Record the pre-scan verification (refused until screening is cleared and verified on site)."""
    return _exam_post("prescan", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/start")
def exam_start(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
               actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """Start the exam on a scanner that sends no MPPS."""
    return _exam_post("start", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/end")
def exam_end(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
             actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """End the open steps: completed, or discontinued with its reason."""
    return _exam_post("end", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/interrupt")
def exam_interrupt(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                   actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """Document an interruption and its reason."""
    return _exam_post("interrupt", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/resume")
def exam_resume(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """The interrupted exam goes on."""
    return _exam_post("resume", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/contrast")
def exam_contrast(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                  actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """Document contrast given, any reaction or extravasation and its treatment."""
    return _exam_post("contrast", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/dose")
def exam_dose(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
              actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> Response:
    """Document CT dose (CTDIvol, DLP)."""
    return _exam_post("dose", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/qc")
def exam_qc(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
            actor: Annotated[Principal, requires(Action.EXAM_QC)]) -> Response:
    """Technologist QC: passed (images confirmed in the PACS when configured), repeat, incomplete."""
    return _exam_post("qc", order_id, request, radflow, form, actor)


@router.post("/exam-day/orders/{order_id}/exam/return")
def exam_return(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                actor: Annotated[Principal, requires(Action.EXAM_RESCHEDULE)]) -> Response:
    """An incomplete exam back to scheduling after the re-checks."""
    return _exam_post("return", order_id, request, radflow, form, actor)


@router.get("/exam-day/screening-review")
def screening_review(request: Request, radflow: ScreenApp,
                     actor: Annotated[Principal, requires(Action.SCREENING_REVIEW)]) -> Response:
    """Held screenings for a radiologist: the decision, why, and a form to clear or contraindicate."""
    rows = radflow.bus.handle(scr.ScreeningQueue(actor=actor))
    return render(request, actor, "exam_day/review.html", rows=rows, error=None)


@router.post("/exam-day/orders/{order_id}/screening/review")
def screening_review_post(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                          actor: Annotated[Principal, requires(Action.SCREENING_REVIEW)]) -> Response:
    """Clear a held screening (the order's hold is released), or say the exam should not go ahead."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(scr.ReviewScreening(actor=actor, order_id=order_id, clear=fields.text("decision") == "clear",
                                               note=fields.text("note"), alternative=fields.text("alternative")))
    except FORM_ERRORS as refused:
        rows = radflow.bus.handle(scr.ScreeningQueue(actor=actor))
        return render(request, actor, "exam_day/review.html", rows=rows, error=FormError.of(refused),
                      status_code=status_for(refused))
    return see_other("/exam-day/screening-review")


@router.get("/exam-day/mpps-exceptions")
def mpps_exceptions(request: Request, radflow: ScreenApp,
                    actor: Annotated[Principal, requires(Action.MPPS_RECONCILE)], state: str = "open") -> Response:
    """Performed steps no order took: match each to its order, or dismiss it."""
    rows = radflow.bus.handle(performed_steps.ListMppsExceptions(actor=actor, state=state))
    return render(request, actor, "exam_day/mpps.html", rows=rows, state=state, error=None)


@router.post("/exam-day/mpps-exceptions/{exception_id}")
def mpps_exception_post(exception_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                        actor: Annotated[Principal, requires(Action.MPPS_RECONCILE)]) -> Response:
    """Reconcile a held step with the order of an accession number, or dismiss it (audited either way)."""
    fields = FormFields(form)
    try:
        if fields.text("action") == "dismiss":
            radflow.bus.handle(performed_steps.DismissMppsException(actor=actor, exception_id=exception_id,
                                                                    note=fields.text("note")))
        else:
            found = radflow.bus.handle(ListOrders(actor=actor, query=OrderFilter(
                accession_number=fields.text("accession_number"), limit=1)))
            if not found.rows:
                raise ValidationError(f"no order with accession {fields.text('accession_number') or '(none)'}",
                                      field="accession_number")
            radflow.bus.handle(performed_steps.ReconcileMppsException(
                actor=actor, exception_id=exception_id, order_id=found.rows[0].order_id, note=fields.text("note")))
    except FORM_ERRORS as refused:
        rows = radflow.bus.handle(performed_steps.ListMppsExceptions(actor=actor))
        return render(request, actor, "exam_day/mpps.html", rows=rows, state="open", error=FormError.of(refused),
                      status_code=status_for(refused))
    return see_other("/exam-day/mpps-exceptions")
