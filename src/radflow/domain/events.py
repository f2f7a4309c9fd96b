"""Domain events: frozen facts named in the past tense, recorded on aggregates and dispatched on commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every event: when it happened and who caused it (a user id, or a system name)."""

    at: datetime
    by: str


@dataclass(frozen=True, kw_only=True)
class OrderReceived(DomainEvent):
    """A new order line entered the pipeline."""

    order_id: str
    patient_id: str
    accession_number: str


@dataclass(frozen=True, kw_only=True)
class OrderTransitioned(DomainEvent):
    """An order moved from one lifecycle state to another (the only way its state changes)."""

    order_id: str
    patient_id: str
    event: str
    from_state: str
    to_state: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class DocumentationRequested(DomainEvent):
    """The completeness check (or a payer) needs more from the referrer."""

    order_id: str
    missing: tuple[str, ...]
    request_id: str


@dataclass(frozen=True, kw_only=True)
class AuthorizationApproved(DomainEvent):
    """A payer approved the study; the approval expires at `valid_until`."""

    order_id: str
    authorization_id: str
    valid_until: datetime


@dataclass(frozen=True, kw_only=True)
class PatientRegistered(DomainEvent):
    """A patient record was created."""

    patient_id: str
    probable_duplicates: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class PatientsMerged(DomainEvent):
    """Two records of the same person became one; `merged_id` now points to `survivor_id`."""

    survivor_id: str
    merged_id: str
