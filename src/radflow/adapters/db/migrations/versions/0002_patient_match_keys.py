"""foundation: patients' phone match key and a case-blind family-name index, so that the duplicate check
and phone searches use indexes instead of reading every patient.

Revision ID: 0002_patient_match_keys
Revises: 0001_foundation
Create Date: 2026-12-02 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from radflow.domain.values import phone_match_key

revision: str = "0002_patient_match_keys"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (fills the key of every existing patient)."""
    op.add_column("patients", sa.Column("phone_key", sa.String(length=7), server_default="", nullable=False))
    patients = sa.table("patients", sa.column("id", sa.String), sa.column("phone", sa.String),
                        sa.column("phone_key", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(patients.c.id, patients.c.phone).where(patients.c.phone != "")).all()
    keys = {row_id: phone_match_key(phone) for row_id, phone in rows}
    keyed = [{"row_id": row_id, "key": key} for row_id, key in keys.items() if key]
    if keyed:
        connection.execute(patients.update().where(patients.c.id == sa.bindparam("row_id"))
                           .values(phone_key=sa.bindparam("key")), keyed)
    op.create_index("ix_patients_phone_key", "patients", ["phone_key"], unique=False)
    op.create_index("ix_patients_family_upper", "patients", [sa.text("upper(family_name)")], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_patients_family_upper", table_name="patients")
    op.drop_index("ix_patients_phone_key", table_name="patients")
    op.drop_column("patients", "phone_key")
