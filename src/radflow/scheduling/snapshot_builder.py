"""The product's snapshot for the optimizer: UTC minutes, daylight saving resolved, rules folded in.

What the engine's format can say, it says directly: usable periods per scanner (opening ∩ staffed
− closures − unreleased reserved blocks − booked time), supervision per site, capabilities, slot
length, release (now, after any tracer wait) and due (the track's target start plus the slot).
What it cannot say is folded into each order's availability windows, conservatively: a fasting
exam's latest start, the tracer wait inside opening hours, the patient's booked exams and the
sequencing rules against them. A table weight becomes a capability token. Whatever remains (two
orders of one patient in the wrong sequence, a tracer wait over another exam of the plan) is
checked afterwards, line by line, with the slot search's own rules (`verified_lines`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from radflow.domain.capacity.calendar import local_instant
from radflow.domain.capacity.intervals import Interval, intersect, merged, subtract
from radflow.domain.protocols import Modality
from radflow.scheduling.exams import ExamNeed, PatientExam
from radflow.scheduling.optimizer.snapshot import (
    ON_TIME_WEIGHT,
    Assignment,
    ExamProtocol,
    OrderToSchedule,
    Priority,
    ScannerCapacity,
    Snapshot,
)
from radflow.scheduling.search import CapacityPicture, PatientPicture, find_slots, why_not
from radflow.scheduling.sequencing import forbidden_starts, wrong_order_wait_days


def modality_group(modality: Modality) -> str:
    """The engine matches modalities by equality: DX and CR rooms both take radiographs (XR)."""
    return "XR" if modality in (Modality.DX, Modality.CR) else modality.value


def _weight_token(kg: int) -> str:
    return f"table>={kg}kg"


@dataclass(frozen=True)
class SnapshotParts:
    """The snapshot, and the orders left out of it with the reason."""

    snapshot: Snapshot
    left_out: Mapping[str, str]


def _availability(need: ExamNeed, picture: CapacityPicture, patient: PatientPicture) -> list[Interval]:
    """Windows inside which the whole scan must lie, for the rules the engine cannot express."""
    line, minutes, uptake = picture.line, need.minutes, need.uptake
    capable = [c for c in picture.calendars.values()
               if need.kind.protocol.can_be_performed_on(c.scanner.modality)
               and c.scanner.can_take(need.requires, need.weight_kg)]
    if not capable:
        return []
    zone = capable[0].site.zone
    windows: list[Interval] = [(0, line.length)]
    latest = need.kind.latest_start
    if latest is not None:
        windows = intersect(windows, merged(
            (line.minute(local_instant(day, 0, zone)), line.minute(local_instant(day, latest, zone)) + uptake + minutes)
            for day in line.local_dates(zone)))
    if uptake:
        # The scan starts `uptake` minutes after the latest opening among the capable scanners that day.
        first: dict[object, int] = {}
        last: dict[object, int] = {}
        for calendar in capable:
            for start, _ in calendar.opening:
                day = line.local_minute_of_day(start, calendar.site.zone)[0]
                first[day] = min(first.get(day, start), start)
                last[day] = max(last.get(day, start), start)
        windows = subtract(windows, [(first[day], last[day] + uptake) for day in first])
    blocked = [(other.patient_from - patient.site_gap, other.end + patient.site_gap + uptake)
               for other in patient.exams if not other.done]
    blocked += [(low, high + minutes - 1)
                for low, high in forbidden_starts(need.kind, minutes, uptake, patient.exams, picture.days(zone))]
    return [w for w in subtract(merged(windows), blocked) if w[1] - w[0] >= minutes]


def _cut_at_midnights(periods: Sequence[Interval], picture: CapacityPicture, zone: ZoneInfo) -> list[Interval]:
    """The periods cut at the site's local midnights: a batch plan keeps each exam inside the day it starts
    (the optimizer's format, rule 6), while a single booking may run past midnight on a 24-hour scanner."""
    line = picture.line
    days = [(line.minute(local_instant(day, 0, zone)), line.minute(local_instant(day, 1440, zone)))
            for day in line.local_dates(zone)]
    return intersect(list(periods), days)


def build_snapshot(picture: CapacityPicture, needs: Sequence[ExamNeed], patients: Mapping[str, PatientPicture],
                   *, name: str = "backlog") -> SnapshotParts:
    """The optimizer's snapshot of `needs` on the capacity of `picture` (minute 0 = the line's origin)."""
    weights = sorted({n.weight_kg for n in needs if n.weight_kg})
    scanners = []
    for calendar in picture.calendars.values():
        scanner = calendar.scanner
        tokens = {_weight_token(w) for w in weights if scanner.table_limit_kg is None or w <= scanner.table_limit_kg}
        usable = _cut_at_midnights(subtract(calendar.usable_unreserved(picture.now),
                                            picture.occupied.get(scanner.id, ())), picture, calendar.site.zone)
        scanners.append(ScannerCapacity(scanner_id=scanner.id, site=scanner.site_id,
                                        modality=modality_group(scanner.modality),
                                        capabilities=frozenset(scanner.capabilities | tokens),
                                        usable=tuple(usable)))
    protocols: dict[str, ExamProtocol] = {}
    orders: list[OrderToSchedule] = []
    left_out: dict[str, str] = {}
    for need in needs:
        requires = need.requires | ({_weight_token(need.weight_kg)} if need.weight_kg else set())
        key = f"{need.kind.protocol.code}/{need.kind.variant.phase.value}/{need.minutes}/{','.join(sorted(requires))}"
        protocols.setdefault(key, ExamProtocol(code=key, modality=modality_group(need.kind.protocol.modality),
                                               requires=frozenset(requires), minutes=need.minutes,
                                               contrast=need.supervised))
        windows = _availability(need, picture, patients.get(need.patient_id, PatientPicture()))
        if not windows:
            left_out[need.order_id] = "no time in the horizon fits the patient's other exams and the exam's rules"
            continue
        whole = len(windows) == 1 and windows[0] == (0, picture.line.length)
        track: Priority = need.track if need.track in ON_TIME_WEIGHT else "routine"  # type: ignore[assignment]
        orders.append(OrderToSchedule(
            order_id=need.order_id, patient_id=need.patient_id, protocol=key, priority=track,
            weight=ON_TIME_WEIGHT[track], release=max(picture.now + need.uptake, 0),
            due=max(need.target + need.minutes, picture.now + need.uptake + 1),
            availability=None if whole else tuple(windows)))
    snapshot = Snapshot(horizon_end=picture.line.length, grid_minutes=picture.grid, scanners=tuple(scanners),
                        supervision={k: tuple(v) for k, v in picture.supervision.items()}, protocols=protocols,
                        orders=tuple(orders), name=name)
    return SnapshotParts(snapshot, left_out)


def _precedence(assignments: Sequence[Assignment], needs: Mapping[str, ExamNeed]) -> dict[str, int]:
    """For each line: how many other lines of the same patient must come before it (sequencing)."""
    by_patient: dict[str, list[ExamNeed]] = {}
    for assignment in assignments:
        need = needs[assignment.order_id]
        by_patient.setdefault(need.patient_id, []).append(need)
    return {need.order_id: sum(1 for other in group if other is not need
                               and wrong_order_wait_days(other.kind, need.kind) is not None)
            for group in by_patient.values() for need in group}


def verified_lines(assignments: Sequence[Assignment], needs: Mapping[str, ExamNeed], picture: CapacityPicture,
                   patients: Mapping[str, PatientPicture]) -> tuple[list[Assignment], dict[str, str]]:
    """The assignments every slot-search rule accepts; the others moved to a valid slot, or refused.

    Lines are checked in start order, except that an exam another of the patient's exams must
    follow is checked first; each accepted line joins its patient's exams and its scanner's booked
    time. A refused line gets the earliest slot the slot search finds around what is accepted.
    """
    rank = _precedence(assignments, needs)
    kept: list[Assignment] = []
    refused: dict[str, str] = {}
    booked: dict[str, list[PatientExam]] = {}
    occupied = {k: list(v) for k, v in picture.occupied.items()}
    for assignment in sorted(assignments, key=lambda a: (rank[a.order_id], a.start)):
        need = needs[assignment.order_id]
        patient = replace(patients.get(need.patient_id, PatientPicture()),
                          exams=(*patients.get(need.patient_id, PatientPicture()).exams,
                                 *booked.get(need.patient_id, [])))
        calendar = picture.calendars[assignment.scanner_id]
        reason = why_not(need, calendar, picture, patient, assignment.start)
        if reason is not None:
            current = replace(picture, occupied={k: merged(v) for k, v in occupied.items()})
            options = find_slots(need, current, patient, limit=1)
            if not options:
                refused[assignment.order_id] = reason
                continue
            assignment = Assignment(need.order_id, options[0].scanner_id, options[0].start)
            calendar = picture.calendars[assignment.scanner_id]
        kept.append(assignment)
        occupied.setdefault(assignment.scanner_id, []).append((assignment.start, assignment.start + need.minutes))
        booked.setdefault(need.patient_id, []).append(PatientExam(
            order_id=need.order_id, scanner_id=assignment.scanner_id, site_id=calendar.site.id,
            patient_from=assignment.start - need.uptake, start=assignment.start,
            end=assignment.start + need.minutes, kind=need.kind))
    return sorted(kept, key=lambda a: a.start), refused
