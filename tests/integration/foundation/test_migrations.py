"""Alembic migrations build exactly the schema the code declares, for every area, on each database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from radflow.adapters.db.migrate import alembic_config, current_heads
from radflow.adapters.db.schema import all_metadata
from radflow.bootstrap import Radflow
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


# SQLite cannot reflect expression indexes (the case-blind family-name one); PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrated_database_matches_the_declared_tables(radflow: Radflow) -> None:
    with radflow.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, all_metadata())
    assert differences == [], "migrations and tables disagree; generate a migration for: " + repr(differences)


def test_database_is_at_every_branch_head(radflow: Radflow) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert current_heads(radflow.engine) == heads
