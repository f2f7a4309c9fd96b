"""The exam day's tables: studies, check-ins, screening records, the worklist projection, MPPS.

The database holds what must never happen twice: one study, one check-in and one screening record
per order (unique `order_id`); one worklist item per accession (its primary key); one MPPS instance
per SOP Instance UID and one exception per MPPS instance; one room per station AE title. Concurrent
writers of a study, check-in or screening record meet the optimistic-locking `version`; MPPS
instances are compared-and-set on `revision`.

`mwl_items` is a projection kept by in-transaction event handlers; its indexes serve the scanner's
query shapes (PS3.4 K.6.1.2 matching keys a scanner sends): a station's day (station AE + start), a
modality's day (modality + start), a day (start), a patient (DICOM Patient ID). Each row carries the
item's DICOM attribute values ready to answer with.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from radflow.adapters.db.tables import ID, metadata
from radflow.adapters.db.types import EnumText, UtcDateTime, json_dict, json_list, json_type
from radflow.domain.checkin import CheckInState
from radflow.domain.screening.record import ScreeningState
from radflow.domain.study import StudyState

PERSON = 100  # user ids, or a system component's name ("system:dicom")
AE_TITLE = 16  # DICOM AE VR: at most 16 characters (PS3.5 6.2)
UID = 64  # DICOM UI VR

studies = Table(
    "studies", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("accession_number", String(16), nullable=False, index=True),
    Column("study_instance_uid", String(UID), nullable=False),
    Column("modality", String(8), nullable=False),
    Column("state", EnumText(StudyState, 16), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("scheduled_exam", json_dict(), nullable=False, default=dict),
    Column("walk_in", json_dict(), nullable=False, default=dict),
    Column("performed_steps", json_list(), nullable=False, default=list),
    Column("contrast_given", json_list(), nullable=False, default=list),
    Column("doses", json_list(), nullable=False, default=list),
    Column("prescan", json_list(), nullable=False, default=list),
    Column("interruptions", json_list(), nullable=False, default=list),
    Column("qc_reviews", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
    Column("log", json_list(), nullable=False, default=list),
)

checkins = Table(
    "checkins", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("appointment_id", String(ID), nullable=False, default=""),
    Column("state", EnumText(CheckInState, 16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("opened_by", String(PERSON), nullable=False),
    Column("identity", json_list(), nullable=False, default=list),
    Column("coverage_confirmed", String(200), nullable=False, default=""),
    Column("coverage_confirmed_by", String(PERSON), nullable=False, default=""),
    Column("coverage_confirmed_at", UtcDateTime, nullable=True),
    Column("consents", json_list(), nullable=False, default=list),
    Column("mismatches", json_list(), nullable=False, default=list),
    Column("mismatch_resolution", json_dict(), nullable=False, default=dict),
    Column("payment_note", Text, nullable=False, default=""),
    Column("checked_in_at", UtcDateTime, nullable=True),
    Column("checked_in_by", String(PERSON), nullable=False, default=""),
    Column("version", Integer, nullable=False),
    Column("log", json_list(), nullable=False, default=list),
)

screening_records = Table(
    "screening_records", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("patient_id", String(ID), nullable=False, index=True),
    Column("appointment_id", String(ID), nullable=False, default=""),
    # The radiologist review queue is the records in `held`.
    Column("state", EnumText(ScreeningState, 32), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("submissions", json_list(), nullable=False, default=list),
    Column("decisions", json_list(), nullable=False, default=list),
    Column("reviews", json_list(), nullable=False, default=list),
    Column("reviewed_rules", json_list(), nullable=False, default=list),
    Column("version", Integer, nullable=False),
    Column("log", json_list(), nullable=False, default=list),
)

mwl_items = Table(
    "mwl_items", metadata,
    Column("accession_number", String(16), primary_key=True),
    # Empty for items loaded from outside (a benchmark or a migration from another RIS).
    Column("order_id", String(ID), nullable=False, default=""),
    Column("station_ae_title", String(AE_TITLE), nullable=False),
    Column("modality", String(16), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("dicom_patient_id", String(64), nullable=False),
    Column("patient_name", String(324), nullable=False, default=""),
    Column("step_status", String(16), nullable=False, default="SCHEDULED"),
    # The item in the worklist JSON model (keywords, DICOM strings): what the answer is built from.
    Column("item", json_type(), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_mwl_items_station_start", "station_ae_title", "start"),
    Index("ix_mwl_items_modality_start", "modality", "start"),
    Index("ix_mwl_items_start", "start"),
    Index("ix_mwl_items_patient", "dicom_patient_id"),
    Index("ix_mwl_items_order", "order_id"),
)

mpps_instances = Table(
    "mpps_instances", metadata,
    Column("sop_instance_uid", String(UID), primary_key=True),
    Column("status", String(16), nullable=False),
    # PS3.18 F.2 DICOM JSON model of every attribute received so far.
    Column("attributes", json_type(), nullable=False),
    Column("calling_ae", String(AE_TITLE), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("revision", Integer, nullable=False),
)

mpps_exceptions = Table(
    "mpps_exceptions", metadata,
    Column("id", String(ID), primary_key=True),
    Column("sop_instance_uid", String(UID), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("state", String(16), nullable=False, index=True),  # open, reconciled, dismissed
    Column("reason", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("calling_ae", String(AE_TITLE), nullable=False, default=""),
    Column("accession_numbers", Text, nullable=False, default=""),
    Column("patient_id", String(64), nullable=False, default=""),
    Column("patient_name", String(324), nullable=False, default=""),
    Column("step", json_dict(), nullable=False, default=dict),
    # Each status the scanner reported while the step was queued, for an idempotent replay on reconciliation.
    Column("history", json_list(), nullable=False, default=list),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(PERSON), nullable=False, default=""),
    Column("order_ids", json_list(), nullable=False, default=list),
    Column("note", Text, nullable=False, default=""),
)

exam_day_stations = Table(
    "exam_day_stations", metadata,
    # The scheduling area's scanner id (no foreign key: the two areas' migration branches are independent).
    Column("scanner_id", String(40), primary_key=True),
    Column("station_ae_title", String(AE_TITLE), nullable=False, unique=True),
    Column("station_name", String(16), nullable=False, default=""),
    Column("location", String(16), nullable=False, default=""),
    Column("worklist_on", String(16), nullable=False),  # scheduled | check_in
)
