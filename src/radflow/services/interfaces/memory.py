"""In-memory fakes of the HL7 interface's repositories, beside their ports (unit tests, simulation)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from radflow.domain.errors import Conflict, NotFound
from radflow.domain.hl7_message import Hl7Message, MessageStatus
from radflow.domain.jobs import Job, JobState
from radflow.services.interfaces.store import MessageSearch, MessageSummary, StoredKey, StoredMapping
from radflow.services.memory import MemoryStore


class MemoryHl7Messages:
    """The message store in memory."""

    def __init__(self, store: MemoryStore) -> None:
        self.rows = store.table("hl7_messages")

    def add(self, message: Hl7Message) -> None:
        for other in self.rows.values():
            if (other.sending_application, other.sending_facility, other.control_id, other.variant) == (
                    message.sending_application, message.sending_facility, message.control_id, message.variant) \
                    and message.control_id is not None:
                raise Conflict(f"message {message.control_id} is already stored")
        self.rows[message.id] = message

    def get(self, message_id: str) -> Hl7Message:
        found: Hl7Message | None = self.rows.get(message_id)
        if found is None:
            raise NotFound(f"HL7 message '{message_id}' not found")
        return found

    def with_control_id(self, sending_application: str, sending_facility: str, control_id: str) -> list[Hl7Message]:
        found = [m for m in self.rows.values() if (m.sending_application, m.sending_facility, m.control_id) == (
            sending_application, sending_facility, control_id)]
        return sorted(found, key=lambda m: m.received_at)

    def keys(self, sending_application: str, sending_facility: str, control_id: str) -> list[StoredKey]:
        return [StoredKey(m.id, m.content_sha256, m.status, m.ack, m.received_at)
                for m in self.with_control_id(sending_application, sending_facility, control_id)]

    def count_delivery(self, message_id: str, at: datetime) -> None:
        self.get(message_id).delivered_again(at=at)

    def search(self, query: MessageSearch) -> tuple[list[MessageSummary], int]:
        def matches(m: Hl7Message) -> bool:
            if query.status is not None and m.status is not query.status:
                return False
            if query.control_id and m.control_id != query.control_id:
                return False
            if query.sending_application and m.sending_application != query.sending_application:
                return False
            if query.message_type and m.message_type != query.message_type:
                return False
            return not query.reference or any(
                r.value == query.reference and (query.reference_kind is None or r.kind == query.reference_kind)
                for r in m.references)

        found = sorted((m for m in self.rows.values() if matches(m)), key=lambda m: m.received_at, reverse=True)
        page = found[query.offset:query.offset + query.limit]
        return [_summary(m) for m in page], len(found)

    def counts_by_status(self) -> dict[MessageStatus, int]:
        counts: dict[MessageStatus, int] = {}
        for message in self.rows.values():
            counts[message.status] = counts.get(message.status, 0) + 1
        return counts


def _summary(m: Hl7Message) -> MessageSummary:
    return MessageSummary(id=m.id, received_at=m.received_at, sending_application=m.sending_application,
                          sending_facility=m.sending_facility, sender_name=m.sender_name, control_id=m.control_id,
                          message_type=m.message_type, version=m.version, status=m.status, ack_code=m.ack_code,
                          error_text=m.error_text, deliveries=m.deliveries, peer=m.peer)


class MemoryHl7Mappings:
    """Loaded mappings in memory."""

    def __init__(self, store: MemoryStore) -> None:
        self.rows = store.table("hl7_mappings")

    def add(self, mapping: StoredMapping) -> None:
        number = len(self.rows) + 1
        self.rows[number] = replace(mapping, id=number)

    def current_version(self) -> tuple[int, str] | None:
        if not self.rows:
            return None
        newest: StoredMapping = self.rows[max(self.rows)]
        return max(self.rows), newest.sha256

    def get(self, mapping_id: int) -> StoredMapping:
        found: StoredMapping | None = self.rows.get(mapping_id)
        if found is None:
            raise NotFound(f"HL7 mapping version {mapping_id} not found")
        return found

    def history(self, limit: int) -> list[StoredMapping]:
        return [self.rows[k] for k in sorted(self.rows, reverse=True)[:limit]]


class MemoryHl7Jobs:
    """HL7 jobs in memory."""

    def __init__(self, store: MemoryStore) -> None:
        self.rows = store.table("jobs")

    def hl7_jobs(self, kinds: tuple[str, ...], states: tuple[JobState, ...], limit: int) -> list[Job]:
        found = [j for j in self.rows.values() if j.kind in kinds and j.state in states]
        return sorted(found, key=lambda j: j.created_at, reverse=True)[:limit]
