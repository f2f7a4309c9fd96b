"""The foundation's tables. Other areas declare theirs in their own modules on the same metadata."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from radflow.adapters.db.types import EnumText, UtcDateTime, json_dict, json_list
from radflow.domain.audit import Outcome
from radflow.domain.authorization import AuthorizationState
from radflow.domain.jobs import JobState
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Laterality, Track
from radflow.domain.patient import Sex
from radflow.domain.payer_rules import CareSetting
from radflow.domain.protocols import ContrastPhase
from radflow.domain.referral import DocumentKind, DocumentSource, ReferralChannel
from radflow.domain.users import Role

# Stable constraint names, so that Alembic migrations can refer to them on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 32  # hex UUIDs


def _id() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


patients = Table(
    "patients", metadata,
    _id(),
    Column("family_name", String(100), nullable=False),
    Column("given_name", String(100), nullable=False),
    Column("middle_name", String(100), nullable=False, default=""),
    Column("birth_date", Date, nullable=False),
    Column("sex", EnumText(Sex, 1), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("phone", String(40), nullable=False, default=""),
    # The phone's match key (domain.values.phone_match_key), kept by the mapping: the duplicate check
    # and phone searches look it up by index instead of normalising every row's phone.
    Column("phone_key", String(7), nullable=False, default="", server_default=""),
    Column("email", String(200), nullable=False, default=""),
    Column("address_line", String(200), nullable=False, default=""),
    Column("city", String(100), nullable=False, default=""),
    Column("state", String(50), nullable=False, default=""),
    Column("postal_code", String(20), nullable=False, default=""),
    Column("preferred_language", String(20), nullable=False, default="en"),
    Column("probable_duplicate_ids", json_list(), nullable=False, default=list),
    Column("merged_into_id", String(ID), nullable=True),
    Column("is_temporary", Boolean, nullable=False, default=False),
    Index("ix_patients_birth_date", "birth_date"),
    Index("ix_patients_phone", "phone"),
    Index("ix_patients_family_name", "family_name"),
    Index("ix_patients_phone_key", "phone_key"),
)
# The duplicate check compares family names case-blind; without this index it reads every patient.
Index("ix_patients_family_upper", func.upper(patients.c.family_name))

patient_identifiers = Table(
    "patient_identifiers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("authority", String(64), nullable=False),
    Column("value", String(64), nullable=False),
    Column("type_code", String(8), nullable=False, default="MR"),
    # One authority never gives the same identifier to two records: the database enforces it.
    UniqueConstraint("authority", "value", "type_code", name="uq_patient_identifiers_authority_value"),
)

referrals = Table(
    "referrals", metadata,
    _id(),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("channel", EnumText(ReferralChannel, 20), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("received_by", String(64), nullable=False),
    Column("source_organization", String(200), nullable=False, default=""),
    Column("source_provider_name", String(200), nullable=False, default=""),
    Column("source_provider_npi", String(10), nullable=False, default=""),
    Column("reply_fax", String(40), nullable=False, default=""),
    Column("reply_email", String(200), nullable=False, default=""),
    Column("reply_phone", String(40), nullable=False, default=""),
    Column("external_reference", String(100), nullable=False, default=""),
    Column("notes", Text, nullable=False, default=""),
)

orders = Table(
    "orders", metadata,
    _id(),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("referral_id", String(ID), ForeignKey("referrals.id"), nullable=True, index=True),
    Column("accession_number", String(16), nullable=False, unique=True),
    Column("study_instance_uid", String(64), nullable=False, unique=True),
    Column("placer_order_number", String(64), nullable=False, default=""),
    Column("placer_system", String(64), nullable=False, default=""),
    Column("protocol_code", String(40), nullable=False),
    Column("requested_modality", String(4), nullable=False),
    Column("contrast", EnumText(ContrastPhase, 20), nullable=True),
    Column("cpt_code", String(10), nullable=False, default=""),
    Column("body_part", String(20), nullable=False, default=""),
    Column("laterality", EnumText(Laterality, 1), nullable=True),
    Column("reason_for_exam", Text, nullable=False, default=""),
    Column("diagnosis_codes", json_list(), nullable=False, default=list),
    Column("clinical_notes", Text, nullable=False, default=""),
    Column("ordering_provider_npi", String(10), nullable=False, default="", index=True),
    Column("ordering_provider_name", String(200), nullable=False, default=""),
    Column("copy_to", json_list(), nullable=False, default=list),
    Column("priority", EnumText(Track, 10), nullable=False),
    Column("track", EnumText(Track, 10), nullable=False),
    Column("setting", EnumText(CareSetting, 20), nullable=False),
    Column("coverage_id", String(ID), ForeignKey("coverages.id"), nullable=True),
    Column("self_pay", Boolean, nullable=False, default=False),
    Column("special_instructions", Text, nullable=False, default=""),
    Column("protocolled_by", String(64), nullable=True),
    Column("protocolled_at", UtcDateTime, nullable=True),
    Column("missing_items", json_list(), nullable=False, default=list),
    Column("state", EnumText(OrderState, 32), nullable=False),
    Column("held_from", EnumText(OrderState, 32), nullable=True),
    Column("cancel_reason", Text, nullable=False, default=""),
    Column("received_at", UtcDateTime, nullable=False),
    Column("target_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_orders_state_received", "state", "received_at"),
    Index("ix_orders_placer", "placer_system", "placer_order_number"),
)

order_transitions = Table(
    "order_transitions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(64), nullable=False),
    Column("event", String(40), nullable=False),
    Column("from_state", String(32), nullable=True),
    Column("to_state", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("details", json_dict(), nullable=False, default=dict),
    # Two writers cannot both add line N to one order's timeline.
    UniqueConstraint("order_id", "seq", name="uq_order_transitions_order_seq"),
)

document_contents = Table(
    "document_contents", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

documents = Table(
    "documents", metadata,
    _id(),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=True, index=True),
    Column("referral_id", String(ID), ForeignKey("referrals.id"), nullable=True, index=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=True, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("sha256", String(64), ForeignKey("document_contents.sha256"), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("kind", EnumText(DocumentKind, 20), nullable=False),
    Column("source", EnumText(DocumentSource, 20), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("received_by", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
)

coverages = Table(
    "coverages", metadata,
    _id(),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("payer_id", String(64), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("group_number", String(64), nullable=False, default=""),
    Column("plan_name", String(200), nullable=False, default=""),
    Column("subscriber_name", String(200), nullable=False, default=""),
    Column("relationship", String(20), nullable=False, default="self"),
    Column("active", Boolean, nullable=False, default=True),
    Column("verified_at", UtcDateTime, nullable=True),
)

authorizations = Table(
    "authorizations", metadata,
    _id(),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("payer_id", String(64), nullable=False),
    Column("cpt_code", String(10), nullable=False),
    Column("state", EnumText(AuthorizationState, 20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("rule_id", String(100), nullable=False, default=""),
    Column("rule_citation", Text, nullable=False, default=""),
    Column("assigned_to", String(64), nullable=True),
    Column("payer_reference", String(100), nullable=False, default=""),
    Column("authorization_number", String(100), nullable=False, default=""),
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_until", UtcDateTime, nullable=True),
    Column("denial_reason", Text, nullable=False, default=""),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("log", json_list(), nullable=False, default=list),
)

users = Table(
    "users", metadata,
    _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", EnumText(Role, 32), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("npi", String(10), nullable=False, default="", index=True),
    Column("patient_id", String(ID), nullable=True),
    Column("proxy_patient_ids", json_list(), nullable=False, default=list),
    Column("covers_npis", json_list(), nullable=False, default=list),
    Column("is_section_chief", Boolean, nullable=False, default=False),
    Column("is_lead_technologist", Boolean, nullable=False, default=False),
    Column("email", String(200), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
)

web_sessions = Table(
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("source", String(100), nullable=False, default=""),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

jobs = Table(
    "jobs", metadata,
    # An integer sequence orders jobs of one queue by creation, whatever their retries did to due_at.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(ID), nullable=False, unique=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(255), nullable=False, unique=True),
    Column("payload", json_dict(), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("state", EnumText(JobState, 16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=8),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("queue", String(100), nullable=False, default=""),
    Column("result", json_dict(), nullable=False, default=dict),
    Index("ix_jobs_state_due", "state", "due_at"),
    Index("ix_jobs_queue_state", "queue", "state", "seq"),
)

audit_records = Table(
    "audit_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("user_id", String(100), nullable=False),
    Column("username", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", EnumText(Outcome, 16), nullable=False),
    Column("source", String(200), nullable=False),
    Column("patient_id", String(ID), nullable=False, default=""),
    Column("object_type", String(40), nullable=False, default=""),
    Column("object_id", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("record_mac", String(64), nullable=False),
    Column("seq", Integer, nullable=True, unique=True),
    Column("chain_mac", String(64), nullable=True),
    Index("ix_audit_records_patient", "patient_id", "at"),
    Index("ix_audit_records_unsequenced", "seq", "id"),
)

counters = Table(
    "counters", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
