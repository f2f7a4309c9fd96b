"""Reading what the slot search needs from the unit of work: the exam, the patient, the capacity.

Everything here runs inside a caller's unit of work and returns the engine's plain values on one
`Timeline` (UTC minutes from the start of the search window).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from radflow.domain.capacity.calendar import Timeline, resolve_scanner, resolve_supervision
from radflow.domain.capacity.intervals import Interval, merged
from radflow.domain.capacity.slot_length import PatientFactors, SlotRules, age_on, slot_length
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.protocols import Modality, modalities_that_perform
from radflow.scheduling.exams import ExamKind, ExamNeed, PatientExam
from radflow.scheduling.search import CapacityPicture, PatientPicture
from radflow.scheduling.slot_rules import load_slot_rules
from radflow.services.context import ServiceContext
from radflow.services.routing import order_variant
from radflow.services.scheduling.ports import PatientFacts, appointments, backlog, capacity
from radflow.services.unit_of_work import UnitOfWork

HORIZON_DAYS = 14
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How far back and ahead a patient's other exams matter: the longest sequencing wait in the
#: catalog is 42 days (thyroid after iodinated contrast, SNM guideline).
SEQUENCING_REACH = timedelta(days=43)


@lru_cache(maxsize=1)
def slot_rules() -> SlotRules:
    """The slot-length policy (immutable; read once per process)."""
    return load_slot_rules()


@dataclass(frozen=True)
class PatientNeeds:
    """What the scheduler knows about the patient beyond the record (the search form's fields)."""

    sedation: bool = False
    interpreter: bool | None = None  # None: from the patient's preferred language
    weight_kg: int | None = None
    requires: frozenset[str] = frozenset()


def exam_kind(ctx: ServiceContext, order: Order) -> ExamKind:
    """The order's protocol and contrast variant from the catalog."""
    protocol = ctx.catalog.protocol(order.protocol_code)
    return ExamKind(protocol, order_variant(protocol, order))


def kind_of(ctx: ServiceContext, protocol_code: str, contrast: str | None) -> ExamKind | None:
    """An exam kind from stored codes, or None when the catalog no longer has the protocol."""
    try:
        protocol = ctx.catalog.protocol(protocol_code)
    except NotFound:
        return None
    variant = next((v for v in protocol.variants if v.phase == contrast), None) if contrast else None
    return ExamKind(protocol, variant or protocol.variants[0])


def patient_factors(patient: Patient | PatientFacts | None, needs: PatientNeeds, on: datetime,
                    rules: SlotRules) -> PatientFactors:
    """Sedation, age, language, weight and required capabilities for the slot and the scanner."""
    pediatric = patient is not None and age_on(patient.birth_date, on.date()) < rules.pediatric_under_years
    interpreter = needs.interpreter
    if interpreter is None:
        interpreter = patient is not None and patient.preferred_language.lower() not in ("", "en", "eng")
    return PatientFactors(sedation=needs.sedation, pediatric=pediatric, interpreter=interpreter,
                          weight_kg=needs.weight_kg, requires=needs.requires)


def exam_need(ctx: ServiceContext, order: Order, patient: Patient | PatientFacts | None, needs: PatientNeeds,
              line: Timeline) -> ExamNeed:
    """The exam of `order` as the search places it: slot length, capabilities, target minute."""
    kind = exam_kind(ctx, order)
    rules = slot_rules()
    factors = patient_factors(patient, needs, line.origin, rules)
    slot = slot_length(kind.variant.minutes, kind.protocol.modality.value, factors, rules)
    return ExamNeed(order_id=order.id, patient_id=order.patient_id, kind=kind, track=order.track.value, slot=slot,
                    requires=kind.protocol.capabilities | factors.requires, weight_kg=factors.weight_kg,
                    target=line.minute(order.target_at))


def search_line(ctx: ServiceContext, start: datetime | None = None, days: int = HORIZON_DAYS) -> Timeline:
    """The minute line of a search: from now (or `start`, if later) for `days` days."""
    if not 1 <= days <= 62:
        raise ValidationError("a search looks 1 to 62 days ahead", field="days")
    now = ctx.clock.now()
    begin = max(now, start) if start is not None else now
    return Timeline.covering(begin, begin + timedelta(days=days), slot_rules().grid_minutes)


def capacity_picture(uow: UnitOfWork, ctx: ServiceContext, line: Timeline, modalities: Iterable[Modality],
                     *, ignore_appointment: str | None = None, lane: int = 0) -> CapacityPicture:
    """Capacity of the active scanners that can do exams of `modalities`, with the bookings of `lane`."""
    wanted = set(modalities)
    performing = {m for exam in wanted for m in modalities_that_perform(exam)}
    repo = capacity(uow)
    sites = {s.id: s for s in repo.sites()}
    scanners = [s for s in repo.scanners(performing) if s.active and s.site_id in sites]
    closures = repo.closures_between(line.origin, line.end)
    calendars = {s.id: resolve_scanner(s, sites[s.site_id], closures, line) for s in scanners}
    supervision = {site_id: resolve_supervision(sites[site_id], closures, line)
                   for site_id in {s.site_id for s in scanners}}
    occupied: dict[str, list[Interval]] = {s.id: [] for s in scanners}
    shift = line.minute(EPOCH)  # epoch minutes to minutes on this line
    for scanner_id, start, end in appointments(uow).busy_minutes(list(occupied), line.origin, line.end, lane=lane,
                                                                 ignore=ignore_appointment):
        occupied[scanner_id].append((start + shift, end + shift))
    return CapacityPicture(line=line, grid=slot_rules().grid_minutes, now=line.minute_up(ctx.clock.now()),
                           calendars=calendars, supervision=supervision,
                           occupied={k: merged(v) for k, v in occupied.items()})


def patient_exams(uow: UnitOfWork, ctx: ServiceContext, line: Timeline, patient_id: str,
                  *, ignore_orders: Sequence[str] = ()) -> tuple[PatientExam, ...]:
    """The patient's booked and attended exams near the window (for overlap and sequencing)."""
    shift = line.minute(EPOCH)
    spans = appointments(uow).patient_spans(patient_id, line.origin - SEQUENCING_REACH, line.end + SEQUENCING_REACH)
    return tuple(
        PatientExam(order_id=s.order_id, scanner_id=s.scanner_id, site_id=s.site_id,
                    patient_from=s.patient_from + shift, start=s.start + shift, end=s.end + shift,
                    kind=kind_of(ctx, s.protocol_code, s.contrast), done=not s.booked)
        for s in spans if s.order_id not in ignore_orders
    )


def patient_picture(uow: UnitOfWork, ctx: ServiceContext, line: Timeline, patient_id: str, *,
                    ignore_orders: Sequence[str] = (), availability: Sequence[tuple[datetime, datetime]] | None = None,
                    preferred_sites: Iterable[str] = (), part_of_day: str = "") -> PatientPicture:
    """The patient's other exams, availability (UTC instants to minutes) and preferences."""
    if part_of_day not in ("", "morning", "afternoon"):
        raise ValidationError("part of day is 'morning' or 'afternoon' (or empty)", field="part_of_day")
    windows = None
    if availability is not None:
        for start, end in availability:
            if end <= start:
                raise ValidationError("an availability window must end after it starts", field="availability")
        windows = tuple(merged((line.minute_up(s), line.minute(e)) for s, e in availability))
    return PatientPicture(exams=patient_exams(uow, ctx, line, patient_id, ignore_orders=ignore_orders),
                          availability=windows, preferred_sites=frozenset(preferred_sites), part_of_day=part_of_day)


def patient_facts(uow: UnitOfWork, patient_id: str) -> PatientFacts | None:
    """The patient's birth date and language (for the slot length), read without the whole record."""
    return backlog(uow).patient_facts(patient_id)
