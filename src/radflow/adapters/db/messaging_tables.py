"""Tables of patient messaging: contact preferences and consent, the message log, replies, no-show models."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, Time

from radflow.adapters.db.tables import ID, metadata
from radflow.adapters.db.types import EnumText, UtcDateTime, json_list
from radflow.domain.messaging.contact import Channel
from radflow.domain.messaging.message import MessageState
from radflow.domain.messaging.replies import ResponseKind
from radflow.domain.messaging.rules import Purpose

contact_preferences = Table(
    "contact_preferences", metadata,
    Column("patient_id", String(ID), ForeignKey("patients.id"), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("channels", json_list(), nullable=False, default=list),
    Column("earliest", Time, nullable=False),
    Column("latest", Time, nullable=False),
    Column("exam_name_in_texts", Boolean, nullable=False, default=False),
    Column("language", String(20), nullable=False, default="en"),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False, default=1),
)

channel_consents = Table(
    "channel_consents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(ID), ForeignKey("contact_preferences.patient_id"), nullable=False, index=True),
    Column("channel", EnumText(Channel, 16), nullable=False),
    Column("address", String(200), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("granted_how", String(200), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_how", String(200), nullable=False, default=""),
)

patient_messages = Table(
    "patient_messages", metadata,
    Column("id", String(ID), primary_key=True),
    # The key is the email's Message-ID and the gateway's idempotency key: one row per message.
    Column("key", String(255), nullable=False, unique=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("channel", EnumText(Channel, 16), nullable=False),
    Column("purpose", EnumText(Purpose, 20), nullable=False),
    Column("notification", String(200), nullable=False),
    Column("planned_for", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("appointment_ids", json_list(), nullable=False, default=list),
    Column("order_ids", json_list(), nullable=False, default=list),
    Column("visit_date", String(10), nullable=False, default=""),
    Column("state", EnumText(MessageState, 16), nullable=False),
    Column("to", String(200), nullable=False, default=""),
    Column("subject", String(300), nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("held_until", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("gateway_reference", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("history", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_patient_messages_patient_visit", "patient_id", "visit_date"),
    Index("ix_patient_messages_patient_sent", "patient_id", "sent_at"),
    Index("ix_patient_messages_to_sent", "to", "sent_at"),
    Index("ix_patient_messages_reference", "gateway_reference"),
    Index("ix_patient_messages_state_planned", "state", "planned_for"),
)

inbound_replies = Table(
    "inbound_replies", metadata,
    Column("id", String(ID), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("from_address", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("intent", String(32), nullable=False),
    # A gateway that retries its webhook sends the same reference: the second delivery is refused.
    Column("gateway_reference", String(200), nullable=True, unique=True),
    Column("patient_id", String(ID), nullable=True, index=True),
    Column("message_key", String(255), nullable=False, default=""),
    Column("appointment_ids", json_list(), nullable=False, default=list),
    Column("outcome", Text, nullable=False, default=""),
)

patient_responses = Table(
    "patient_responses", metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("visit_date", String(10), nullable=False),
    Column("kind", EnumText(ResponseKind, 24), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("via", String(16), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("appointment_ids", json_list(), nullable=False, default=list),
    Column("note", Text, nullable=False, default=""),
    Index("ix_patient_responses_patient_visit", "patient_id", "visit_date"),
)

noshow_models = Table(
    "noshow_models", metadata,
    Column("id", String(ID), primary_key=True),
    Column("fitted_at", UtcDateTime, nullable=False),
    Column("document", Text, nullable=False),  # the model as JSON (radflow.adapters.noshow_model)
    Column("appointments", Integer, nullable=False),
    Column("held_out_auc", String(16), nullable=False, default=""),
)
