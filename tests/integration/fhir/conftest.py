"""Fixtures of the FHIR integration tests: SQLite always, PostgreSQL too when RADFLOW_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir_harness import FhirWorld, start_world
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("RADFLOW_TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", *(["postgres"] if POSTGRES_URL else [])])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FhirWorld]:
    """radflow with its ASGI app and users of every role (see fhir_harness.start_world)."""
    schema = f"t_fhir_{uuid.uuid4().hex[:12]}" if request.param == "postgres" else ""
    started = start_world(tmp_path, POSTGRES_URL if schema else "", schema)
    try:
        with started.client:
            yield started
    finally:
        started.radflow.engine.dispose()
        if schema:
            engine = create_engine(POSTGRES_URL)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
