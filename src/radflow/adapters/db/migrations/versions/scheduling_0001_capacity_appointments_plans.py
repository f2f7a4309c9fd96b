"""scheduling tables: sites, scanners, closures, appointments, proposed plans; the overlap rules.

No two booked appointments overlap on one scanner lane, nor for one patient (from `patient_from`,
which includes a tracer uptake wait, to `end`): PostgreSQL refuses it with btree_gist exclusion
constraints on tstzrange, SQLite with triggers that abort. The rule names are those listed in
radflow.adapters.db.scheduling_tables.OVERLAP_RULES.

Revision ID: scheduling_0001
Revises: 0001_foundation
Create Date: 2026-12-01 23:06:35.192370
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'scheduling_0001'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = ('scheduling',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('scheduling_closures',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('site_id', sa.String(length=40), nullable=False),
    sa.Column('scanner_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_closures'))
    )
    with op.batch_alter_table('scheduling_closures', schema=None) as batch_op:
        batch_op.create_index('ix_scheduling_closures_window', ['start', 'end'], unique=False)

    op.create_table('scheduling_plans',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('policy', sa.String(length=32), nullable=False),
    sa.Column('horizon_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('horizon_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_plans'))
    )
    op.create_table('scheduling_sites',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('supervision', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_sites'))
    )
    op.create_table('scheduling_plan_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('track', sa.String(length=16), nullable=False),
    sa.Column('scanner_id', sa.String(length=40), nullable=True),
    sa.Column('site_id', sa.String(length=40), nullable=True),
    sa.Column('start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('appointment_id', sa.String(length=32), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['scheduling_plans.id'], name=op.f('fk_scheduling_plan_lines_plan_id_scheduling_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_plan_lines'))
    )
    with op.batch_alter_table('scheduling_plan_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduling_plan_lines_plan_id'), ['plan_id'], unique=False)

    op.create_table('scheduling_scanners',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('site_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('modality', sa.String(length=8), nullable=False),
    sa.Column('capabilities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('informative', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('table_limit_kg', sa.Integer(), nullable=True),
    sa.Column('opening', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('shifts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reserved', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('overbooking_lanes', sa.Integer(), nullable=False),
    sa.Column('overbooking_reason', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['scheduling_sites.id'], name=op.f('fk_scheduling_scanners_site_id_scheduling_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_scanners'))
    )
    with op.batch_alter_table('scheduling_scanners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduling_scanners_site_id'), ['site_id'], unique=False)

    op.create_table('scheduling_appointments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('scanner_id', sa.String(length=40), nullable=False),
    sa.Column('site_id', sa.String(length=40), nullable=False),
    sa.Column('lane', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('patient_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booked_by', sa.String(length=100), nullable=False),
    sa.Column('visit_id', sa.String(length=32), nullable=False),
    sa.Column('overbooking_policy', sa.Text(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_scheduling_appointments_order_id_orders')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_scheduling_appointments_patient_id_patients')),
    sa.ForeignKeyConstraint(['scanner_id'], ['scheduling_scanners.id'], name=op.f('fk_scheduling_appointments_scanner_id_scheduling_scanners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_appointments'))
    )
    with op.batch_alter_table('scheduling_appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduling_appointments_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_scheduling_appointments_patient_start', ['patient_id', 'start'], unique=False)
        batch_op.create_index('ix_scheduling_appointments_scanner_start', ['scanner_id', 'start'], unique=False)
        batch_op.create_index('ix_scheduling_appointments_start', ['start'], unique=False)
        batch_op.create_index('uq_scheduling_live_appointment_per_order', ['order_id'], unique=True, sqlite_where=sa.text("state = 'booked'"), postgresql_where=sa.text("state = 'booked'"))
    _create_overlap_rules()


def downgrade() -> None:
    """Revert this revision."""
    _drop_overlap_rules()
    with op.batch_alter_table('scheduling_appointments', schema=None) as batch_op:
        batch_op.drop_index('uq_scheduling_live_appointment_per_order', sqlite_where=sa.text("state = 'booked'"), postgresql_where=sa.text("state = 'booked'"))
        batch_op.drop_index('ix_scheduling_appointments_start')
        batch_op.drop_index('ix_scheduling_appointments_scanner_start')
        batch_op.drop_index('ix_scheduling_appointments_patient_start')
        batch_op.drop_index(batch_op.f('ix_scheduling_appointments_order_id'))

    op.drop_table('scheduling_appointments')
    with op.batch_alter_table('scheduling_scanners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduling_scanners_site_id'))

    op.drop_table('scheduling_scanners')
    with op.batch_alter_table('scheduling_plan_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduling_plan_lines_plan_id'))

    op.drop_table('scheduling_plan_lines')
    op.drop_table('scheduling_sites')
    op.drop_table('scheduling_plans')
    with op.batch_alter_table('scheduling_closures', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduling_closures_window')

    op.drop_table('scheduling_closures')


_SQLITE_TRIGGERS = {
    # A booked appointment may not share time with another booked one on the same scanner lane.
    "scheduling_no_lane_overlap": """
        NEW.state = 'booked' AND EXISTS (
            SELECT 1 FROM scheduling_appointments AS other
            WHERE other.state = 'booked' AND other.id <> NEW.id AND other.scanner_id = NEW.scanner_id
              AND other.lane = NEW.lane AND other.start < NEW."end" AND NEW.start < other."end")""",
    # Nor with another booked one of the same patient (waits before a scan included).
    "scheduling_no_patient_overlap": """
        NEW.state = 'booked' AND EXISTS (
            SELECT 1 FROM scheduling_appointments AS other
            WHERE other.state = 'booked' AND other.id <> NEW.id AND other.patient_id = NEW.patient_id
              AND other.patient_from < NEW."end" AND NEW.patient_from < other."end")""",
}


def _create_overlap_rules() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # btree_gist gives GiST the equality operator classes for text and integer columns
        # (PostgreSQL docs F.9); it is a trusted extension, so the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        op.execute("""ALTER TABLE scheduling_appointments ADD CONSTRAINT scheduling_no_lane_overlap
                      EXCLUDE USING gist (scanner_id WITH =, lane WITH =, tstzrange(start, "end") WITH &&)
                      WHERE (state = 'booked')""")
        op.execute("""ALTER TABLE scheduling_appointments ADD CONSTRAINT scheduling_no_patient_overlap
                      EXCLUDE USING gist (patient_id WITH =, tstzrange(patient_from, "end") WITH &&)
                      WHERE (state = 'booked')""")
        return
    for name, condition in _SQLITE_TRIGGERS.items():
        for moment in ("INSERT", "UPDATE"):
            op.execute(f"""CREATE TRIGGER {name}_{moment.lower()} BEFORE {moment} ON scheduling_appointments
                           WHEN {condition}
                           BEGIN SELECT RAISE(ABORT, '{name}: overlapping booked appointments'); END""")


def _drop_overlap_rules() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"ALTER TABLE scheduling_appointments DROP CONSTRAINT IF EXISTS {name}")
        return
    for name in _SQLITE_TRIGGERS:
        for moment in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{moment}")
