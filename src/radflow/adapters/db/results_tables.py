"""The results area's tables: distributions, release holds, who tells the patient, follow-ups, biopsies, requests.

The database keeps what must exist once: one distribution per report, version, recipient and channel
(unique `key`), one follow-up per source and recommendation (unique `key`), one responsibility record
per order (its primary key); every aggregate carries an optimistic-locking `version`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from radflow.adapters.db.tables import ID, metadata
from radflow.adapters.db.types import EnumText, UtcDateTime, json_dict, json_list
from radflow.domain.distribution import DeliveryChannel, DistributionState, Purpose, RecipientKind
from radflow.domain.followup import FollowUpSource, FollowUpState
from radflow.domain.mammography_outcomes import PathologyOutcome
from radflow.domain.records_request import RequestState
from radflow.domain.release import HoldReason, HoldState, Responsible

PERSON = 100  # user ids, or a system component's name ("system:results")

distributions = Table(
    "distributions", metadata,
    Column("id", String(ID), primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("report_id", String(ID), nullable=False, index=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("accession_number", String(16), nullable=False),
    Column("purpose", EnumText(Purpose, 20), nullable=False),
    Column("recipient_kind", EnumText(RecipientKind, 20), nullable=False),
    Column("recipient_ref", String(200), nullable=False),
    Column("recipient_name", String(200), nullable=False, default=""),
    Column("channel", EnumText(DeliveryChannel, 10), nullable=False),
    Column("state", EnumText(DistributionState, 12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("report_version", Integer, nullable=False, default=0),
    Column("address", String(300), nullable=False, default=""),
    Column("due_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("first_opened_at", UtcDateTime, nullable=True),
    Column("first_opened_by", String(PERSON), nullable=False, default=""),
    Column("first_opened_by_name", String(200), nullable=False, default=""),
    Column("open_count", Integer, nullable=False, default=0),
    Column("actionable", Boolean, nullable=False, default=False),
    Column("actionable_reasons", json_list(), nullable=False, default=list),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("escalated_to", json_list(), nullable=False, default=list),
    Column("job_key", String(300), nullable=False, default=""),
    Column("gateway_reference", String(200), nullable=False, default=""),
    Column("details", json_dict(), nullable=False, default=dict),
    Column("log", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
    Index("ix_distributions_recipient", "recipient_kind", "recipient_ref", "created_at"),
    Index("ix_distributions_purpose_due", "purpose", "state", "due_at"),
)

release_holds = Table(
    "release_holds", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("patient_id", String(ID), nullable=False),
    Column("reason", EnumText(HoldReason, 20), nullable=False),
    Column("explanation", Text, nullable=False, default=""),
    Column("placed_by", String(PERSON), nullable=False),
    Column("placed_by_name", String(200), nullable=False, default=""),
    Column("placed_by_role", String(32), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("state", EnumText(HoldState, 10), nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_by", String(PERSON), nullable=False, default=""),
    Column("end_reason", Text, nullable=False, default=""),
    Column("log", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
)

result_communications = Table(
    "result_communications", metadata,
    Column("order_id", String(ID), ForeignKey("orders.id"), primary_key=True),
    Column("patient_id", String(ID), nullable=False),
    Column("responsible", EnumText(Responsible, 20), nullable=False),
    Column("basis", Text, nullable=False),
    Column("set_by", String(PERSON), nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    Column("log", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
)

followups = Table(
    "followups", metadata,
    Column("id", String(ID), primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("patient_id", String(ID), nullable=False),
    Column("source", EnumText(FollowUpSource, 20), nullable=False),
    Column("source_order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("source_accession", String(16), nullable=False),
    Column("recommendation", Text, nullable=False),
    Column("modality", String(4), nullable=True),
    Column("body_region", String(32), nullable=False, default=""),
    Column("procedure", String(200), nullable=False, default=""),
    Column("due_date", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("state", EnumText(FollowUpState, 12), nullable=False),
    Column("source_report_id", String(ID), nullable=False, default=""),
    Column("due_date_latest", Date, nullable=True),
    Column("rule", String(200), nullable=False, default=""),
    Column("rule_source", Text, nullable=False, default=""),
    Column("responsible_npi", String(10), nullable=False, default=""),
    Column("responsible_name", String(200), nullable=False, default=""),
    Column("reminders", json_list(), nullable=False, default=list),
    Column("overdue_at", UtcDateTime, nullable=True),
    Column("escalated_to", json_list(), nullable=False, default=list),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("completed_by_order_id", String(ID), nullable=False, default=""),
    Column("completed_accession", String(16), nullable=False, default=""),
    Column("closed_reason", Text, nullable=False, default=""),
    Column("closed_by", String(PERSON), nullable=False, default=""),
    Column("log", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
    Index("ix_followups_state_due", "state", "due_date"),
    Index("ix_followups_patient_state", "patient_id", "state"),
)

biopsy_results = Table(
    "biopsy_results", metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("biopsy_date", Date, nullable=False),
    Column("laterality", String(1), nullable=False, default=""),
    Column("outcome", EnumText(PathologyOutcome, 12), nullable=False),
    Column("pathology_text", Text, nullable=False),
    Column("recorded_by", String(PERSON), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("source", String(200), nullable=False, default=""),
    Column("version", Integer, nullable=False),
)

records_requests = Table(
    "records_requests", metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("items", json_list(), nullable=False, default=list),
    Column("order_ids", json_list(), nullable=False, default=list),
    Column("delivery", String(12), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("requested_by", String(PERSON), nullable=False),
    Column("requester_name", String(200), nullable=False, default=""),
    Column("state", EnumText(RequestState, 12), nullable=False),
    Column("third_party", Boolean, nullable=False, default=False),
    Column("recipient", Text, nullable=False, default=""),
    Column("release_form_document_id", String(ID), nullable=False, default=""),
    Column("extended", Boolean, nullable=False, default=False),
    Column("extension_reason", Text, nullable=False, default=""),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("answer", Text, nullable=False, default=""),
    Column("log", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
    Index("ix_records_requests_state_due", "state", "due_at"),
)
