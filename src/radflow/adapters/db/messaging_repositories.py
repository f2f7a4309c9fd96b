"""SQL repository of patient messaging, and the ORM mapping of its domain classes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, registry, relationship

from radflow.adapters.db import messaging_tables as mt
from radflow.adapters.db.scheduling_tables import scheduling_appointments
from radflow.adapters.db.tables import orders
from radflow.domain.appointment import AppointmentState
from radflow.domain.messaging.contact import Channel, ChannelConsent, ContactPreference
from radflow.domain.messaging.message import REACHED, Message
from radflow.domain.messaging.replies import InboundReply, PatientResponse
from radflow.domain.messaging.rules import SentNotification

M = mt.patient_messages


def map_messaging(reg: registry) -> None:
    """Map preferences (with their consents), messages, replies and responses."""
    reg.map_imperatively(ChannelConsent, mt.channel_consents)
    reg.map_imperatively(ContactPreference, mt.contact_preferences, version_id_col=mt.contact_preferences.c.version,
                         properties={"consents": relationship(ChannelConsent, cascade="all, delete-orphan",
                                                              lazy="selectin",
                                                              order_by=mt.channel_consents.c.id)})
    reg.map_imperatively(Message, M, version_id_col=M.c.version)
    reg.map_imperatively(InboundReply, mt.inbound_replies)
    reg.map_imperatively(PatientResponse, mt.patient_responses)


class SqlMessaging:
    """Contact preferences, message log, replies, responses and no-show models in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def preference(self, patient_id: str, *, for_update: bool = False) -> ContactPreference | None:
        """The patient's preference; `for_update` locks its row on PostgreSQL (SQLite has one writer)."""
        stmt = select(ContactPreference).where(mt.contact_preferences.c.patient_id == patient_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def add_preference(self, preference: ContactPreference) -> None:
        """Store a new preference."""
        self.session.add(preference)

    def preferences_with_address(self, channel: Channel, address: str) -> list[ContactPreference]:
        """Preferences with a consent on `channel` to `address`, locked for this transaction."""
        c = mt.channel_consents
        ids = select(c.c.patient_id).where(c.c.channel == channel.value, c.c.address == address)
        stmt = (select(ContactPreference).where(mt.contact_preferences.c.patient_id.in_(ids))
                .order_by(mt.contact_preferences.c.patient_id).with_for_update())
        return list(self.session.scalars(stmt))

    def add_message(self, message: Message) -> None:
        """Store a new message."""
        self.session.add(message)

    def message_by_key(self, key: str) -> Message | None:
        """The message with this key."""
        return self.session.scalars(select(Message).where(M.c.key == key)).first()

    def messages_for_visit(self, patient_id: str, visit_date: str) -> list[Message]:
        """A visit day's messages, oldest first."""
        stmt = select(Message).where(M.c.patient_id == patient_id, M.c.visit_date == visit_date)
        return list(self.session.scalars(stmt.order_by(M.c.planned_for, M.c.created_at)))

    def messages_for_patient(self, patient_id: str, limit: int = 200) -> list[Message]:
        """The patient's newest messages first."""
        stmt = select(Message).where(M.c.patient_id == patient_id).order_by(M.c.planned_for.desc()).limit(limit)
        return list(self.session.scalars(stmt))

    def messages_planned_between(self, start: datetime, end: datetime, limit: int = 500) -> list[Message]:
        """Messages planned for [start, end)."""
        stmt = (select(Message).where(M.c.planned_for >= start, M.c.planned_for < end)
                .order_by(M.c.planned_for).limit(limit))
        return list(self.session.scalars(stmt))

    def sent_notifications(self, patient_id: str, since: datetime) -> list[SentNotification]:
        """Notifications that reached the patient since `since`, each once (its first channel's time)."""
        stmt = (select(M.c.notification, M.c.sent_at)
                .where(M.c.patient_id == patient_id, M.c.sent_at >= since,
                       M.c.state.in_([s.value for s in REACHED])))
        first: dict[str, datetime] = {}
        for notification, sent_at in self.session.execute(stmt):
            if notification not in first or sent_at < first[notification]:
                first[notification] = sent_at
        return [SentNotification(n, at) for n, at in first.items()]

    def latest_sent_to(self, channel: Channel, addresses: Sequence[str]) -> Message | None:
        """The newest message sent on `channel` to one of these addresses."""
        stmt = (select(Message).where(M.c.channel == channel.value, M.c.to.in_(list(addresses)),
                                      M.c.sent_at.is_not(None))
                .order_by(M.c.sent_at.desc()).limit(1))
        return self.session.scalars(stmt).first()

    def by_gateway_reference(self, reference: str) -> Message | None:
        """The message a delivery report names."""
        return self.session.scalars(select(Message).where(M.c.gateway_reference == reference)).first()

    def add_reply(self, reply: InboundReply) -> bool:
        """Record a reply unless its gateway reference was recorded before."""
        if reply.gateway_reference:
            seen = self.session.execute(select(mt.inbound_replies.c.id).where(
                mt.inbound_replies.c.gateway_reference == reply.gateway_reference)).first()
            if seen is not None:
                return False
        else:
            reply.gateway_reference = None  # type: ignore[assignment]  # NULLs never clash in the unique index
        self.session.add(reply)
        return True

    def replies_for_patient(self, patient_id: str, limit: int = 50) -> list[InboundReply]:
        """The patient's newest replies first."""
        stmt = (select(InboundReply).where(mt.inbound_replies.c.patient_id == patient_id)
                .order_by(mt.inbound_replies.c.received_at.desc()).limit(limit))
        return list(self.session.scalars(stmt))

    def add_response(self, response: PatientResponse) -> None:
        """Record a patient's answer about a visit."""
        self.session.add(response)

    def responses_for_visit(self, patient_id: str, visit_date: str) -> list[PatientResponse]:
        """A visit's recorded answers, oldest first."""
        r = mt.patient_responses
        stmt = select(PatientResponse).where(r.c.patient_id == patient_id, r.c.visit_date == visit_date)
        return list(self.session.scalars(stmt.order_by(r.c.at)))

    def attendance(self, patient_id: str, before: datetime) -> tuple[int, int]:
        """(attended or missed, of which missed) appointments of the patient that began before `before`."""
        a = scheduling_appointments
        stmt = (select(a.c.state, func.count()).where(a.c.patient_id == patient_id, a.c.start < before,
                                                      a.c.state.in_([AppointmentState.ATTENDED.value,
                                                                     AppointmentState.NO_SHOW.value]))
                .group_by(a.c.state))
        counts = {state: int(count) for state, count in self.session.execute(stmt)}
        missed = counts.get(AppointmentState.NO_SHOW, 0)
        return counts.get(AppointmentState.ATTENDED, 0) + missed, missed

    def history(self, since: datetime, until: datetime) -> list[tuple[str, datetime, datetime, str, bool]]:
        """Attended or missed appointments in [since, until) with their order's modality."""
        a = scheduling_appointments
        stmt = (select(a.c.patient_id, a.c.booked_at, a.c.start, orders.c.requested_modality, a.c.state)
                .join(orders, orders.c.id == a.c.order_id)
                .where(a.c.start >= since, a.c.start < until,
                       a.c.state.in_([AppointmentState.ATTENDED.value, AppointmentState.NO_SHOW.value]))
                .order_by(a.c.start))
        return [(p, b, s, m, state is AppointmentState.NO_SHOW) for p, b, s, m, state in self.session.execute(stmt)]

    def current_model(self) -> str | None:
        """The newest fitted model's JSON."""
        n = mt.noshow_models
        row = self.session.execute(select(n.c.document).order_by(n.c.fitted_at.desc()).limit(1)).first()
        return None if row is None else str(row[0])

    def add_model(self, model_id: str, document: str, *, fitted_at: datetime, appointments: int,
                  held_out_auc: str) -> None:
        """Store a fitted model."""
        self.session.execute(insert(mt.noshow_models).values(
            id=model_id, fitted_at=fitted_at, document=document, appointments=appointments,
            held_out_auc=held_out_auc))
