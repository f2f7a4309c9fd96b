"""Scheduling tables: sites, scanners and their calendars, closures, appointments, proposed plans.

No two booked appointments overlap on one scanner lane or for one patient: the database refuses it
(PostgreSQL: btree_gist exclusion constraints on tstzrange; SQLite: triggers), created by the
migration `scheduling_0001` — see OVERLAP_RULES for their names, which the services turn into
messages a scheduler can act on.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, text

from radflow.adapters.db.tables import ID, metadata
from radflow.adapters.db.types import EnumText, UtcDateTime, json_dict, json_list
from radflow.domain.appointment import AppointmentState
from radflow.domain.capacity.model import ClosureKind
from radflow.domain.protocols import Modality

CODE = 40  # site and scanner ids are short codes a center chooses ("MAIN", "MR1")

#: Database rule name -> what a scheduler is told when it refuses a booking.
OVERLAP_RULES = {
    "scheduling_no_lane_overlap": "that scanner lane is already booked at that time",
    "scheduling_no_patient_overlap": "the patient already has an exam booked at that time",
    "uq_scheduling_live_appointment_per_order": "the order already has a booked appointment",
    # SQLite names the columns of a unique index, not the index.
    "scheduling_appointments.order_id": "the order already has a booked appointment",
}

scheduling_sites = Table(
    "scheduling_sites", metadata,
    Column("id", String(CODE), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("phone", String(40), nullable=False, default=""),
    Column("address", String(300), nullable=False, default=""),
    Column("supervision", json_list(), nullable=False, default=list),
)

scheduling_scanners = Table(
    "scheduling_scanners", metadata,
    Column("id", String(CODE), primary_key=True),
    Column("site_id", String(CODE), ForeignKey("scheduling_sites.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("modality", EnumText(Modality, 8), nullable=False),
    Column("capabilities", json_list(), nullable=False, default=list),
    Column("informative", json_list(), nullable=False, default=list),
    Column("table_limit_kg", Integer, nullable=True),
    Column("opening", json_list(), nullable=False, default=list),
    Column("shifts", json_list(), nullable=False, default=list),
    Column("reserved", json_list(), nullable=False, default=list),
    Column("overbooking_lanes", Integer, nullable=False, default=0),
    Column("overbooking_reason", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
)

scheduling_closures = Table(
    "scheduling_closures", metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", EnumText(ClosureKind, 24), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("site_id", String(CODE), nullable=False, default=""),
    Column("scanner_id", String(CODE), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("created_by", String(100), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_scheduling_closures_window", "start", "end"),
)

scheduling_appointments = Table(
    "scheduling_appointments", metadata,
    Column("id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("orders.id"), nullable=False, index=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("scanner_id", String(CODE), ForeignKey("scheduling_scanners.id"), nullable=False),
    Column("site_id", String(CODE), nullable=False),
    Column("lane", Integer, nullable=False, default=0),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("patient_from", UtcDateTime, nullable=False),
    Column("state", EnumText(AppointmentState, 16), nullable=False),
    Column("booked_at", UtcDateTime, nullable=False),
    Column("booked_by", String(100), nullable=False),
    Column("visit_id", String(ID), nullable=False, default=""),
    Column("overbooking_policy", Text, nullable=False, default=""),
    Column("cancel_reason", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("log", json_list(), nullable=False, default=list),
    Index("ix_scheduling_appointments_scanner_start", "scanner_id", "start"),
    Index("ix_scheduling_appointments_patient_start", "patient_id", "start"),
    Index("ix_scheduling_appointments_start", "start"),
    # One live appointment per order (the order's state is the pipeline's truth: one slot at a time).
    Index("uq_scheduling_live_appointment_per_order", "order_id", unique=True,
          sqlite_where=text("state = 'booked'"), postgresql_where=text("state = 'booked'")),
)

scheduling_plans = Table(
    "scheduling_plans", metadata,
    Column("id", String(ID), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("policy", String(32), nullable=False),
    Column("horizon_start", UtcDateTime, nullable=False),
    Column("horizon_end", UtcDateTime, nullable=False),
    Column("seconds", Integer, nullable=False),
    Column("summary", json_dict(), nullable=False, default=dict),
)

scheduling_plan_lines = Table(
    "scheduling_plan_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", String(ID), ForeignKey("scheduling_plans.id"), nullable=False, index=True),
    Column("order_id", String(ID), nullable=False),
    Column("patient_id", String(ID), nullable=False),
    Column("track", String(16), nullable=False),
    Column("scanner_id", String(CODE), nullable=True),
    Column("site_id", String(CODE), nullable=True),
    Column("start", UtcDateTime, nullable=True),
    Column("end", UtcDateTime, nullable=True),
    Column("on_time", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("appointment_id", String(ID), nullable=True),
    Column("message", Text, nullable=False, default=""),
)
