"""Every table radflow has, on one MetaData: the foundation's and each area's."""

from __future__ import annotations

from sqlalchemy import MetaData

from radflow.adapters.db import tables


def all_metadata() -> MetaData:
    """The metadata all areas declare their tables on (importing an area's module registers them)."""
    return tables.metadata
