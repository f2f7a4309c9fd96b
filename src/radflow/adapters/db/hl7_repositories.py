"""SQL repositories of the HL7 interface: the message store, the mappings, the outbound jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, desc, event, func, select
from sqlalchemy.orm import Session, registry, relationship, selectinload

from radflow.adapters.db import hl7_tables as h
from radflow.adapters.db import tables as t
from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import NotFound
from radflow.domain.hl7_message import Hl7Message, MessageReference, MessageStatus
from radflow.domain.jobs import Job, JobState
from radflow.services.interfaces.store import MessageSearch, MessageSummary, StoredKey, StoredMapping


def map_hl7(reg: registry) -> None:
    """Map the stored message and its references on the shared registry."""
    reg.map_imperatively(MessageReference, h.hl7_message_refs)
    reg.map_imperatively(Hl7Message, h.hl7_messages, properties={
        "references": relationship(MessageReference, cascade="all, delete-orphan", lazy="select",
                                   order_by=h.hl7_message_refs.c.id),
    })


_SUMMARY_COLUMNS = (
    h.hl7_messages.c.id, h.hl7_messages.c.received_at, h.hl7_messages.c.sending_application,
    h.hl7_messages.c.sending_facility, h.hl7_messages.c.sender_name, h.hl7_messages.c.control_id,
    h.hl7_messages.c.message_type, h.hl7_messages.c.version, h.hl7_messages.c.status, h.hl7_messages.c.ack_code,
    h.hl7_messages.c.error_text, h.hl7_messages.c.deliveries, h.hl7_messages.c.peer,
)


def keep_aggregates_alive(session: Session) -> list[Aggregate]:
    """Hold every aggregate this session adds or loads until the unit of work ends.

    The session's identity map holds clean objects weakly. An aggregate that records an event, is
    flushed by a later query (autoflush) and is then no longer referenced by the code that changed it
    (an order made inside `receive_referral_in`) is collected before the commit, and its events —
    `OrderTransitioned`, which the outbound status messages hang on — are lost with it. Pinned here,
    every recorded event reaches the in-transaction handlers. This belongs in
    `SqlAlchemyUnitOfWork` (foundation); it lives here until it moves there.
    """
    kept: list[Aggregate] = []

    def keep(_session: Session, instance: object) -> None:
        if isinstance(instance, Aggregate):
            kept.append(instance)

    event.listen(session, "transient_to_pending", keep)
    event.listen(session, "loaded_as_persistent", keep)
    return kept


class SqlHl7Messages:
    """The message store in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._kept = keep_aggregates_alive(session)

    def add(self, message: Hl7Message) -> None:
        # Written with the rest of the unit of work: a second connection delivering the same message at
        # the same moment fails on the unique key at its commit, and its retry answers with the first's ACK.
        self.session.add(message)

    def get(self, message_id: str) -> Hl7Message:
        # With its references: the monitor reads them after the unit of work has ended.
        found = self.session.get(Hl7Message, message_id, options=[selectinload(Hl7Message.references)])  # type: ignore[arg-type]
        if found is None:
            raise NotFound(f"HL7 message '{message_id}' not found")
        return found

    def with_control_id(self, sending_application: str, sending_facility: str, control_id: str) -> list[Hl7Message]:
        m = h.hl7_messages
        stmt = (select(Hl7Message)
                .where(m.c.sending_application == sending_application, m.c.sending_facility == sending_facility,
                       m.c.control_id == control_id)
                .order_by(m.c.received_at))
        return list(self.session.scalars(stmt))

    def keys(self, sending_application: str, sending_facility: str, control_id: str) -> list[StoredKey]:
        # Columns only: the common answers (a new message, a repeat) need neither the raw bytes nor the ORM.
        m = h.hl7_messages
        stmt = (select(m.c.id, m.c.content_sha256, m.c.status, m.c.ack, m.c.received_at)
                .where(m.c.sending_application == sending_application, m.c.sending_facility == sending_facility,
                       m.c.control_id == control_id)
                .order_by(m.c.received_at))
        return [StoredKey(row.id, row.content_sha256, row.status, bytes(row.ack), row.received_at)
                for row in self.session.execute(stmt)]

    def count_delivery(self, message_id: str, at: datetime) -> None:
        m = h.hl7_messages
        self.session.execute(m.update().where(m.c.id == message_id)
                             .values(deliveries=m.c.deliveries + 1, last_delivered_at=at))

    def _filtered(self, stmt: Select[Any], query: MessageSearch) -> Select[Any]:
        m = h.hl7_messages
        if query.status is not None:
            stmt = stmt.where(m.c.status == query.status)
        if query.control_id:
            stmt = stmt.where(m.c.control_id == query.control_id)
        if query.sending_application:
            stmt = stmt.where(m.c.sending_application == query.sending_application)
        if query.message_type:
            stmt = stmt.where(m.c.message_type == query.message_type)
        if query.received_from is not None:
            stmt = stmt.where(m.c.received_at >= query.received_from)
        if query.received_to is not None:
            stmt = stmt.where(m.c.received_at < query.received_to)
        if query.reference:
            refs = h.hl7_message_refs
            matching = select(refs.c.message_id).where(refs.c.value == query.reference)
            if query.reference_kind is not None:
                matching = matching.where(refs.c.kind == query.reference_kind)
            stmt = stmt.where(m.c.id.in_(matching))
        return stmt

    def search(self, query: MessageSearch) -> tuple[list[MessageSummary], int]:
        m = h.hl7_messages
        stmt = self._filtered(select(*_SUMMARY_COLUMNS), query)
        stmt = stmt.order_by(desc(m.c.received_at), desc(m.c.id)).limit(query.limit).offset(query.offset)
        rows = [MessageSummary(**row._mapping) for row in self.session.execute(stmt)]
        total = self.session.execute(self._filtered(select(func.count()).select_from(m), query)).scalar_one()
        return rows, int(total)

    def counts_by_status(self) -> dict[MessageStatus, int]:
        m = h.hl7_messages
        rows = self.session.execute(select(m.c.status, func.count()).group_by(m.c.status))
        return {status: int(count) for status, count in rows}


class SqlHl7Mappings:
    """Loaded mappings in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, mapping: StoredMapping) -> None:
        self.session.execute(h.hl7_mappings.insert().values(
            loaded_at=mapping.loaded_at, loaded_by=mapping.loaded_by[:100], source=mapping.source[:255],
            content=mapping.content, sha256=mapping.sha256, default_timezone=mapping.default_timezone))

    def current_version(self) -> tuple[int, str] | None:
        m = h.hl7_mappings
        row = self.session.execute(select(m.c.id, m.c.sha256).order_by(desc(m.c.id)).limit(1)).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def get(self, mapping_id: int) -> StoredMapping:
        row = self.session.execute(select(h.hl7_mappings).where(h.hl7_mappings.c.id == mapping_id)).first()
        if row is None:
            raise NotFound(f"HL7 mapping version {mapping_id} not found")
        return StoredMapping(**row._mapping)

    def history(self, limit: int) -> list[StoredMapping]:
        stmt = select(h.hl7_mappings).order_by(desc(h.hl7_mappings.c.id)).limit(limit)
        return [StoredMapping(**row._mapping) for row in self.session.execute(stmt)]


class SqlHl7Jobs:
    """HL7 jobs for the outbound queue and dead-letter screens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def hl7_jobs(self, kinds: tuple[str, ...], states: tuple[JobState, ...], limit: int) -> list[Job]:
        stmt = (select(Job).where(t.jobs.c.kind.in_(kinds), t.jobs.c.state.in_(states))
                .order_by(desc(t.jobs.c.seq)).limit(limit))
        return list(self.session.scalars(stmt))
