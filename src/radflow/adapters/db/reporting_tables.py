"""The reporting area's tables: reports, reading claims and critical results (on the shared metadata).

The database enforces what must never happen twice: one report per order (unique `order_id`), one
claim per study (the claim's primary key is the order), and concurrent writers of a report or a
critical result meet the optimistic-locking `version`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from radflow.adapters.db.tables import ID, metadata
from radflow.adapters.db.types import EnumText, UtcDateTime, json_list
from radflow.domain.critical_result import CriticalLevel, CriticalState
from radflow.domain.report import ReportState

PERSON = 100  # user ids, or a system component's name ("system:worker")

reports = Table(
    "reports", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("accession_number", String(16), nullable=False),
    Column("study_instance_uid", String(64), nullable=False, default=""),
    Column("template_key", String(64), nullable=False),
    Column("state", EnumText(ReportState, 16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("author_id", String(PERSON), nullable=False),
    Column("author_name", String(200), nullable=False, default=""),
    Column("exam_body_part", String(20), nullable=False, default=""),
    Column("exam_laterality", String(1), nullable=False, default=""),
    Column("clinical_indication", Text, nullable=False, default=""),
    Column("technique", Text, nullable=False, default=""),
    Column("comparison", Text, nullable=False, default=""),
    Column("findings", Text, nullable=False, default=""),
    Column("impression", Text, nullable=False, default=""),
    Column("recommendations", Text, nullable=False, default=""),
    Column("rads", json_list(), nullable=False, default=list),
    Column("communications", json_list(), nullable=False, default=list),
    Column("addenda", json_list(), nullable=False, default=list),
    Column("preliminary_at", UtcDateTime, nullable=True),
    Column("preliminary_by", String(PERSON), nullable=True),
    Column("signed_at", UtcDateTime, nullable=True),
    Column("signed_by", String(PERSON), nullable=True),
    Column("signed_by_name", String(200), nullable=False, default=""),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("log", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
)

reading_claims = Table(
    "reading_claims", metadata,
    # One row per study: a second radiologist's claim meets the primary key (or takes over an expired row).
    Column("order_id", String(ID), ForeignKey("orders.id"), primary_key=True),
    Column("user_id", String(PERSON), nullable=False),
    Column("user_name", String(200), nullable=False, default=""),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

critical_results = Table(
    "critical_results", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("patient_id", String(ID), nullable=False),
    Column("accession_number", String(16), nullable=False),
    Column("report_id", String(ID), ForeignKey("reports.id"), nullable=False),
    Column("level", EnumText(CriticalLevel, 32), nullable=False),
    Column("finding", Text, nullable=False),
    Column("finding_types", json_list(), nullable=False, default=list),
    Column("state", EnumText(CriticalState, 16), nullable=False),
    Column("raised_by", String(PERSON), nullable=False),
    Column("raised_by_name", String(200), nullable=False, default=""),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("step_due_at", UtcDateTime, nullable=False),
    Column("ordering_provider_npi", String(10), nullable=False, default=""),
    Column("ordering_provider_name", String(200), nullable=False, default=""),
    Column("step", Integer, nullable=False, default=0),
    Column("chain_exhausted", Boolean, nullable=False, default=False),
    Column("recipients", json_list(), nullable=False, default=list),
    Column("log", json_list(), nullable=False, default=list),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(PERSON), nullable=False, default=""),
    Column("acknowledged_by_name", String(200), nullable=False, default=""),
    Column("acknowledged_channel", String(20), nullable=False, default=""),
    Column("read_back", Text, nullable=False, default=""),
    Column("communicated_by", String(PERSON), nullable=False, default=""),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("withdrawn_reason", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Index("ix_critical_results_state_due", "state", "due_at"),
)
