"""In-memory fake of the messaging repository, beside its port (unit tests, simulation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.messaging.contact import Channel, ContactPreference
from radflow.domain.messaging.message import REACHED, Message
from radflow.domain.messaging.replies import InboundReply, PatientResponse
from radflow.domain.messaging.rules import SentNotification
from radflow.domain.order import Order
from radflow.services.memory import MemoryStore

since_ever = datetime(1970, 1, 1, tzinfo=UTC)


class MemoryMessaging:
    """The messaging repository over a MemoryStore."""

    def __init__(self, store: MemoryStore) -> None:
        self.preferences: dict[str, ContactPreference] = store.table("contact_preferences")
        self.messages: dict[str, Message] = store.table("patient_messages")
        self.replies: dict[str, InboundReply] = store.table("inbound_replies")
        self.responses: dict[str, PatientResponse] = store.table("patient_responses")
        self.models: dict[str, tuple[datetime, str]] = store.table("noshow_models")
        self.appointments: dict[str, Appointment] = store.table("appointments")
        self.orders: dict[str, Order] = store.table("orders")

    def preference(self, patient_id: str, *, for_update: bool = False) -> ContactPreference | None:
        """The patient's preference."""
        return self.preferences.get(patient_id)

    def add_preference(self, preference: ContactPreference) -> None:
        """Store a new preference."""
        self.preferences[preference.patient_id] = preference

    def preferences_with_address(self, channel: Channel, address: str) -> list[ContactPreference]:
        """Preferences with a consent on `channel` to `address`."""
        return [p for _, p in sorted(self.preferences.items())
                if any(c.channel is channel and c.address == address for c in p.consents)]

    def add_message(self, message: Message) -> None:
        """Store a new message (the key is unique, as in the database)."""
        if any(m.key == message.key for m in self.messages.values()):
            from radflow.domain.errors import Conflict

            raise Conflict(f"a message with key {message.key} exists")
        self.messages[message.id] = message

    def message_by_key(self, key: str) -> Message | None:
        """The message with this key."""
        return next((m for m in self.messages.values() if m.key == key), None)

    def messages_for_visit(self, patient_id: str, visit_date: str) -> list[Message]:
        """A visit day's messages."""
        return sorted((m for m in self.messages.values() if m.patient_id == patient_id
                       and m.visit_date == visit_date), key=lambda m: (m.planned_for, m.created_at))

    def messages_for_patient(self, patient_id: str, limit: int = 200) -> list[Message]:
        """The patient's newest messages first."""
        found = [m for m in self.messages.values() if m.patient_id == patient_id]
        return sorted(found, key=lambda m: m.planned_for, reverse=True)[:limit]

    def messages_planned_between(self, start: datetime, end: datetime, limit: int = 500) -> list[Message]:
        """Messages planned for [start, end)."""
        return sorted((m for m in self.messages.values() if start <= m.planned_for < end),
                      key=lambda m: m.planned_for)[:limit]

    def sent_notifications(self, patient_id: str, since: datetime) -> list[SentNotification]:
        """Notifications that reached the patient since `since`."""
        first: dict[str, datetime] = {}
        for m in self.messages.values():
            reached = m.patient_id == patient_id and m.state in REACHED and m.sent_at is not None
            if reached and m.sent_at is not None and m.sent_at >= since and (
                    m.notification not in first or m.sent_at < first[m.notification]):
                first[m.notification] = m.sent_at
        return [SentNotification(n, at) for n, at in first.items()]

    def latest_sent_to(self, channel: Channel, addresses: Sequence[str]) -> Message | None:
        """The newest message sent on `channel` to one of these addresses."""
        sent = [m for m in self.messages.values()
                if m.channel is channel and m.to in addresses and m.sent_at is not None]
        return max(sent, key=lambda m: m.sent_at or since_ever) if sent else None

    def by_gateway_reference(self, reference: str) -> Message | None:
        """The message a delivery report names."""
        return next((m for m in self.messages.values() if m.gateway_reference == reference), None)

    def add_reply(self, reply: InboundReply) -> bool:
        """Record a reply unless its reference was seen."""
        if reply.gateway_reference and any(r.gateway_reference == reply.gateway_reference
                                           for r in self.replies.values()):
            return False
        self.replies[reply.id] = reply
        return True

    def replies_for_patient(self, patient_id: str, limit: int = 50) -> list[InboundReply]:
        """The patient's newest replies first."""
        found = [r for r in self.replies.values() if r.patient_id == patient_id]
        return sorted(found, key=lambda r: r.received_at, reverse=True)[:limit]

    def add_response(self, response: PatientResponse) -> None:
        """Record a patient's answer."""
        self.responses[response.id] = response

    def responses_for_visit(self, patient_id: str, visit_date: str) -> list[PatientResponse]:
        """A visit's answers, oldest first."""
        return sorted((r for r in self.responses.values() if r.patient_id == patient_id
                       and r.visit_date == visit_date), key=lambda r: r.at)

    def attendance(self, patient_id: str, before: datetime) -> tuple[int, int]:
        """(attended or missed, of which missed) appointments that began before `before`."""
        past = [a for a in self.appointments.values() if a.patient_id == patient_id and a.start < before
                and a.state in (AppointmentState.ATTENDED, AppointmentState.NO_SHOW)]
        return len(past), sum(1 for a in past if a.state is AppointmentState.NO_SHOW)

    def history(self, since: datetime, until: datetime) -> list[tuple[str, datetime, datetime, str, bool]]:
        """Attended or missed appointments in [since, until) with their order's modality."""
        rows = []
        for a in sorted(self.appointments.values(), key=lambda a: a.start):
            if since <= a.start < until and a.state in (AppointmentState.ATTENDED, AppointmentState.NO_SHOW):
                order = self.orders.get(a.order_id)
                rows.append((a.patient_id, a.booked_at, a.start, order.requested_modality if order else "",
                             a.state is AppointmentState.NO_SHOW))
        return rows

    def current_model(self) -> str | None:
        """The newest fitted model's JSON."""
        if not self.models:
            return None
        return max(self.models.values(), key=lambda item: item[0])[1]

    def add_model(self, model_id: str, document: str, *, fitted_at: datetime, appointments: int,
                  held_out_auc: str) -> None:
        """Store a fitted model."""
        self.models[model_id] = (fitted_at, document)
