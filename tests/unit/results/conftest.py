"""The results area's services on in-memory fakes: no database, no sockets, no medspaCy, no WeasyPrint."""

from __future__ import annotations

import pytest
from results_center import ResultsCenter

from radflow.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read once)."""
    return load_catalog()


@pytest.fixture
def center(catalog: Catalog) -> ResultsCenter:
    """A fresh center."""
    return ResultsCenter(catalog)
