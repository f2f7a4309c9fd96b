"""Services wired on in-memory fakes: no database, no sockets."""

from __future__ import annotations

import pytest
from fake_center import FakeCenter

from radflow.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read once)."""
    return load_catalog()


@pytest.fixture
def center(catalog: Catalog) -> FakeCenter:
    """A fresh fake center."""
    return FakeCenter(catalog)
