"""A proposed plan for the backlog: the optimizer's lines, each accepted, skipped or failed by a scheduler.

A line's status moves once: proposed → booked (an appointment was made through the booking
service), skipped (the scheduler left it out) or failed (booking refused it: the message says why,
e.g. someone took the slot meanwhile). Unplaced orders are lines without a scanner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.errors import InvalidTransition


class LineStatus(StrEnum):
    """Where one line of a proposed plan stands."""

    PROPOSED = "proposed"
    BOOKED = "booked"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNPLACED = "unplaced"  # the optimizer found no feasible slot in the horizon


#: The one table of a line's moves (source -> allowed targets).
LINE_MOVES: Final = {
    LineStatus.PROPOSED: frozenset({LineStatus.BOOKED, LineStatus.SKIPPED, LineStatus.FAILED}),
    LineStatus.FAILED: frozenset({LineStatus.BOOKED, LineStatus.SKIPPED}),
}


@dataclass
class PlanLine:
    """One order of the backlog and where the plan puts it (nothing when unplaced)."""

    order_id: str
    patient_id: str
    track: str
    scanner_id: str | None
    site_id: str | None
    start: datetime | None
    end: datetime | None
    on_time: bool
    status: LineStatus
    appointment_id: str | None = None
    message: str = ""
    id: int | None = None

    def move(self, target: LineStatus, *, message: str = "", appointment_id: str | None = None) -> None:
        """Record what happened to the line (booked, skipped or failed with the reason)."""
        if target not in LINE_MOVES.get(self.status, frozenset()):
            raise InvalidTransition(self.status.value, target.value, aggregate="plan line")
        self.status, self.message = target, message
        if appointment_id is not None:
            self.appointment_id = appointment_id


@dataclass
class ProposedPlan:
    """What the optimizer proposed for the backlog at one moment, and what became of each line."""

    id: str
    created_at: datetime
    created_by: str
    policy: str
    horizon_start: datetime
    horizon_end: datetime
    seconds: int
    summary: dict[str, Any] = field(default_factory=dict)
    lines: list[PlanLine] = field(default_factory=list)

    def line(self, order_id: str) -> PlanLine:
        """The line of `order_id` (KeyError when the plan has none)."""
        for line in self.lines:
            if line.order_id == order_id:
                return line
        raise KeyError(order_id)

    def counts(self) -> dict[str, int]:
        """Lines per status."""
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.status.value] = out.get(line.status.value, 0) + 1
        return out
