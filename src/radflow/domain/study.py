"""Study: what happened at the scanner for one order (one accession, one Study Instance UID).

A study collects the performed procedure steps the scanner reported (MPPS, IHE RAD-6/7) or the
technologist recorded, the contrast given and any reaction, the CT dose, the pre-scan verification,
interruptions, and technologist QC with repeats and add-on views. Its own state machine is one
table (`TRANSITIONS`); the order's lifecycle stays the pipeline's truth and is moved by the services
in the same unit of work.

An acquisition ends when every performed step is final (COMPLETED or DISCONTINUED, PS3.4 F.7.2.2):
completed when at least one step COMPLETED, discontinued when none did (DESIGN §1, in_progress).
Values kept on the study are JSON-shaped lists of records, so the study maps onto one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Protocol

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import Conflict, InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.lifecycle import OrderState


class StudyState(StrEnum):
    """Where the acquisition of a study stands."""

    PENDING = "pending"  # booked or on today's worklist; nothing performed yet
    ACQUIRING = "acquiring"  # a step is in progress (or a repeat was asked for)
    ACQUIRED = "acquired"  # every step final, one completed: technologist QC to do
    QC_PASSED = "qc_passed"  # images checked (and found in the PACS): ready for reading
    INCOMPLETE = "incomplete"  # discontinued, or QC found it cannot be completed


class StudyEvent(StrEnum):
    """What happens to a study."""

    STEP_STARTED = "step_started"
    ACQUISITION_COMPLETED = "acquisition_completed"
    ACQUISITION_DISCONTINUED = "acquisition_discontinued"
    QC_PASSED = "qc_passed"
    REPEAT_REQUESTED = "repeat_requested"
    QC_FAILED = "qc_failed"
    RETURNED_TO_SCHEDULING = "returned_to_scheduling"


S = StudyState
E = StudyEvent

TRANSITIONS: Final[Mapping[tuple[StudyState, StudyEvent], StudyState]] = {
    (S.PENDING, E.STEP_STARTED): S.ACQUIRING,
    (S.ACQUIRING, E.STEP_STARTED): S.ACQUIRING,  # several MPPS for one study (e.g. two series groups)
    (S.ACQUIRING, E.ACQUISITION_COMPLETED): S.ACQUIRED,
    (S.ACQUIRING, E.ACQUISITION_DISCONTINUED): S.INCOMPLETE,
    (S.ACQUIRED, E.QC_PASSED): S.QC_PASSED,
    (S.ACQUIRED, E.REPEAT_REQUESTED): S.ACQUIRING,
    (S.ACQUIRED, E.QC_FAILED): S.INCOMPLETE,
    (S.INCOMPLETE, E.RETURNED_TO_SCHEDULING): S.PENDING,
}


def next_study_state(state: StudyState, event: StudyEvent) -> StudyState:
    """The state `event` leads to from `state`, or InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="study")
    return target


class WorklistTrigger(StrEnum):
    """When a room's exams appear on its modality worklist (issue 5: configurable per room)."""

    SCHEDULED = "scheduled"
    CHECK_IN = "check_in"


def worklist_step_status(order_state: OrderState, trigger: WorklistTrigger) -> str | None:
    """The Scheduled Procedure Step Status an order shows on its room's worklist, or None when it is not there.

    Items appear when the exam is scheduled (or at check-in, per room) and leave once it is completed,
    cancelled, missed or held (DESIGN §1; PS3.3 C.4.10 step status SCHEDULED, ARRIVED, STARTED). A held
    exam leaves the worklist so that the scanner cannot start it.
    """
    if order_state is OrderState.SCHEDULED:
        return "SCHEDULED" if trigger is WorklistTrigger.SCHEDULED else None
    if order_state is OrderState.CHECKED_IN:
        return "ARRIVED"
    if order_state is OrderState.IN_PROGRESS:
        return "STARTED"  # kept while scanning: a repeat or a second series group is picked from it
    return None


class StepStatus(StrEnum):
    """A performed step's status, as DICOM names it (PS3.3 C.4.14, Performed Procedure Step Status)."""

    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"

    @property
    def is_final(self) -> bool:
        """COMPLETED and DISCONTINUED allow no further change (PS3.4 F.7.2.2)."""
        return self is not StepStatus.IN_PROGRESS


class ReactionSeverity(StrEnum):
    """Acute contrast reaction severity as the ACR Manual on Contrast Media grades it."""

    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class QcOutcome(StrEnum):
    """The technologist's verdict after acquisition."""

    PASSED = "passed"
    REPEAT = "repeat"
    INCOMPLETE = "incomplete"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _json(record: Any) -> dict[str, Any]:
    """A record as JSON-safe values (datetimes ISO 8601, decimals as text)."""
    out: dict[str, Any] = {}
    for key, value in asdict(record).items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, StrEnum):
            out[key] = value.value
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class PerformedStepRecord:
    """One performed procedure step: from the scanner's MPPS, or recorded by the technologist."""

    uid: str  # the MPPS SOP Instance UID, or radflow's id for a step recorded by hand
    status: StepStatus
    source: str  # "mpps" or "technologist"
    station_ae_title: str = ""
    modality: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    discontinuation_reason: str = ""
    series_count: int = 0
    image_count: int = 0
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as stored on the study."""
        return _json(self)


@dataclass(frozen=True)
class ContrastAdministration:
    """Contrast given: agent, dose, lot, route, and any reaction or extravasation with its treatment."""

    agent: str
    volume_ml: Decimal
    route: str
    given_at: datetime
    given_by: str
    lot: str = ""
    injection_site: str = ""
    reaction: ReactionSeverity = ReactionSeverity.NONE
    reaction_description: str = ""
    extravasation: bool = False
    extravasation_volume_ml: Decimal | None = None
    treatment: str = ""
    source: str = "technologist"

    def __post_init__(self) -> None:
        if not self.agent.strip():
            raise ValidationError("name the contrast agent given", field="agent")
        if not (Decimal(0) < self.volume_ml <= Decimal(500)):
            raise ValidationError("contrast volume is a number of mL between 0 and 500", field="volume_ml")
        if not self.route.strip():
            raise ValidationError("say how the contrast was given (route)", field="route")
        adverse = self.reaction is not ReactionSeverity.NONE or self.extravasation
        if self.reaction is not ReactionSeverity.NONE and not self.reaction_description.strip():
            raise ValidationError("describe the reaction (signs, timing)", field="reaction_description")
        # ACR Manual on Contrast Media: every reaction and extravasation is documented with its management.
        if adverse and not self.treatment.strip():
            raise ValidationError("record the treatment given (or 'observation only')", field="treatment")
        if self.source == "technologist" and not self.lot.strip():
            raise ValidationError("record the contrast lot number (needed to trace a reaction)", field="lot")

    @property
    def is_adverse(self) -> bool:
        """A reaction or an extravasation happened."""
        return self.reaction is not ReactionSeverity.NONE or self.extravasation


@dataclass(frozen=True)
class DoseRecord:
    """CT radiation dose indices for the study (CTDIvol in mGy, DLP in mGy·cm)."""

    ctdi_vol_mgy: Decimal | None
    dlp_mgy_cm: Decimal | None
    recorded_at: datetime
    recorded_by: str
    source: str = "technologist"  # "technologist", or "mpps" when the scanner reported it
    phantom: str = ""  # the CTDI phantom: "16 cm head" or "32 cm body"

    def __post_init__(self) -> None:
        if self.ctdi_vol_mgy is None and self.dlp_mgy_cm is None:
            raise ValidationError("give CTDIvol, DLP or both", field="ctdi_vol_mgy")
        for name, value in (("ctdi_vol_mgy", self.ctdi_vol_mgy), ("dlp_mgy_cm", self.dlp_mgy_cm)):
            if value is not None and not (Decimal(0) <= value < Decimal(100_000)):
                raise ValidationError(f"{name} must be a non-negative number", field=name)


@dataclass(frozen=True)
class RepeatView:
    """A repeat or add-on acquisition, who asked for it, and what it costs the reading."""

    view: str
    reason: str
    triggered_by: str  # user id
    triggered_by_role: str  # technologist, radiologist, ...
    reporting_delay_minutes: int = 0
    add_on: bool = False  # an extra view rather than a repeat of a failed one

    def __post_init__(self) -> None:
        if not self.view.strip() or not self.reason.strip():
            raise ValidationError("a repeat or add-on names the view and why it is needed", field="view")
        if self.reporting_delay_minutes < 0:
            raise ValidationError("the delay to reporting cannot be negative", field="reporting_delay_minutes")


class ImageAvailability(Protocol):
    """The port to the PACS: have a study's images arrived? (DICOM Study Root C-FIND, PS3.4 C.6.2)."""

    def images_available(self, accession_number: str) -> bool:
        """True when the PACS holds at least one instance of the accession's study."""
        ...


@dataclass(frozen=True, kw_only=True)
class StudyAcquisitionEnded(DomainEvent):
    """Every performed step of a study is final: completed (QC next) or discontinued."""

    study_id: str
    order_id: str
    completed: bool
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ContrastReactionRecorded(DomainEvent):
    """A contrast reaction or extravasation was documented (the patient's screening history must learn it)."""

    study_id: str
    order_id: str
    patient_id: str
    agent: str
    severity: str
    extravasation: bool


@dataclass(eq=False)
class Study(Aggregate):
    """The exam as performed: steps, contrast, dose, verification, interruptions and QC."""

    id: str
    order_id: str
    patient_id: str
    accession_number: str
    study_instance_uid: str
    modality: str
    state: StudyState
    created_at: datetime
    scheduled_exam: dict[str, Any] = field(default_factory=dict)  # the exam as booked (for check-in)
    walk_in: dict[str, Any] = field(default_factory=dict)  # station and start of an unbooked exam
    performed_steps: list[dict[str, Any]] = field(default_factory=list)
    contrast_given: list[dict[str, Any]] = field(default_factory=list)
    doses: list[dict[str, Any]] = field(default_factory=list)
    prescan: list[dict[str, Any]] = field(default_factory=list)
    interruptions: list[dict[str, Any]] = field(default_factory=list)
    qc_reviews: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1
    log: list[dict[str, Any]] = field(default_factory=list)

    # -- the state machine ---------------------------------------------------------------------

    def _apply(self, event: StudyEvent, *, by: str, at: datetime, note: str = "") -> None:
        target = next_study_state(self.state, event)
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": self.state.value,
                                "to": target.value, "note": note}]
        self.state = target

    # -- performed steps -----------------------------------------------------------------------

    def steps(self) -> list[PerformedStepRecord]:
        """The performed steps, oldest first."""
        return [_step(raw) for raw in self.performed_steps]

    def step(self, uid: str) -> PerformedStepRecord | None:
        """The performed step with this UID, if recorded."""
        return next((s for s in self.steps() if s.uid == uid), None)

    def start_step(self, step: PerformedStepRecord, *, by: str, at: datetime) -> bool:
        """A step began (MPPS N-CREATE); False when this step was already recorded (a resend)."""
        if step.status is not StepStatus.IN_PROGRESS:
            raise ValidationError("a performed step starts IN PROGRESS (PS3.4 F.7.2.1)", field="status")
        if self.step(step.uid) is not None:
            return False
        self._apply(E.STEP_STARTED, by=by, at=at, note=step.uid)
        self.performed_steps = [*self.performed_steps, step.to_json()]
        return True

    def update_step(self, step: PerformedStepRecord, *, by: str, at: datetime) -> StudyEvent | None:
        """A step was updated or ended (MPPS N-SET); returns the acquisition's end when this ended it.

        A resend of the same final status changes nothing and returns None; a final step cannot
        change again (PS3.4 F.7.2.2: it may no longer be updated).
        """
        current = self.step(step.uid)
        if current is None:
            raise Conflict(f"study {self.accession_number} has no performed step {step.uid}")
        if current.status.is_final:
            if current.status is step.status:
                return None
            raise Conflict(f"performed step {step.uid} is {current.status.value} and may no longer be updated")
        self.performed_steps = [step.to_json() if raw["uid"] == step.uid else raw for raw in self.performed_steps]
        return self._end_if_final(by=by, at=at)

    def _end_if_final(self, *, by: str, at: datetime) -> StudyEvent | None:
        steps = self.steps()
        if self.state is not S.ACQUIRING or not steps or not all(s.status.is_final for s in steps):
            return None
        # DESIGN §1 / issue 5: an order completes when all its MPPS are final and one is COMPLETED.
        completed = any(s.status is StepStatus.COMPLETED for s in steps)
        event = E.ACQUISITION_COMPLETED if completed else E.ACQUISITION_DISCONTINUED
        reason = "" if completed else self.discontinuation_reason()
        self._apply(event, by=by, at=at, note=reason)
        self.record(StudyAcquisitionEnded(at=at, by=by, study_id=self.id, order_id=self.order_id,
                                          completed=completed, reason=reason))
        return event

    def discontinuation_reason(self) -> str:
        """The reasons the discontinued steps gave, or a plain statement when none did."""
        reasons = [s.discontinuation_reason for s in self.steps()
                   if s.status is StepStatus.DISCONTINUED and s.discontinuation_reason]
        return "; ".join(dict.fromkeys(reasons)) or "discontinued at the modality (no reason given)"

    @property
    def has_open_step(self) -> bool:
        """A step is still in progress."""
        return any(not s.status.is_final for s in self.steps())

    # -- documentation at the scanner -------------------------------------------------------------

    def verify_prescan(self, checks: Mapping[str, bool], required: tuple[str, ...], *, by: str, at: datetime,
                       note: str = "") -> None:
        """Record the pre-scan verification; every required check must be confirmed."""
        missing = [name for name in required if not checks.get(name)]
        if missing:
            raise ValidationError(f"confirm before scanning: {', '.join(missing)}", field=missing[0])
        self.prescan = [*self.prescan, {"checks": dict(checks), "by": by, "at": at.isoformat(), "note": note.strip()}]

    @property
    def prescan_verified(self) -> bool:
        """The pre-scan verification was recorded."""
        return bool(self.prescan)

    def interrupt(self, reason: str, *, note: str, by: str, at: datetime) -> None:
        """Document an interruption of the exam and its reason."""
        if any(i["ended_at"] is None for i in self.interruptions):
            raise Conflict("the exam is already interrupted: record the resumption first")
        if not reason.strip():
            raise ValidationError("say why the exam was interrupted", field="reason")
        self.interruptions = [*self.interruptions, {"reason": reason.strip(), "note": note.strip(), "by": by,
                                                    "started_at": at.isoformat(), "ended_at": None}]

    def resume(self, *, by: str, at: datetime, note: str = "") -> None:
        """The interrupted exam goes on."""
        open_ones = [i for i in self.interruptions if i["ended_at"] is None]
        if not open_ones:
            raise Conflict("the exam is not interrupted")
        self.interruptions = [
            {**i, "ended_at": at.isoformat(), "resumed_by": by, "resume_note": note.strip()}
            if i["ended_at"] is None else i
            for i in self.interruptions
        ]

    def give_contrast(self, given: ContrastAdministration) -> None:
        """Document contrast given (and any reaction or extravasation)."""
        self.contrast_given = [*self.contrast_given, _json(given)]
        if given.is_adverse:
            self.record(ContrastReactionRecorded(
                at=given.given_at, by=given.given_by, study_id=self.id, order_id=self.order_id,
                patient_id=self.patient_id, agent=given.agent, severity=given.reaction.value,
                extravasation=given.extravasation))

    def record_dose(self, dose: DoseRecord) -> None:
        """Document CT dose indices (CTDIvol, DLP)."""
        self.doses = [*self.doses, _json(dose)]

    # -- QC ----------------------------------------------------------------------------------------

    def review_qc(self, outcome: QcOutcome, *, by: str, at: datetime, required_series_obtained: bool,
                  repeats: tuple[RepeatView, ...] = (), images_in_pacs: bool | None = None,
                  note: str = "") -> None:
        """Record the technologist's QC: passed, repeat or add-on views needed, or not completable."""
        if outcome is QcOutcome.PASSED and not required_series_obtained:
            raise ValidationError("QC can pass only when every required series was obtained",
                                  field="required_series_obtained")
        if outcome is QcOutcome.REPEAT and not repeats:
            raise ValidationError("name the repeat or add-on views needed", field="repeats")
        if outcome is QcOutcome.INCOMPLETE and not note.strip():
            raise ValidationError("say why the exam cannot be completed", field="note")
        event = {QcOutcome.PASSED: E.QC_PASSED, QcOutcome.REPEAT: E.REPEAT_REQUESTED,
                 QcOutcome.INCOMPLETE: E.QC_FAILED}[outcome]
        self._apply(event, by=by, at=at, note=note)
        self.qc_reviews = [*self.qc_reviews, {
            "outcome": outcome.value, "by": by, "at": at.isoformat(), "note": note.strip(),
            "required_series_obtained": required_series_obtained, "images_in_pacs": images_in_pacs,
            "repeats": [_json(r) for r in repeats]}]

    @property
    def reporting_delay_minutes(self) -> int:
        """Minutes the repeats and add-on views added before the study could be read."""
        return sum(int(r.get("reporting_delay_minutes", 0)) for q in self.qc_reviews for r in q.get("repeats", []))

    def return_to_scheduling(self, *, by: str, at: datetime, note: str = "") -> None:
        """The incomplete exam is booked again: the study waits for a new acquisition."""
        self._apply(E.RETURNED_TO_SCHEDULING, by=by, at=at, note=note)
        self.walk_in = {}

    def set_walk_in(self, station_ae_title: str, scanner_id: str, start: datetime) -> None:
        """Put an exam without an appointment (walk-in, ED, inpatient) on a station's worklist."""
        self.walk_in = {"station_ae_title": station_ae_title, "scanner_id": scanner_id, "start": _iso(start)}


def _step(raw: Mapping[str, Any]) -> PerformedStepRecord:
    def moment(key: str) -> datetime | None:
        value = raw.get(key)
        return datetime.fromisoformat(value) if value else None

    return PerformedStepRecord(
        uid=raw["uid"], status=StepStatus(raw["status"]), source=raw.get("source", "mpps"),
        station_ae_title=raw.get("station_ae_title", ""), modality=raw.get("modality", ""),
        started=moment("started"), ended=moment("ended"),
        discontinuation_reason=raw.get("discontinuation_reason", ""), series_count=int(raw.get("series_count", 0)),
        image_count=int(raw.get("image_count", 0)), description=raw.get("description", ""),
    )
