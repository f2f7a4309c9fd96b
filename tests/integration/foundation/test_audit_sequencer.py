"""The audit sequencer's lock belongs to one installation (PostgreSQL's advisory locks span the database)."""

from __future__ import annotations

import pytest
from seed import seed_world
from sqlalchemy import text

from radflow.adapters.db.audit_chain import link_pending
from radflow.bootstrap import Radflow
from radflow_test_support import backends

# Advisory locks are PostgreSQL's; SQLite installations are one file each.
pytestmark = pytest.mark.parametrize("test_settings", [b for b in backends() if b == "postgres"], indirect=True)


def linked(radflow: Radflow) -> int:
    return link_pending(radflow.engine, radflow.session_factory, radflow.ctx.audit_key,
                        radflow.settings.audit_anchor_path)


def test_sequencer_lock_is_per_installation_schema(radflow: Radflow) -> None:
    """Advisory locks span the database: another schema's sequencer must not stall this one's."""
    seed_world(radflow)
    with radflow.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(7305001, hashtext('some_other_installation'))"))
        assert linked(radflow) >= 6
        seed_world(radflow)
        other.execute(text("SELECT pg_advisory_lock(7305001, hashtext(current_schema()))"))
        assert linked(radflow) == 0  # this installation's sequencer is busy elsewhere: wait, link nothing
        other.execute(text("SELECT pg_advisory_unlock_all()"))
        other.commit()
    assert linked(radflow) > 0
