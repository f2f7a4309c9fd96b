"""Fixtures of the exam-day unit tests: the shipped catalog and a small center on in-memory fakes."""

from __future__ import annotations

import pytest
from exam_day_center import ExamDayCenter

from radflow.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (read once)."""
    return load_catalog()


@pytest.fixture
def center(catalog: Catalog) -> ExamDayCenter:
    """A fresh center: one New York site, MR1 (1.5 T), MR2 (3 T), CT1, US1; Monday 09:00."""
    return ExamDayCenter(catalog)
