"""foundation tables: patients, referrals, orders and their timeline, documents, coverage,
authorizations, users and sessions, jobs, the audit trail, counters.

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-12-01 22:39:57.074684
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001_foundation'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('audit_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('record_mac', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('chain_mac', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_records_seq'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_patient', ['patient_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_records_unsequenced', ['seq', 'id'], unique=False)

    op.create_table('counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('document_contents',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_document_contents'))
    )
    op.create_table('jobs',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('queue', sa.String(length=100), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_jobs')),
    sa.UniqueConstraint('id', name=op.f('uq_jobs_id')),
    sa.UniqueConstraint('key', name=op.f('uq_jobs_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_queue_state', ['queue', 'state', 'seq'], unique=False)
        batch_op.create_index('ix_jobs_state_due', ['state', 'due_at'], unique=False)

    op.create_table('patients',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('address_line', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=50), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('preferred_language', sa.String(length=20), nullable=False),
    sa.Column('probable_duplicate_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('merged_into_id', sa.String(length=32), nullable=True),
    sa.Column('is_temporary', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_birth_date', ['birth_date'], unique=False)
        batch_op.create_index('ix_patients_family_name', ['family_name'], unique=False)
        batch_op.create_index('ix_patients_phone', ['phone'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('npi', sa.String(length=10), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=True),
    sa.Column('proxy_patient_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('covers_npis', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_section_chief', sa.Boolean(), nullable=False),
    sa.Column('is_lead_technologist', sa.Boolean(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_npi'), ['npi'], unique=False)

    op.create_table('api_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_api_tokens'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('coverages',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('payer_id', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_number', sa.String(length=64), nullable=False),
    sa.Column('plan_name', sa.String(length=200), nullable=False),
    sa.Column('subscriber_name', sa.String(length=200), nullable=False),
    sa.Column('relationship', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_coverages_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverages'))
    )
    with op.batch_alter_table('coverages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverages_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_identifiers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('authority', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('type_code', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_identifiers_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_identifiers')),
    sa.UniqueConstraint('authority', 'value', 'type_code', name='uq_patient_identifiers_authority_value')
    )
    with op.batch_alter_table('patient_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_identifiers_patient_id'), ['patient_id'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.Column('source_organization', sa.String(length=200), nullable=False),
    sa.Column('source_provider_name', sa.String(length=200), nullable=False),
    sa.Column('source_provider_npi', sa.String(length=10), nullable=False),
    sa.Column('reply_fax', sa.String(length=40), nullable=False),
    sa.Column('reply_email', sa.String(length=200), nullable=False),
    sa.Column('reply_phone', sa.String(length=40), nullable=False),
    sa.Column('external_reference', sa.String(length=100), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_referrals_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_patient_id'), ['patient_id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=True),
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('study_instance_uid', sa.String(length=64), nullable=False),
    sa.Column('placer_order_number', sa.String(length=64), nullable=False),
    sa.Column('placer_system', sa.String(length=64), nullable=False),
    sa.Column('protocol_code', sa.String(length=40), nullable=False),
    sa.Column('requested_modality', sa.String(length=4), nullable=False),
    sa.Column('contrast', sa.String(length=20), nullable=True),
    sa.Column('cpt_code', sa.String(length=10), nullable=False),
    sa.Column('body_part', sa.String(length=20), nullable=False),
    sa.Column('laterality', sa.String(length=1), nullable=True),
    sa.Column('reason_for_exam', sa.Text(), nullable=False),
    sa.Column('diagnosis_codes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('clinical_notes', sa.Text(), nullable=False),
    sa.Column('ordering_provider_npi', sa.String(length=10), nullable=False),
    sa.Column('ordering_provider_name', sa.String(length=200), nullable=False),
    sa.Column('copy_to', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('track', sa.String(length=10), nullable=False),
    sa.Column('setting', sa.String(length=20), nullable=False),
    sa.Column('coverage_id', sa.String(length=32), nullable=True),
    sa.Column('self_pay', sa.Boolean(), nullable=False),
    sa.Column('special_instructions', sa.Text(), nullable=False),
    sa.Column('protocolled_by', sa.String(length=64), nullable=True),
    sa.Column('protocolled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('held_from', sa.String(length=32), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('target_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['coverage_id'], ['coverages.id'], name=op.f('fk_orders_coverage_id_coverages')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_orders_patient_id_patients')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_orders_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('accession_number', name=op.f('uq_orders_accession_number')),
    sa.UniqueConstraint('study_instance_uid', name=op.f('uq_orders_study_instance_uid'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_ordering_provider_npi'), ['ordering_provider_npi'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_orders_placer', ['placer_system', 'placer_order_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index('ix_orders_state_received', ['state', 'received_at'], unique=False)

    op.create_table('authorizations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('payer_id', sa.String(length=64), nullable=False),
    sa.Column('cpt_code', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rule_id', sa.String(length=100), nullable=False),
    sa.Column('rule_citation', sa.Text(), nullable=False),
    sa.Column('assigned_to', sa.String(length=64), nullable=True),
    sa.Column('payer_reference', sa.String(length=100), nullable=False),
    sa.Column('authorization_number', sa.String(length=100), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('denial_reason', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('log', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_authorizations_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorizations'))
    )
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorizations_order_id'), ['order_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=32), nullable=True),
    sa.Column('referral_id', sa.String(length=32), nullable=True),
    sa.Column('order_id', sa.String(length=32), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_documents_order_id_orders')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_documents_patient_id_patients')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_documents_referral_id_referrals')),
    sa.ForeignKeyConstraint(['sha256'], ['document_contents.sha256'], name=op.f('fk_documents_sha256_document_contents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_sha256'), ['sha256'], unique=False)

    op.create_table('order_transitions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_transitions_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_transitions')),
    sa.UniqueConstraint('order_id', 'seq', name='uq_order_transitions_order_seq')
    )


    _counters_and_append_only_audit()


COUNTERS = ("accession", "mrn")


def _counters_and_append_only_audit() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Sequences hand out numbers without holding a lock until commit (gaps are harmless).
        for name in COUNTERS:
            op.execute(f"CREATE SEQUENCE IF NOT EXISTS counter_{name}")
        # Audit records are append-only: only the sequencer's one-time linking of seq/chain_mac
        # may update a row, and no row may be deleted.
        op.execute("""
            CREATE OR REPLACE FUNCTION radflow_audit_append_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'audit records are append-only';
              END IF;
              IF OLD.seq IS NOT NULL OR NEW.record_mac <> OLD.record_mac OR NEW.detail <> OLD.detail
                 OR NEW.at <> OLD.at OR NEW.user_id <> OLD.user_id OR NEW.action <> OLD.action
                 OR NEW.patient_id <> OLD.patient_id OR NEW.outcome <> OLD.outcome THEN
                RAISE EXCEPTION 'audit records are append-only';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
                      FOR EACH ROW EXECUTE FUNCTION radflow_audit_append_only()""")
    else:
        op.execute("""CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
                      BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""")
        op.execute("""CREATE TRIGGER audit_records_link_once BEFORE UPDATE ON audit_records
                      WHEN OLD.seq IS NOT NULL OR NEW.record_mac <> OLD.record_mac OR NEW.detail <> OLD.detail
                        OR NEW.at <> OLD.at OR NEW.user_id <> OLD.user_id OR NEW.action <> OLD.action
                        OR NEW.patient_id <> OLD.patient_id OR NEW.outcome <> OLD.outcome
                      BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""")

def downgrade() -> None:
    """Revert this revision."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS radflow_audit_append_only()")
        for name in COUNTERS:
            op.execute(f"DROP SEQUENCE IF EXISTS counter_{name}")
    op.drop_table('order_transitions')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_sha256'))
        batch_op.drop_index(batch_op.f('ix_documents_referral_id'))
        batch_op.drop_index(batch_op.f('ix_documents_patient_id'))
        batch_op.drop_index(batch_op.f('ix_documents_order_id'))

    op.drop_table('documents')
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorizations_order_id'))

    op.drop_table('authorizations')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_state_received')
        batch_op.drop_index(batch_op.f('ix_orders_referral_id'))
        batch_op.drop_index('ix_orders_placer')
        batch_op.drop_index(batch_op.f('ix_orders_patient_id'))
        batch_op.drop_index(batch_op.f('ix_orders_ordering_provider_npi'))

    op.drop_table('orders')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_patient_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('patient_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_identifiers_patient_id'))

    op.drop_table('patient_identifiers')
    with op.batch_alter_table('coverages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverages_patient_id'))

    op.drop_table('coverages')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_npi'))

    op.drop_table('users')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index('ix_patients_phone')
        batch_op.drop_index('ix_patients_family_name')
        batch_op.drop_index('ix_patients_birth_date')

    op.drop_table('patients')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_due')
        batch_op.drop_index('ix_jobs_queue_state')

    op.drop_table('jobs')
    op.drop_table('document_contents')
    op.drop_table('counters')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_unsequenced')
        batch_op.drop_index('ix_audit_records_patient')

    op.drop_table('audit_records')
