"""One visit for a patient with several orders: a valid order of exams on one day, one preparation.

For each day of the horizon, every order of the exams that the sequencing needs allow is tried
(thyroid uptake before iodinated contrast, transabdominal before transvaginal, barium last); each
exam is placed at its earliest allowed start after the previous one ends (its own tracer uptake
wait, fasting limit and site gap included), on whichever capable scanner frees the patient first.
Days are ranked: all on time first, then the earliest day, then the shortest stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import permutations

from radflow.domain.capacity.calendar import local_instant
from radflow.domain.protocols import Preparation, combined_preparation
from radflow.scheduling.exams import ExamNeed, PatientExam
from radflow.scheduling.search import CapacityPicture, PatientPicture, SlotOption, find_slots
from radflow.scheduling.sequencing import may_follow

MAX_EXAMS_PER_VISIT = 5  # 120 orders of exams at most; more is not one visit


@dataclass(frozen=True)
class VisitOption:
    """A day on which every exam of the visit fits, in a valid order."""

    day: str  # local date, ISO
    slots: tuple[SlotOption, ...]
    preparation: Preparation

    @property
    def arrive(self) -> int:
        """When the patient is first needed (before preparation arrival time)."""
        return min(s.patient_from for s in self.slots)

    @property
    def leave(self) -> int:
        """When the last exam ends."""
        return max(s.end for s in self.slots)

    @property
    def past_target(self) -> bool:
        """Whether any exam starts after its track's target."""
        return any(s.past_target for s in self.slots)


def valid_sequences(needs: Sequence[ExamNeed]) -> list[tuple[ExamNeed, ...]]:
    """Orders of the exams in which each may follow every one before it on the same day."""
    out = []
    for sequence in permutations(needs):
        if all(may_follow(sequence[i].kind, sequence[j].kind)
               for i in range(len(sequence)) for j in range(i + 1, len(sequence))):
            out.append(sequence)
    return out


def _place_sequence(sequence: Sequence[ExamNeed], picture: CapacityPicture, patient: PatientPicture,
                    day_start: int, day_end: int) -> list[SlotOption] | None:
    placed: list[SlotOption] = []
    exams = list(patient.exams)
    cursor = day_start
    for need in sequence:
        visit_patient = replace(patient, exams=tuple(exams), part_of_day="", preferred_sites=frozenset())
        options = find_slots(need, picture, visit_patient, limit=len(picture.calendars) or 1,
                             within=(max(cursor + need.uptake, day_start), day_end))
        if not options:
            return None
        # The exam that frees the patient first keeps the visit short; ties go to the earlier start.
        chosen = min(options, key=lambda o: (o.end, o.start, o.scanner_id))
        placed.append(chosen)
        exams.append(PatientExam(order_id=need.order_id, scanner_id=chosen.scanner_id, site_id=chosen.site_id,
                                 patient_from=chosen.patient_from, start=chosen.start, end=chosen.end,
                                 kind=need.kind))
        cursor = chosen.end
    return placed


def plan_visits(needs: Sequence[ExamNeed], picture: CapacityPicture, patient: PatientPicture, *,
                limit: int = 3) -> list[VisitOption]:
    """The best `limit` single-day visits for all of `needs` (empty when no day takes them all)."""
    if not needs:
        return []
    if len(needs) > MAX_EXAMS_PER_VISIT:
        raise ValueError(f"a visit holds at most {MAX_EXAMS_PER_VISIT} exams")
    sequences = valid_sequences(needs)
    zone = next(iter(picture.calendars.values())).site.zone if picture.calendars else None
    if zone is None or not sequences:
        return []
    preparation = combined_preparation(n.kind.protocol.preparation_for(n.kind.variant) for n in needs)
    options: list[VisitOption] = []
    for day in picture.line.local_dates(zone):
        day_start = max(0, picture.line.minute(local_instant(day, 0, zone)))
        day_end = min(picture.line.length, picture.line.minute(local_instant(day, 1440, zone)))
        if day_end <= max(day_start, picture.now):
            continue
        best: list[SlotOption] | None = None
        for sequence in sequences:
            placed = _place_sequence(sequence, picture, patient, day_start, day_end)
            if placed is not None and (best is None or _visit_rank(placed) < _visit_rank(best)):
                best = placed
        if best is not None:
            order = {n.order_id: k for k, n in enumerate(needs)}
            slots = tuple(sorted(best, key=lambda s: (s.start, order[s.order_id])))
            options.append(VisitOption(day=day.isoformat(), slots=slots, preparation=preparation))
    options.sort(key=lambda v: (v.past_target, v.day, v.leave - v.arrive))
    return options[:limit]


def _visit_rank(slots: Sequence[SlotOption]) -> tuple[bool, int, int]:
    return (any(s.past_target for s in slots), max(s.end for s in slots) - min(s.patient_from for s in slots),
            min(s.start for s in slots))
