"""Shared fixtures: a wired radflow on SQLite (and PostgreSQL when RADFLOW_TEST_DATABASE_URL is set).

With CI=true a skipped test fails the run: whatever a test needs (PostgreSQL, dcmtk, Orthanc, Chromium)
must be installed there.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from radflow.adapters.db.engine import make_engine
from radflow.adapters.db.migrate import upgrade
from radflow.adapters.db.schema import all_metadata
from radflow.adapters.passwords import Argon2Hasher
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.services.accounts import CreateUser, create_user, issue_api_token
from radflow.services.ports import RecordingGateway
from radflow_test_support import IN_CI, PG_URL, ApiUser, UserFactory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true a skip is a failure: CI must have everything the tests need."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a skipped test fails the run): {report.longrepr}"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """One schema per test run on the shared PostgreSQL, migrated once and dropped at the end."""
    if not PG_URL:
        pytest.skip("RADFLOW_TEST_DATABASE_URL not set")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = make_engine(PG_URL, schema=schema)
    upgrade(engine, schema=schema)
    yield schema
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _truncate_postgres(url: str, schema: str) -> None:
    engine = make_engine(url, schema=schema)
    names = ", ".join(f'"{table.name}"' for table in all_metadata().sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def test_settings(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Settings:
    """Settings for one test: a fresh database on the backend the test is parametrized with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgres":
        schema = request.getfixturevalue("pg_schema")
        _truncate_postgres(PG_URL, schema)
        return Settings(database_url=PG_URL, database_schema=schema, data_dir=tmp_path,
                        audit_key="test-audit-key-" + "0" * 32)
    database = tmp_path / "radflow.sqlite3"
    shutil.copy(sqlite_template, database)
    return Settings(database_url=f"sqlite:///{database}", data_dir=tmp_path, audit_key="test-audit-key-" + "0" * 32)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves; starts on a Monday morning in New York."""
    return FakeClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))


@pytest.fixture
def gateway() -> RecordingGateway:
    """Messages the services send, kept for assertions."""
    return RecordingGateway()


@pytest.fixture
def radflow(test_settings: Settings, clock: FakeClock, gateway: RecordingGateway) -> Iterator[Radflow]:
    """A wired radflow on a fresh database with a fake clock and a recording gateway."""
    wired = bootstrap(test_settings, clock=clock, gateway=gateway, hasher=Argon2Hasher(time_cost=1, memory_cost=256))
    yield wired
    wired.engine.dispose()


@pytest.fixture
def make_user(radflow: Radflow) -> UserFactory:
    """Create a user with a role (and NPI, patient link, flags) and give back a token."""
    admin = Principal.system("test", role=Role.ADMIN)
    counter = iter(range(1, 10_000))

    def make(role: str, *, username: str = "", npi: str = "", patient_id: str | None = None,
             section_chief: bool = False, lead_technologist: bool = False,
             covers_npis: tuple[str, ...] = ()) -> ApiUser:
        name = username or f"{role.replace('_', '')}{next(counter)}"
        password = f"{name}-password-123"
        create_user(CreateUser(actor=admin, username=name, display_name=name.title(), role=role, password=password,
                               npi=npi, patient_id=patient_id, is_section_chief=section_chief,
                               is_lead_technologist=lead_technologist, covers_npis=covers_npis),
                    radflow.uow(), radflow.ctx, radflow.hasher)
        token = issue_api_token(radflow.bus.uow_factory, radflow.ctx, admin, name)
        with radflow.uow() as uow:
            user = uow.users.by_username(name)
            assert user is not None
            return ApiUser(user.principal("test"), token, password)

    return make
