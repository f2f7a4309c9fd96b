"""Types and switches shared by the test suites (imported by tests; fixtures live in conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from radflow.domain.users import Principal

PG_URL = os.environ.get("RADFLOW_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def backends() -> list[str]:
    """SQLite always; PostgreSQL when a URL is given (and always under CI)."""
    return ["sqlite", "postgres"] if (PG_URL or IN_CI) else ["sqlite"]


@dataclass(frozen=True)
class ApiUser:
    """A user made for a test: who they are, and a bearer token for the API."""

    principal: Principal
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header for the API."""
        return {"Authorization": f"Bearer {self.token}"}


UserFactory = Callable[..., ApiUser]
TestUser = ApiUser  # older name, kept for suites written before the rename
