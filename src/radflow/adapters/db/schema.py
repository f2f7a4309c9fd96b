"""Every table radflow has, on one MetaData: the foundation's and each area's."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from radflow.adapters.db import tables


def all_metadata() -> MetaData:
    """The metadata with every area's tables declared (importing an area's wiring declares them)."""
    from radflow.wiring import AREAS

    for name in AREAS:
        importlib.import_module(f"radflow.wiring.{name}")
    return tables.metadata
