"""Alembic environment: runs radflow's migrations on the connection the caller hands in."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator

from radflow.adapters.db.schema import all_metadata

config = context.config
target_metadata = all_metadata()


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations must not import radflow's column types: render a TypeDecorator as what it stores.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.{impl!r}"
    return False


def run_migrations_online() -> None:
    """Run with the connection given in config.attributes (see radflow.adapters.db.migrate)."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `radflow db upgrade`, which provides the connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
