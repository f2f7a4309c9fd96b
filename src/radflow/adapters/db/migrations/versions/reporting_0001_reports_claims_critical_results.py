"""reporting tables: reports (one per order), reading claims (one per study), critical results.

The database enforces that a study has one report (unique order_id) and one claim (the claim's
primary key is the order); reports and critical results carry an optimistic-locking version.

Revision ID: reporting_0001
Revises: 0001_foundation
Create Date: 2026-12-01 23:10:24.986284
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'reporting_0001'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = ('reporting',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('reading_claims',
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('user_name', sa.String(length=200), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_reading_claims_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_reading_claims'))
    )
    op.create_table('reports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('study_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('template_key', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.String(length=100), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('exam_body_part', sa.String(length=20), nullable=False),
    sa.Column('exam_laterality', sa.String(length=1), nullable=False),
    sa.Column('clinical_indication', sa.Text(), nullable=False),
    sa.Column('technique', sa.Text(), nullable=False),
    sa.Column('comparison', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('impression', sa.Text(), nullable=False),
    sa.Column('recommendations', sa.Text(), nullable=False),
    sa.Column('rads', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('communications', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('addenda', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('preliminary_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('preliminary_by', sa.String(length=100), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=100), nullable=True),
    sa.Column('signed_by_name', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_reports_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('order_id', name=op.f('uq_reports_order_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_patient_id'), ['patient_id'], unique=False)

    op.create_table('critical_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('finding', sa.Text(), nullable=False),
    sa.Column('finding_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('raised_by', sa.String(length=100), nullable=False),
    sa.Column('raised_by_name', sa.String(length=200), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ordering_provider_npi', sa.String(length=10), nullable=False),
    sa.Column('ordering_provider_name', sa.String(length=200), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('chain_exhausted', sa.Boolean(), nullable=False),
    sa.Column('recipients', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=False),
    sa.Column('acknowledged_by_name', sa.String(length=200), nullable=False),
    sa.Column('acknowledged_channel', sa.String(length=20), nullable=False),
    sa.Column('read_back', sa.Text(), nullable=False),
    sa.Column('communicated_by', sa.String(length=100), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_critical_results_order_id_orders')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_critical_results_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_critical_results'))
    )
    with op.batch_alter_table('critical_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_critical_results_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_critical_results_state_due', ['state', 'due_at'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('critical_results', schema=None) as batch_op:
        batch_op.drop_index('ix_critical_results_state_due')
        batch_op.drop_index(batch_op.f('ix_critical_results_order_id'))

    op.drop_table('critical_results')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_patient_id'))

    op.drop_table('reports')
    op.drop_table('reading_claims')
