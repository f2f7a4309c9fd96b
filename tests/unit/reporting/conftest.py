"""The reporting area's services on in-memory fakes: no database, no sockets."""

from __future__ import annotations

import pytest
from reporting_center import ReadingRoom

from radflow.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read once)."""
    return load_catalog()


@pytest.fixture
def room(catalog: Catalog) -> ReadingRoom:
    """A fresh reading room."""
    return ReadingRoom(catalog)
