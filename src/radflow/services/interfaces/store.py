"""The HL7 interface's repository ports (the message store, the sender mappings) and how to reach them.

The unit of work carries them as extra repositories (`wiring/hl7.py`): `uow.hl7_messages` and
`uow.hl7_mappings`, on SQL and in memory alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from radflow.domain.hl7_message import Hl7Message, MessageStatus, ReferenceKind
from radflow.domain.jobs import Job, JobState
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class MessageSearch:
    """What staff search the message log by; empty fields do not filter."""

    status: MessageStatus | None = None
    reference_kind: ReferenceKind | None = None
    reference: str = ""
    control_id: str = ""
    sending_application: str = ""
    message_type: str = ""
    received_from: datetime | None = None
    received_to: datetime | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class MessageSummary:
    """One line of the message log (no raw bytes)."""

    id: str
    received_at: datetime
    sending_application: str
    sending_facility: str
    sender_name: str
    control_id: str | None
    message_type: str
    version: str
    status: MessageStatus
    ack_code: str
    error_text: str
    deliveries: int
    peer: str


@dataclass(frozen=True)
class StoredKey:
    """What the receiving path needs of a message already stored under a control id (no raw bytes)."""

    id: str
    content_sha256: str
    status: MessageStatus
    ack: bytes
    received_at: datetime


@dataclass(frozen=True)
class StoredMapping:
    """One loaded version of the HL7 mapping file, as every process reads it."""

    id: int | None
    loaded_at: datetime
    loaded_by: str
    source: str
    content: str
    sha256: str
    default_timezone: str


class Hl7MessageRepository(Protocol):
    """Stored messages: by id, by (MSH-3, MSH-4, MSH-10), and searched for the monitor."""

    def add(self, message: Hl7Message) -> None: ...
    def get(self, message_id: str) -> Hl7Message: ...
    def with_control_id(self, sending_application: str, sending_facility: str,
                        control_id: str) -> list[Hl7Message]: ...
    def keys(self, sending_application: str, sending_facility: str, control_id: str) -> list[StoredKey]: ...
    def count_delivery(self, message_id: str, at: datetime) -> None: ...
    def search(self, query: MessageSearch) -> tuple[list[MessageSummary], int]: ...
    def counts_by_status(self) -> dict[MessageStatus, int]: ...


class Hl7MappingRepository(Protocol):
    """Loaded mappings; the newest is the one in use."""

    def add(self, mapping: StoredMapping) -> None: ...
    def current_version(self) -> tuple[int, str] | None: ...
    def get(self, mapping_id: int) -> StoredMapping: ...
    def history(self, limit: int) -> list[StoredMapping]: ...


class OutboundJobRepository(Protocol):
    """HL7 jobs (status, reports, application acks) for the outbound queue screen."""

    def hl7_jobs(self, kinds: tuple[str, ...], states: tuple[JobState, ...], limit: int) -> list[Job]: ...


def _repository(uow: UnitOfWork, name: str) -> object:
    found = getattr(uow, name, None)
    if found is None:
        raise RuntimeError(f"this unit of work has no '{name}' repository (radflow.wiring.hl7 adds it)")
    return found


def messages(uow: UnitOfWork) -> Hl7MessageRepository:
    """The unit of work's message store."""
    return cast(Hl7MessageRepository, _repository(uow, "hl7_messages"))


def mappings(uow: UnitOfWork) -> Hl7MappingRepository:
    """The unit of work's mapping store."""
    return cast(Hl7MappingRepository, _repository(uow, "hl7_mappings"))


def outbound_jobs(uow: UnitOfWork) -> OutboundJobRepository:
    """The unit of work's view of HL7 jobs."""
    return cast(OutboundJobRepository, _repository(uow, "hl7_jobs"))
