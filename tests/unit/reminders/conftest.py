"""Fixtures of the messaging unit tests: the shipped catalog and a small center on in-memory fakes."""

from __future__ import annotations

import pytest
from reminders_center import RemindersCenter

from radflow.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read once)."""
    return load_catalog()


@pytest.fixture
def center(catalog: Catalog) -> RemindersCenter:
    """A fresh center: one New York site with MR1, CT1, US1; Monday 2 March 2026, 09:00."""
    return RemindersCenter(catalog)
