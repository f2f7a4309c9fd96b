"""Order: one requested procedure (one exam, one accession number) and its timeline.

The order's state changes only through `Order.transition`, which asks the lifecycle table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import ValidationError
from radflow.domain.events import OrderReceived, OrderTransitioned
from radflow.domain.lifecycle import EVENTS_REQUIRING_REASON, OrderEvent, OrderState, next_state
from radflow.domain.payer_rules import CareSetting
from radflow.domain.protocols import ContrastPhase


class Track(StrEnum):
    """Routing track: drives scheduling priority, worklist order and the dashboards."""

    STAT = "stat"
    URGENT = "urgent"
    ROUTINE = "routine"


class Laterality(StrEnum):
    """Side of the body (DICOM Laterality plus bilateral)."""

    LEFT = "L"
    RIGHT = "R"
    BILATERAL = "B"


@dataclass(eq=False)
class OrderTransitionRecord:
    """One line of an order's timeline: what happened, who did it, when, and why."""

    order_id: str
    seq: int
    at: datetime
    by: str
    event: str
    from_state: str | None
    to_state: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(eq=False)
class Order(Aggregate):
    """One requested procedure moving through the pipeline."""

    id: str
    patient_id: str
    accession_number: str
    study_instance_uid: str
    protocol_code: str
    requested_modality: str
    priority: Track
    track: Track
    state: OrderState
    received_at: datetime
    target_at: datetime
    created_by: str
    referral_id: str | None = None
    placer_order_number: str = ""
    placer_system: str = ""
    contrast: ContrastPhase | None = None
    cpt_code: str = ""
    body_part: str = ""
    laterality: Laterality | None = None
    reason_for_exam: str = ""
    diagnosis_codes: list[str] = field(default_factory=list)
    clinical_notes: str = ""
    ordering_provider_npi: str = ""
    ordering_provider_name: str = ""
    copy_to: list[dict[str, str]] = field(default_factory=list)
    setting: CareSetting = CareSetting.OUTPATIENT
    coverage_id: str | None = None
    self_pay: bool = False
    special_instructions: str = ""
    protocolled_by: str | None = None
    protocolled_at: datetime | None = None
    missing_items: list[str] = field(default_factory=list)
    held_from: OrderState | None = None
    cancel_reason: str = ""
    version: int = 1  # optimistic-locking counter, advanced by the database adapter on each update
    transitions: list[OrderTransitionRecord] = field(default_factory=list)

    @classmethod
    def receive(cls, *, by: str, at: datetime, target: timedelta, **fields: Any) -> Order:
        """Create an order in `received`, with the first timeline line and its event."""
        priority = Track(fields.pop("priority", Track.ROUTINE))
        order = cls(
            state=OrderState.RECEIVED,
            received_at=at,
            target_at=at + target,
            created_by=by,
            priority=priority,
            track=Track(fields.pop("track", priority)),
            **fields,
        )
        order.transitions.append(
            OrderTransitionRecord(order_id=order.id, seq=1, at=at, by=by, event="received", from_state=None,
                                  to_state=OrderState.RECEIVED.value)
        )
        order.record(OrderReceived(at=at, by=by, order_id=order.id, patient_id=order.patient_id,
                                   accession_number=order.accession_number))
        return order

    def transition(
        self,
        event: OrderEvent,
        *,
        by: str,
        at: datetime,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> OrderState:
        """Move to the state the lifecycle table gives for `event`, and record it on the timeline."""
        if event in EVENTS_REQUIRING_REASON and not reason.strip():
            raise ValidationError(f"'{event.value}' needs a reason", field="reason")
        source = self.state
        target = next_state(source, event, held_from=self.held_from)
        if event is OrderEvent.HOLD_PLACED:
            self.held_from = source
        elif source is OrderState.ON_HOLD:
            self.held_from = None
        if event is OrderEvent.CANCEL:
            self.cancel_reason = reason.strip()
        self.state = target
        self.transitions.append(
            OrderTransitionRecord(order_id=self.id, seq=len(self.transitions) + 1, at=at, by=by,
                                  event=event.value, from_state=source.value, to_state=target.value,
                                  reason=reason.strip(), details=dict(details or {}))
        )
        self.record(OrderTransitioned(at=at, by=by, order_id=self.id, patient_id=self.patient_id,
                                      event=event.value, from_state=source.value, to_state=target.value,
                                      reason=reason.strip() or None))
        return target

    def note(self, what: str, *, by: str, at: datetime, details: dict[str, Any] | None = None) -> None:
        """Add a timeline line that is not a state change (documents attached, protocol set, …)."""
        self.transitions.append(
            OrderTransitionRecord(order_id=self.id, seq=len(self.transitions) + 1, at=at, by=by, event=what,
                                  from_state=self.state.value, to_state=self.state.value,
                                  details=dict(details or {}))
        )

    def waiting(self, now: datetime) -> timedelta:
        """Wall-clock time since the referral was received (never paused: DESIGN §1)."""
        return now - self.received_at

    def is_overdue(self, now: datetime) -> bool:
        """True when the track's target has passed."""
        return now > self.target_at

    @property
    def is_cancelled(self) -> bool:
        """True once withdrawn."""
        return self.state is OrderState.CANCELLED
