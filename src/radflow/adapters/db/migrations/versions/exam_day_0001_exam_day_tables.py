"""exam day tables: studies, check-ins, screening records, the modality worklist projection, MPPS.

One study, check-in and screening record per order (unique order_id, optimistic-locking version);
one worklist item per accession, indexed for a station's day, a modality's day, a day and a patient;
one MPPS instance per SOP Instance UID (revision for compare-and-set) and one exception per instance;
one room per station AE title.

Revision ID: exam_day_0001
Revises: 0001_foundation
Create Date: 2026-12-01 23:23:47.032807
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'exam_day_0001'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = ('exam_day',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('mpps_exceptions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('calling_ae', sa.String(length=16), nullable=False),
    sa.Column('accession_numbers', sa.Text(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('patient_name', sa.String(length=324), nullable=False),
    sa.Column('step', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('history', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=False),
    sa.Column('order_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mpps_exceptions')),
    sa.UniqueConstraint('sop_instance_uid', name=op.f('uq_mpps_exceptions_sop_instance_uid'))
    )
    with op.batch_alter_table('mpps_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mpps_exceptions_state'), ['state'], unique=False)

    op.create_table('mpps_instances',
    sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('calling_ae', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('sop_instance_uid', name=op.f('pk_mpps_instances'))
    )
    op.create_table('mwl_items',
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('station_ae_title', sa.String(length=16), nullable=False),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dicom_patient_id', sa.String(length=64), nullable=False),
    sa.Column('patient_name', sa.String(length=324), nullable=False),
    sa.Column('step_status', sa.String(length=16), nullable=False),
    sa.Column('item', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('accession_number', name=op.f('pk_mwl_items'))
    )
    with op.batch_alter_table('mwl_items', schema=None) as batch_op:
        batch_op.create_index('ix_mwl_items_modality_start', ['modality', 'start'], unique=False)
        batch_op.create_index('ix_mwl_items_order', ['order_id'], unique=False)
        batch_op.create_index('ix_mwl_items_patient', ['dicom_patient_id'], unique=False)
        batch_op.create_index('ix_mwl_items_start', ['start'], unique=False)
        batch_op.create_index('ix_mwl_items_station_start', ['station_ae_title', 'start'], unique=False)

    op.create_table('exam_day_stations',
    sa.Column('scanner_id', sa.String(length=40), nullable=False),
    sa.Column('station_ae_title', sa.String(length=16), nullable=False),
    sa.Column('station_name', sa.String(length=16), nullable=False),
    sa.Column('location', sa.String(length=16), nullable=False),
    sa.Column('worklist_on', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('scanner_id', name=op.f('pk_exam_day_stations')),
    sa.UniqueConstraint('station_ae_title', name=op.f('uq_exam_day_stations_station_ae_title'))
    )
    op.create_table('checkins',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('appointment_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('identity', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('coverage_confirmed', sa.String(length=200), nullable=False),
    sa.Column('coverage_confirmed_by', sa.String(length=100), nullable=False),
    sa.Column('coverage_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consents', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('mismatches', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('mismatch_resolution', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('payment_note', sa.Text(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_checkins_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
    sa.UniqueConstraint('order_id', name=op.f('uq_checkins_order_id'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkins_patient_id'), ['patient_id'], unique=False)

    op.create_table('screening_records',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('appointment_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submissions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('decisions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reviews', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reviewed_rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_screening_records_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_records')),
    sa.UniqueConstraint('order_id', name=op.f('uq_screening_records_order_id'))
    )
    with op.batch_alter_table('screening_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_records_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screening_records_state'), ['state'], unique=False)

    op.create_table('studies',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('study_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('modality', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_exam', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('walk_in', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('performed_steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('contrast_given', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('doses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prescan', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('interruptions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('qc_reviews', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_studies_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_studies')),
    sa.UniqueConstraint('order_id', name=op.f('uq_studies_order_id'))
    )
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_studies_accession_number'), ['accession_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_studies_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_studies_state'), ['state'], unique=False)



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_studies_state'))
        batch_op.drop_index(batch_op.f('ix_studies_patient_id'))
        batch_op.drop_index(batch_op.f('ix_studies_accession_number'))

    op.drop_table('studies')
    with op.batch_alter_table('screening_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_records_state'))
        batch_op.drop_index(batch_op.f('ix_screening_records_patient_id'))

    op.drop_table('screening_records')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkins_patient_id'))

    op.drop_table('checkins')
    op.drop_table('exam_day_stations')
    with op.batch_alter_table('mwl_items', schema=None) as batch_op:
        batch_op.drop_index('ix_mwl_items_station_start')
        batch_op.drop_index('ix_mwl_items_start')
        batch_op.drop_index('ix_mwl_items_patient')
        batch_op.drop_index('ix_mwl_items_order')
        batch_op.drop_index('ix_mwl_items_modality_start')

    op.drop_table('mwl_items')
    op.drop_table('mpps_instances')
    with op.batch_alter_table('mpps_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mpps_exceptions_state'))

    op.drop_table('mpps_exceptions')
