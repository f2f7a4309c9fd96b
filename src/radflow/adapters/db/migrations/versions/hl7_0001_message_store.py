"""hl7: the message store (raw message, ACK, status; unique per MSH-3/MSH-4/MSH-10), its search
references, and the stored sender mappings.

Revision ID: hl7_0001_message_store
Revises: 0001_foundation
Create Date: 2026-12-01 23:12:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "hl7_0001_message_store"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("hl7",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "hl7_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("default_timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_mappings")),
    )
    op.create_table(
        "hl7_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sending_application", sa.String(length=230), nullable=False),
        sa.Column("sending_facility", sa.String(length=230), nullable=False),
        sa.Column("control_id", sa.String(length=200), nullable=True),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("peer", sa.String(length=100), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("ack", sa.LargeBinary(), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("error_code", sa.String(length=5), nullable=False),
        sa.Column("error_location", sa.String(length=60), nullable=False),
        sa.Column("error_text", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("last_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processings", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=True),
        sa.Column("duplicate_of_id", sa.String(length=32), nullable=True),
        sa.Column("log", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_messages")),
        # Exactly once: one row per (MSH-3, MSH-4, MSH-10) and content variant.
        sa.UniqueConstraint("sending_application", "sending_facility", "control_id", "variant",
                            name="uq_hl7_messages_message_key"),
    )
    op.create_index("ix_hl7_messages_received_at", "hl7_messages", ["received_at"], unique=False)
    op.create_index("ix_hl7_messages_status_received", "hl7_messages", ["status", "received_at"], unique=False)
    op.create_table(
        "hl7_message_refs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["hl7_messages.id"],
                                name=op.f("fk_hl7_message_refs_message_id_hl7_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_message_refs")),
    )
    op.create_index("ix_hl7_message_refs_kind_value", "hl7_message_refs", ["kind", "value"], unique=False)
    op.create_index(op.f("ix_hl7_message_refs_message_id"), "hl7_message_refs", ["message_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_hl7_message_refs_message_id"), table_name="hl7_message_refs")
    op.drop_index("ix_hl7_message_refs_kind_value", table_name="hl7_message_refs")
    op.drop_table("hl7_message_refs")
    op.drop_index("ix_hl7_messages_status_received", table_name="hl7_messages")
    op.drop_index("ix_hl7_messages_received_at", table_name="hl7_messages")
    op.drop_table("hl7_messages")
    op.drop_table("hl7_mappings")
