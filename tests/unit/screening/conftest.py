"""Fixtures for the screening tests: the shipped rule set and a mutable copy of its raw data."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from radflow.catalog.screening_loader import SHIPPED_DIR, read_raw_ruleset, shipped_screening_rules
from radflow.domain.screening import RuleSet


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return shipped_screening_rules()


@pytest.fixture(scope="session")
def _raw_once() -> dict[str, Any]:
    return read_raw_ruleset(SHIPPED_DIR)


@pytest.fixture
def raw_rules(_raw_once: dict[str, Any]) -> dict[str, Any]:
    """A private, mutable copy of the shipped raw rule data."""
    return copy.deepcopy(_raw_once)
