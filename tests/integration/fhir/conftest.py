"""Fixtures of the FHIR integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir_harness import FhirWorld, start_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[FhirWorld]:
    """radflow on SQLite with its ASGI app and users of every role (see fhir_harness.start_world)."""
    started = start_world(tmp_path)
    with started.client:
        yield started
    started.radflow.engine.dispose()
