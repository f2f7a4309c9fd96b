"""Fixtures of the scheduling unit tests: the shipped catalog and a small center on in-memory fakes."""

from __future__ import annotations

import pytest
from scheduling_center import SchedulingCenter

from radflow.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read once)."""
    return load_catalog()


@pytest.fixture
def center(catalog: Catalog) -> SchedulingCenter:
    """A fresh center: one New York site, MR1, MR2, CT1, US1, NM1, PT1."""
    return SchedulingCenter(catalog)
