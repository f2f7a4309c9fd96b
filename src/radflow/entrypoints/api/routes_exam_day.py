"""REST routes of the day of the exam: arrivals and check-in, screening answers and review, the rooms'
worklists and stations, the technologist's documentation and QC, walk-ins, unidentified patients, and
the MPPS exception queue. Each route hands one command to the bus; the services check and audit.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import Strict, jsonable
from radflow.services import screening as scr
from radflow.services.exam_day import checkin as ci
from radflow.services.exam_day import exam, performed_steps, room, walk_in
from radflow.services.exam_day.checkin import CheckInView

router = APIRouter(tags=["exam day"])


class ConsentIn(Strict):
    """A consent given at the desk."""

    kind: str
    method: str
    signer_name: str = ""
    witness: str = ""


class CheckInIn(Strict):
    """What the desk confirmed; `complete` checks the patient in when nothing blocks it."""

    identifiers: dict[str, str] = Field(default_factory=dict)
    confirm_coverage: bool = False
    consents: list[ConsentIn] = Field(default_factory=list)
    payment_note: str | None = None
    complete: bool = False


class NoteIn(Strict):
    """A note (a reason, a resolution)."""

    note: str = Field(min_length=1, max_length=2000)


class ReasonIn(Strict):
    """A reason."""

    reason: str = Field(min_length=1, max_length=1000)


class AnswersIn(Strict):
    """Screening answers: item link id → value (FHIR answer types as JSON)."""

    answers: dict[str, Any]


class ReviewIn(Strict):
    """A radiologist's review of a held screening."""

    clear: bool
    note: str = Field(min_length=1, max_length=2000)
    alternative: str = ""


class StationIn(Strict):
    """A room's DICOM station settings."""

    station_ae_title: str
    worklist_on: str = "scheduled"
    station_name: str = ""
    location: str = ""


class PrescanIn(Strict):
    """The pre-scan checklist, each item confirmed or not."""

    checks: dict[str, bool]
    note: str = ""


class EndExamIn(Strict):
    """End the open steps."""

    completed: bool
    reason_code: str = ""
    note: str = ""


class InterruptionIn(Strict):
    """An interruption and its reason code."""

    reason_code: str
    note: str = ""


class ContrastIn(Strict):
    """Contrast given."""

    agent: str
    volume_ml: str
    route: str
    lot: str
    injection_site: str = ""
    reaction: str = "none"
    reaction_description: str = ""
    extravasation: bool = False
    extravasation_volume_ml: str = ""
    treatment: str = ""


class DoseIn(Strict):
    """CT dose indices."""

    ctdi_vol_mgy: str = ""
    dlp_mgy_cm: str = ""
    phantom: str = ""


class RepeatIn(Strict):
    """A repeat or add-on view."""

    view: str
    reason: str
    triggered_by_role: str = "technologist"
    reporting_delay_minutes: int = Field(default=0, ge=0, le=10_000)
    add_on: bool = False


class QcIn(Strict):
    """Technologist QC."""

    outcome: str
    required_series_obtained: bool = False
    repeats: list[RepeatIn] = Field(default_factory=list)
    note: str = ""


class WalkInIn(Strict):
    """The room an unbooked exam goes to now."""

    scanner_id: str
    note: str = ""


class UnidentifiedIn(Strict):
    """What is known of an unidentified patient."""

    sex: str = "U"
    approximate_age: int | None = Field(default=None, ge=0, le=120)
    note: str = ""


class ResolveIdentityIn(Strict):
    """The real record an unidentified patient turned out to be."""

    patient_id: str


class ReconcileIn(Strict):
    """The order a held MPPS performed."""

    order_id: str
    note: str = Field(min_length=1, max_length=2000)


def checkin_json(view: CheckInView) -> dict[str, Any]:
    """A check-in as the desk's client reads it."""
    return {
        "order_id": view.order.id, "accession_number": view.order.accession_number,
        "order_state": view.order.state.value, "patient": {"id": view.patient.id, "name": view.patient.display_name,
                                                           "mrn": view.patient.mrn},
        "appointment": jsonable({"id": view.appointment.id, "scanner_id": view.appointment.scanner_id,
                                 "start": view.appointment.start}) if view.appointment else None,
        "checkin": jsonable({"state": view.checkin.state, "identity": view.checkin.identity,
                             "coverage_confirmed_at": view.checkin.coverage_confirmed_at,
                             "consents": view.checkin.consents, "payment_note": view.checkin.payment_note,
                             "mismatch_resolution": view.checkin.mismatch_resolution}) if view.checkin else None,
        "ordered": jsonable(view.ordered), "scheduled": jsonable(view.scheduled),
        "mismatches": [m.describe() for m in view.mismatches], "consents_needed": sorted(view.consents_needed),
        "screening_state": view.screening.state.value if view.screening else None, "blockers": list(view.blockers),
    }


@router.get("/arrivals")
def list_arrivals(radflow: App, actor: Annotated[Principal, requires(Action.ARRIVALS_READ)], day: date | None = None,
                  site_id: str = "", scanner_id: str = "") -> dict[str, Any]:
    """A day's arrivals (today by default) per site and room, with check-in and screening state."""
    today = radflow.ctx.clock.now().astimezone(radflow.settings.zone).date()
    rows = radflow.bus.handle(ci.Arrivals(actor=actor, day=day or today, site_id=site_id, scanner_id=scanner_id))
    return {"arrivals": [{
        "order_id": r.order.id, "accession_number": r.order.accession_number, "protocol": r.order.protocol_code,
        "order_state": r.order.state.value, "patient": r.patient.display_name, "scanner": r.scanner_name,
        "start": r.appointment.start.isoformat(), "checkin": r.checkin_state, "screening": r.screening_state,
        "on_worklist": r.on_worklist} for r in rows]}


@router.get("/orders/{order_id}/checkin")
def read_checkin(order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.CHECKIN)]) -> dict[str, Any]:
    """An arrival's check-in: what is confirmed, what the exam needs, what still blocks it."""
    return checkin_json(radflow.bus.handle(ci.GetCheckIn(actor=actor, order_id=order_id)))


@router.post("/orders/{order_id}/checkin")
def record_checkin(order_id: str, body: CheckInIn, radflow: App,
                   actor: Annotated[Principal, requires(Action.CHECKIN)]) -> dict[str, Any]:
    """Keep what the desk confirmed; with `complete`, check in (422 naming every blocker otherwise)."""
    radflow.bus.handle(ci.RecordCheckIn(
        actor=actor, order_id=order_id, identifiers=body.identifiers, confirm_coverage=body.confirm_coverage,
        consents=tuple(ci.ConsentInput(**c.model_dump()) for c in body.consents), payment_note=body.payment_note,
        complete=body.complete))
    return checkin_json(radflow.bus.handle(ci.GetCheckIn(actor=actor, order_id=order_id)))


@router.post("/orders/{order_id}/checkin/resolve-mismatch")
def resolve_mismatch(order_id: str, body: NoteIn, radflow: App,
                     actor: Annotated[Principal, requires(Action.CHECKIN_RESOLVE_MISMATCH)]) -> dict[str, Any]:
    """Let a differing booked exam stand, with how it was checked."""
    return {"checkin_id": radflow.bus.handle(ci.ResolveExamMismatch(actor=actor, order_id=order_id, note=body.note))}


@router.post("/orders/{order_id}/patient-left")
def patient_left(order_id: str, body: ReasonIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.CHECKIN)]) -> dict[str, Any]:
    """A checked-in patient left before the exam."""
    return {"order_state": radflow.bus.handle(ci.PatientLeft(actor=actor, order_id=order_id, reason=body.reason))}


def _screening_json(outcome: scr.ScreeningOutcome) -> dict[str, Any]:
    return {"record_id": outcome.record_id, "state": outcome.state, "order_state": outcome.order_state,
            "decision": outcome.decision}


@router.get("/orders/{order_id}/screening")
def read_screening(order_id: str, radflow: App,
                   actor: Annotated[Principal, requires(Action.SCREENING_READ)]) -> dict[str, Any]:
    """The questionnaires this exam calls for, the answers given (who, how), decisions and reviews."""
    view: scr.ScreeningView = radflow.bus.handle(scr.GetScreening(actor=actor, order_id=order_id))
    record = view.record
    return {
        "order_id": view.order.id, "accession_number": view.order.accession_number,
        "questionnaires": [{"id": q.id, "title": q.title, "items": [
            {"link_id": i.link_id, "text": i.text, "type": i.type.value, "enabled": i.link_id in view.enabled_items,
             "options": [{"code": o.code, "display": o.display} for o in i.options]} for i in q.items]}
            for q in view.questionnaires],
        "state": record.state.value if record else "open",
        "answers": record.current_answers() if record else {},
        "decisions": record.decisions if record else [], "reviews": record.reviews if record else [],
    }


@router.post("/orders/{order_id}/screening/answers")
def submit_answers(order_id: str, body: AnswersIn, radflow: App,
                   actor: Annotated[Principal, requires(Action.SCREENING_ANSWER)]) -> dict[str, Any]:
    """Answer screening items (the source follows who answers); the case is evaluated at once."""
    return _screening_json(radflow.bus.handle(scr.SubmitScreeningAnswers(actor=actor, order_id=order_id,
                                                                         answers=body.answers)))


@router.post("/orders/{order_id}/screening/evaluate")
def evaluate_again(order_id: str, radflow: App,
                   actor: Annotated[Principal, requires(Action.SCREENING_ANSWER)]) -> dict[str, Any]:
    """Evaluate the stored answers again."""
    return _screening_json(radflow.bus.handle(scr.EvaluateScreening(actor=actor, order_id=order_id)))


@router.post("/orders/{order_id}/screening/review")
def review_screening(order_id: str, body: ReviewIn, radflow: App,
                     actor: Annotated[Principal, requires(Action.SCREENING_REVIEW)]) -> dict[str, Any]:
    """A radiologist clears a held screening (the order's hold is released) or contraindicates the exam."""
    return _screening_json(radflow.bus.handle(scr.ReviewScreening(actor=actor, order_id=order_id, **body.model_dump())))


@router.get("/screening/review-queue")
def review_queue(radflow: App, actor: Annotated[Principal, requires(Action.SCREENING_REVIEW)]) -> dict[str, Any]:
    """Held screenings waiting for a radiologist, oldest first."""
    rows: list[scr.QueuedScreening] = radflow.bus.handle(scr.ScreeningQueue(actor=actor))
    return {"held": [{"order_id": r.order.id, "accession_number": r.order.accession_number,
                      "protocol": r.order.protocol_code, "patient": r.patient.display_name,
                      "decision": r.record.latest_decision} for r in rows]}


@router.get("/worklist")
def room_worklist(radflow: App, actor: Annotated[Principal, requires(Action.MODALITY_WORKLIST)],
                  day: date | None = None, station: str = "") -> dict[str, Any]:
    """A room's worklist for a day (the items its scanner sees) and the studies waiting for QC."""
    today = radflow.ctx.clock.now().astimezone(radflow.settings.zone).date()
    view: room.RoomDayView = radflow.bus.handle(room.RoomDay(actor=actor, day=day or today, station_ae_title=station))
    return {"items": [{"accession_number": i.row.accession_number, "order_id": i.row.order_id,
                       "station": i.row.station_ae_title, "start": i.row.start.isoformat(),
                       "status": i.row.step_status, "patient": i.row.patient_name} for i in view.items],
            "awaiting_qc": [{"accession_number": i.row.accession_number, "order_id": i.row.order_id}
                            for i in view.awaiting_qc]}


@router.get("/stations")
def list_stations(radflow: App, actor: Annotated[Principal, requires(Action.MODALITY_WORKLIST)]) -> dict[str, Any]:
    """Every room's station AE title and worklist rule."""
    return {"stations": jsonable(radflow.bus.handle(room.ListStations(actor=actor)))}


@router.put("/stations/{scanner_id}")
def save_station(scanner_id: str, body: StationIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.STATION_MANAGE)]) -> dict[str, Any]:
    """Set a room's station AE title and when its exams appear on its worklist."""
    return {"scanner_id": radflow.bus.handle(room.SaveStation(actor=actor, scanner_id=scanner_id,
                                                              **body.model_dump()))}


@router.get("/orders/{order_id}/study")
def read_study(order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.STUDY_READ)]) -> dict[str, Any]:
    """What was performed: steps, contrast, dose, verification, interruptions, QC."""
    view: room.StudyView = radflow.bus.handle(room.GetStudy(actor=actor, order_id=order_id))
    study = view.study
    return {"order_id": view.order.id, "accession_number": view.order.accession_number,
            "order_state": view.order.state.value,
            "study": None if study is None else {
                "state": study.state.value, "study_instance_uid": study.study_instance_uid,
                "performed_steps": study.performed_steps, "contrast_given": study.contrast_given, "doses": study.doses,
                "prescan": study.prescan, "interruptions": study.interruptions, "qc_reviews": study.qc_reviews,
                "reporting_delay_minutes": study.reporting_delay_minutes}}


def _exam(radflow: App, command: object) -> dict[str, Any]:
    return {"result": jsonable(radflow.bus.handle(command))}


@router.post("/orders/{order_id}/exam/prescan")
def prescan(order_id: str, body: PrescanIn, radflow: App,
            actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """Record the pre-scan verification (refused until screening is cleared and verified on site)."""
    return _exam(radflow, exam.VerifyPrescan(actor=actor, order_id=order_id, checks=body.checks, note=body.note))


@router.post("/orders/{order_id}/exam/start")
def start(order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """Start the exam on a scanner that sends no MPPS."""
    return _exam(radflow, exam.StartExam(actor=actor, order_id=order_id))


@router.post("/orders/{order_id}/exam/end")
def end(order_id: str, body: EndExamIn, radflow: App,
        actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """End the open steps: completed, or discontinued with a coded reason."""
    return _exam(radflow, exam.EndExam(actor=actor, order_id=order_id, **body.model_dump()))


@router.post("/orders/{order_id}/exam/interruptions")
def interrupt(order_id: str, body: InterruptionIn, radflow: App,
              actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """Document an interruption and its reason."""
    return _exam(radflow, exam.RecordInterruption(actor=actor, order_id=order_id, **body.model_dump()))


@router.post("/orders/{order_id}/exam/resume")
def resume(order_id: str, body: NoteIn, radflow: App,
           actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """The interrupted exam goes on."""
    return _exam(radflow, exam.ResumeExam(actor=actor, order_id=order_id, note=body.note))


@router.post("/orders/{order_id}/exam/contrast")
def contrast(order_id: str, body: ContrastIn, radflow: App,
             actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """Document the contrast given and any reaction or extravasation with its treatment."""
    return _exam(radflow, exam.RecordContrast(actor=actor, order_id=order_id, **body.model_dump()))


@router.post("/orders/{order_id}/exam/dose")
def dose(order_id: str, body: DoseIn, radflow: App,
         actor: Annotated[Principal, requires(Action.EXAM_DOCUMENT)]) -> dict[str, Any]:
    """Document CT dose (CTDIvol, DLP)."""
    return _exam(radflow, exam.RecordDose(actor=actor, order_id=order_id, **body.model_dump()))


@router.post("/orders/{order_id}/exam/qc")
def qc(order_id: str, body: QcIn, radflow: App,
       actor: Annotated[Principal, requires(Action.EXAM_QC)]) -> dict[str, Any]:
    """Technologist QC: passed (images confirmed in the PACS when configured), repeat, or incomplete."""
    return _exam(radflow, exam.ReviewQc(
        actor=actor, order_id=order_id, outcome=body.outcome, required_series_obtained=body.required_series_obtained,
        repeats=tuple(exam.RepeatInput(**r.model_dump()) for r in body.repeats), note=body.note))


@router.post("/orders/{order_id}/exam/return-to-scheduling")
def return_incomplete(order_id: str, body: NoteIn, radflow: App,
                      actor: Annotated[Principal, requires(Action.EXAM_RESCHEDULE)]) -> dict[str, Any]:
    """An incomplete exam back to scheduling after the coverage, authorization and preparation re-checks."""
    return _exam(radflow, exam.ReturnIncompleteExam(actor=actor, order_id=order_id, note=body.note))


@router.post("/orders/{order_id}/walk-in")
def add_walk_in(order_id: str, body: WalkInIn, radflow: App,
                actor: Annotated[Principal, requires(Action.WALK_IN)]) -> dict[str, Any]:
    """Put an order without appointment onto a room's worklist now."""
    return _exam(radflow, walk_in.AddToTodaysWorklist(actor=actor, order_id=order_id, **body.model_dump()))


@router.post("/patients/unidentified")
def register_unidentified(body: UnidentifiedIn, radflow: App,
                          actor: Annotated[Principal, requires(Action.TRAUMA_REGISTER)]) -> dict[str, Any]:
    """A temporary identity for a patient who cannot be identified yet."""
    return {"patient_id": radflow.bus.handle(walk_in.RegisterUnidentifiedPatient(actor=actor, **body.model_dump()))}


@router.post("/patients/{patient_id}/resolve-identity")
def resolve_identity(patient_id: str, body: ResolveIdentityIn, radflow: App,
                     actor: Annotated[Principal, requires(Action.PATIENT_MERGE)]) -> dict[str, Any]:
    """Merge a temporary record into the real patient's (every system is told)."""
    return {"patient_id": radflow.bus.handle(walk_in.ResolveTemporaryIdentity(
        actor=actor, temporary_patient_id=patient_id, patient_id=body.patient_id))}


@router.get("/mpps/exceptions")
def mpps_exceptions(radflow: App, actor: Annotated[Principal, requires(Action.MPPS_RECONCILE)],
                    state: Annotated[str, Query(pattern="^(open|reconciled|dismissed)$")] = "open") -> dict[str, Any]:
    """Performed steps no order took, waiting to be matched or dismissed."""
    return {"exceptions": jsonable(radflow.bus.handle(performed_steps.ListMppsExceptions(actor=actor, state=state)))}


@router.post("/mpps/exceptions/{exception_id}/reconcile")
def reconcile(exception_id: str, body: ReconcileIn, radflow: App,
              actor: Annotated[Principal, requires(Action.MPPS_RECONCILE)]) -> dict[str, Any]:
    """Match a held step to the order it performed; its statuses are applied."""
    return {"order_state": radflow.bus.handle(performed_steps.ReconcileMppsException(
        actor=actor, exception_id=exception_id, order_id=body.order_id, note=body.note))}


@router.post("/mpps/exceptions/{exception_id}/dismiss")
def dismiss(exception_id: str, body: NoteIn, radflow: App,
            actor: Annotated[Principal, requires(Action.MPPS_RECONCILE)]) -> dict[str, Any]:
    """Close a held step that matches no exam."""
    return {"state": radflow.bus.handle(performed_steps.DismissMppsException(
        actor=actor, exception_id=exception_id, note=body.note))}
