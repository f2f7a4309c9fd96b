"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants in, timezone-aware UTC instants out, on every database.

    SQLite has no zone-aware type; values are stored as naive UTC there and given their zone back
    on the way out. A naive datetime on the way in is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: radflow stores timezone-aware UTC instants")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> Any:
    """JSON on SQLite, JSONB on PostgreSQL (a new instance each time: mutable wrappers bind per instance)."""
    return JSON().with_variant(JSONB(), "postgresql")


def json_list() -> Any:
    """A JSON list column whose in-place changes are tracked by the ORM."""
    return MutableList.as_mutable(json_type())


def json_dict() -> Any:
    """A JSON object column whose in-place changes are tracked by the ORM."""
    return MutableDict.as_mutable(json_type())


class EnumText[E: StrEnum](TypeDecorator[E]):
    """A StrEnum stored as its text value; loaded back as the enum member (so `is` comparisons hold)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[E], length: int = 32) -> None:
        super().__init__(length)
        self.enum_type = enum_type

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_type(value)
