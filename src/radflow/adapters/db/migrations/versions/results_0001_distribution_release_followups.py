"""results tables: distributions, release holds, who tells the patient, follow-ups, biopsies, records requests.

The database keeps one distribution per report, version, recipient and channel (unique key), one
follow-up per source and recommendation (unique key) and one responsibility record per order (its
primary key); every aggregate carries an optimistic-locking version.

Revision ID: results_0001
Revises: 0001_foundation
Create Date: 2026-12-02 00:26:22.238044
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'results_0001'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = ('results',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('records_requests',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('order_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('delivery', sa.String(length=12), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('third_party', sa.Boolean(), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=False),
    sa.Column('release_form_document_id', sa.String(length=32), nullable=False),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('extension_reason', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records_requests'))
    )
    with op.batch_alter_table('records_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_records_requests_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_records_requests_state_due', ['state', 'due_at'], unique=False)

    op.create_table('biopsy_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('biopsy_date', sa.Date(), nullable=False),
    sa.Column('laterality', sa.String(length=1), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('pathology_text', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_biopsy_results_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_biopsy_results'))
    )
    with op.batch_alter_table('biopsy_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_biopsy_results_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_biopsy_results_patient_id'), ['patient_id'], unique=False)

    op.create_table('distributions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('report_id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('recipient_kind', sa.String(length=20), nullable=False),
    sa.Column('recipient_ref', sa.String(length=200), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report_version', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_opened_by', sa.String(length=100), nullable=False),
    sa.Column('first_opened_by_name', sa.String(length=200), nullable=False),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.Column('actionable', sa.Boolean(), nullable=False),
    sa.Column('actionable_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_to', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('job_key', sa.String(length=300), nullable=False),
    sa.Column('gateway_reference', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_distributions_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distributions')),
    sa.UniqueConstraint('key', name=op.f('uq_distributions_key'))
    )
    with op.batch_alter_table('distributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_distributions_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_distributions_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_distributions_purpose_due', ['purpose', 'state', 'due_at'], unique=False)
        batch_op.create_index('ix_distributions_recipient', ['recipient_kind', 'recipient_ref', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_distributions_report_id'), ['report_id'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('source_order_id', sa.String(length=32), nullable=False),
    sa.Column('source_accession', sa.String(length=16), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('modality', sa.String(length=4), nullable=True),
    sa.Column('body_region', sa.String(length=32), nullable=False),
    sa.Column('procedure', sa.String(length=200), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('source_report_id', sa.String(length=32), nullable=False),
    sa.Column('due_date_latest', sa.Date(), nullable=True),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('rule_source', sa.Text(), nullable=False),
    sa.Column('responsible_npi', sa.String(length=10), nullable=False),
    sa.Column('responsible_name', sa.String(length=200), nullable=False),
    sa.Column('reminders', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_to', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_order_id', sa.String(length=32), nullable=False),
    sa.Column('completed_accession', sa.String(length=16), nullable=False),
    sa.Column('closed_reason', sa.Text(), nullable=False),
    sa.Column('closed_by', sa.String(length=100), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['source_order_id'], ['orders.id'], name=op.f('fk_followups_source_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups')),
    sa.UniqueConstraint('key', name=op.f('uq_followups_key'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index('ix_followups_patient_state', ['patient_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_source_order_id'), ['source_order_id'], unique=False)
        batch_op.create_index('ix_followups_state_due', ['state', 'due_date'], unique=False)

    op.create_table('release_holds',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('placed_by', sa.String(length=100), nullable=False),
    sa.Column('placed_by_name', sa.String(length=200), nullable=False),
    sa.Column('placed_by_role', sa.String(length=32), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=100), nullable=False),
    sa.Column('end_reason', sa.Text(), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_release_holds_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_holds'))
    )
    with op.batch_alter_table('release_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_release_holds_order_id'), ['order_id'], unique=False)

    op.create_table('result_communications',
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('responsible', sa.String(length=20), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=100), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_result_communications_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_result_communications'))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('result_communications')
    with op.batch_alter_table('release_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_holds_order_id'))

    op.drop_table('release_holds')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index('ix_followups_state_due')
        batch_op.drop_index(batch_op.f('ix_followups_source_order_id'))
        batch_op.drop_index('ix_followups_patient_state')

    op.drop_table('followups')
    with op.batch_alter_table('distributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_distributions_report_id'))
        batch_op.drop_index('ix_distributions_recipient')
        batch_op.drop_index('ix_distributions_purpose_due')
        batch_op.drop_index(batch_op.f('ix_distributions_patient_id'))
        batch_op.drop_index(batch_op.f('ix_distributions_order_id'))

    op.drop_table('distributions')
    with op.batch_alter_table('biopsy_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_biopsy_results_patient_id'))
        batch_op.drop_index(batch_op.f('ix_biopsy_results_order_id'))

    op.drop_table('biopsy_results')
    with op.batch_alter_table('records_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_records_requests_state_due')
        batch_op.drop_index(batch_op.f('ix_records_requests_patient_id'))

    op.drop_table('records_requests')
