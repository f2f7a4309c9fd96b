"""messaging tables: contact preferences and consent, the message log, replies, responses, no-show models.

A message's key is unique (it is the email's Message-ID and the gateway's idempotency key); a
gateway's inbound reference is unique (a retried webhook is recorded once).

Revision ID: messaging_0001
Revises: 0001_foundation
Create Date: 2026-12-01 23:16:18.100783
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'messaging_0001'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = ('messaging',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('inbound_replies',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('from_address', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=32), nullable=False),
    sa.Column('gateway_reference', sa.String(length=200), nullable=True),
    sa.Column('patient_id', sa.String(length=32), nullable=True),
    sa.Column('message_key', sa.String(length=255), nullable=False),
    sa.Column('appointment_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_replies')),
    sa.UniqueConstraint('gateway_reference', name=op.f('uq_inbound_replies_gateway_reference'))
    )
    with op.batch_alter_table('inbound_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_replies_patient_id'), ['patient_id'], unique=False)

    op.create_table('noshow_models',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('appointments', sa.Integer(), nullable=False),
    sa.Column('held_out_auc', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_noshow_models'))
    )
    op.create_table('contact_preferences',
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('earliest', sa.Time(), nullable=False),
    sa.Column('latest', sa.Time(), nullable=False),
    sa.Column('exam_name_in_texts', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_contact_preferences_patient_id_patients')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_contact_preferences'))
    )
    op.create_table('patient_messages',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('notification', sa.String(length=200), nullable=False),
    sa.Column('planned_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appointment_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('order_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('visit_date', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('to', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gateway_reference', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('history', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_messages_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_patient_messages_key'))
    )
    with op.batch_alter_table('patient_messages', schema=None) as batch_op:
        batch_op.create_index('ix_patient_messages_patient_sent', ['patient_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_patient_messages_patient_visit', ['patient_id', 'visit_date'], unique=False)
        batch_op.create_index('ix_patient_messages_reference', ['gateway_reference'], unique=False)
        batch_op.create_index('ix_patient_messages_state_planned', ['state', 'planned_for'], unique=False)
        batch_op.create_index('ix_patient_messages_to_sent', ['to', 'sent_at'], unique=False)

    op.create_table('patient_responses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('visit_date', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('appointment_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_responses_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_responses'))
    )
    with op.batch_alter_table('patient_responses', schema=None) as batch_op:
        batch_op.create_index('ix_patient_responses_patient_visit', ['patient_id', 'visit_date'], unique=False)

    op.create_table('channel_consents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_how', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_how', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['contact_preferences.patient_id'], name=op.f('fk_channel_consents_patient_id_contact_preferences')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_consents'))
    )
    with op.batch_alter_table('channel_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_consents_patient_id'), ['patient_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('channel_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_consents_patient_id'))

    op.drop_table('channel_consents')
    with op.batch_alter_table('patient_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_responses_patient_visit')

    op.drop_table('patient_responses')
    with op.batch_alter_table('patient_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_messages_to_sent')
        batch_op.drop_index('ix_patient_messages_state_planned')
        batch_op.drop_index('ix_patient_messages_reference')
        batch_op.drop_index('ix_patient_messages_patient_visit')
        batch_op.drop_index('ix_patient_messages_patient_sent')

    op.drop_table('patient_messages')
    op.drop_table('contact_preferences')
    op.drop_table('noshow_models')
    with op.batch_alter_table('inbound_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_replies_patient_id'))

    op.drop_table('inbound_replies')
