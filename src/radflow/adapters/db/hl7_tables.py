"""The HL7 interface's tables: the message store, its search references, and the sender mappings."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from radflow.adapters.db.tables import ID, metadata
from radflow.adapters.db.types import EnumText, UtcDateTime, json_list
from radflow.domain.hl7_message import MessageStatus, ReferenceKind

hl7_messages = Table(
    "hl7_messages", metadata,
    Column("id", String(ID), primary_key=True),
    # HD is up to 227 characters; MSH-10 is an ST of 20 (199 from 2.6 on, which some senders use).
    Column("sending_application", String(230), nullable=False),
    Column("sending_facility", String(230), nullable=False),
    Column("control_id", String(200), nullable=True),
    Column("variant", String(64), nullable=False, default=""),
    Column("message_type", String(20), nullable=False),
    Column("version", String(10), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("peer", String(100), nullable=False, default=""),
    Column("raw", LargeBinary, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("status", EnumText(MessageStatus, 20), nullable=False),
    Column("sender_name", String(200), nullable=False, default=""),
    Column("ack", LargeBinary, nullable=False),
    Column("ack_code", String(2), nullable=False, default=""),
    Column("error_code", String(5), nullable=False, default=""),
    Column("error_location", String(60), nullable=False, default=""),
    Column("error_text", Text, nullable=False, default=""),
    Column("deliveries", Integer, nullable=False, default=1),
    Column("last_delivered_at", UtcDateTime, nullable=True),
    Column("processed_at", UtcDateTime, nullable=True),
    Column("processings", Integer, nullable=False, default=0),
    Column("patient_id", String(ID), nullable=True),
    Column("duplicate_of_id", String(ID), nullable=True),
    Column("log", json_list(), nullable=False, default=list),
    # Exactly once (HL7 2.5.1 2.9.2: MSH-10 with MSH-3/MSH-4 identifies a message): the database
    # refuses a second row for the same message, so two connections delivering it at once cannot
    # both apply it. A later, different content under the same id is a second row with a variant.
    UniqueConstraint("sending_application", "sending_facility", "control_id", "variant",
                     name="uq_hl7_messages_message_key"),
    Index("ix_hl7_messages_received_at", "received_at"),
    Index("ix_hl7_messages_status_received", "status", "received_at"),
)

hl7_message_refs = Table(
    "hl7_message_refs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(ID), ForeignKey("hl7_messages.id"), nullable=False, index=True),
    Column("kind", EnumText(ReferenceKind, 16), nullable=False),
    Column("value", String(64), nullable=False),
    Index("ix_hl7_message_refs_kind_value", "kind", "value"),
)

hl7_mappings = Table(
    "hl7_mappings", metadata,
    # Every load is a new row; the newest is in use, in every process (DESIGN §4: no process-local state).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("loaded_by", String(100), nullable=False),
    Column("source", String(255), nullable=False, default=""),
    Column("content", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("default_timezone", String(64), nullable=False),
)
