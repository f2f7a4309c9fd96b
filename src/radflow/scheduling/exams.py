"""What the slot search knows about an exam to place and about a patient's other exams.

Built by the scheduling services from an order, the catalog and the slot-length policy; read by
the search, the visit planner and the sequencing rules. Times are minutes on one `Timeline`.
"""

from __future__ import annotations

from dataclasses import dataclass

from radflow.domain.capacity.slot_length import SlotLength
from radflow.domain.protocols import ContrastVariant, Protocol, SequencingKind


@dataclass(frozen=True)
class ExamKind:
    """An exam as the sequencing rules see it: a protocol done as one contrast variant."""

    protocol: Protocol
    variant: ContrastVariant

    @property
    def label(self) -> str:
        """'CT-ABDPEL with contrast'."""
        return f"{self.protocol.code} ({self.variant.phase.value})"

    @property
    def uptake_minutes(self) -> int:
        """Minutes between tracer administration and the scan (0 without a tracer wait)."""
        return max((n.minutes for n in self.protocol.sequencing if n.kind is SequencingKind.TRACER_UPTAKE),
                   default=0)

    @property
    def latest_start(self) -> int | None:
        """Latest local time of day (minutes) the patient may start this exam (fasting exams early)."""
        latest = [n.latest_start for n in self.protocol.sequencing
                  if n.kind is SequencingKind.EARLY_START and n.latest_start is not None]
        if not latest:
            return None
        earliest = min(latest)
        return earliest.hour * 60 + earliest.minute


@dataclass(frozen=True)
class ExamNeed:
    """One order's exam to place: its kind, slot, track target and what the scanner must have."""

    order_id: str
    patient_id: str
    kind: ExamKind
    track: str
    slot: SlotLength
    requires: frozenset[str]
    weight_kg: int | None
    target: int  # latest on-time start: the track's target (DESIGN §1: received → exam start)
    not_before: int = 0  # minute before which the exam may not start

    @property
    def minutes(self) -> int:
        """Scanner minutes the slot takes."""
        return self.slot.total

    @property
    def supervised(self) -> bool:
        """Whether a radiologist must be on site (contrast that needs supervision)."""
        return self.kind.variant.supervision_required

    @property
    def uptake(self) -> int:
        """Tracer uptake wait before the scan, in minutes."""
        return self.kind.uptake_minutes


@dataclass(frozen=True)
class PatientExam:
    """Another exam of the same patient (booked, or done recently), for overlap and sequencing.

    `patient_from`–`end` is when the patient is taken; `kind` is None when the catalog no longer
    knows the protocol (then only overlap is checked).
    """

    order_id: str
    scanner_id: str
    site_id: str
    patient_from: int
    start: int
    end: int
    kind: ExamKind | None
    done: bool = False  # attended already: counts for sequencing, not for overlap
