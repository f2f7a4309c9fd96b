"""Sequencing needs between one patient's exams, read from the catalog (protocols.yaml `sequencing`).

`before`: this exam comes before every exam the selector matches (thyroid uptake before iodinated
contrast, SNM guideline); `after`: after them (barium studies last). Done in the wrong order, the
later exam waits `gap_days` and is on another day in any case. Each rule can be stated by either
exam, so both sides are asked. The result is a set of start minutes the exam must avoid.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from radflow.domain.capacity.intervals import Interval
from radflow.domain.protocols import SequencingKind
from radflow.scheduling.exams import ExamKind, PatientExam

DAY = 1440


def wrong_order_wait_days(first: ExamKind, second: ExamKind) -> int | None:
    """If `first` must come before `second`, the days the exams must be apart in the wrong order."""
    waits = [n.gap_days for n in first.protocol.sequencing
             if n.kind is SequencingKind.BEFORE and n.selector is not None
             and n.selector.matches(second.protocol, second.variant)]
    waits += [n.gap_days for n in second.protocol.sequencing
              if n.kind is SequencingKind.AFTER and n.selector is not None
              and n.selector.matches(first.protocol, first.variant)]
    return max(waits) if waits else None


def may_follow(first: ExamKind, second: ExamKind) -> bool:
    """Whether `second` may come after `first` on the same day."""
    return wrong_order_wait_days(second, first) is None


class LocalDays(Protocol):
    """Local midnights on the minute line (a site's zone: days are 23, 24 or 25 hours long)."""

    def start_of(self, minute: int) -> int:
        """The local midnight at or before `minute`."""
        ...

    def next_start(self, minute: int) -> int:
        """The first local midnight after `minute`."""
        ...


def forbidden_starts(
    kind: ExamKind,
    minutes: int,
    uptake: int,
    others: Iterable[PatientExam],
    days: LocalDays,
) -> list[Interval]:
    """Start minutes at which this exam would break a sequencing need with one of `others`.

    The exam takes the patient over [start - uptake, start + minutes). For an exam that must come
    first, the other exam may not start before it ends; in the wrong order the later exam is on a
    later local day and at least `gap_days` after the earlier one ends.
    """
    out: list[Interval] = []
    for other in others:
        if other.kind is None:
            continue
        wait = wrong_order_wait_days(kind, other.kind)
        if wait is not None:
            # Allowed: start + minutes <= other.patient_from, or start - uptake >= resume.
            resume = max(other.end + wait * DAY, days.next_start(other.end - 1))
            out.append((other.patient_from - minutes + 1, resume + uptake))
        wait = wrong_order_wait_days(other.kind, kind)
        if wait is not None:
            # Allowed: start - uptake >= other.end, or this ends by latest_end (an earlier day).
            latest_end = min(other.patient_from - wait * DAY, days.start_of(other.patient_from))
            out.append((latest_end - minutes + 1, other.end + uptake))
    return out
