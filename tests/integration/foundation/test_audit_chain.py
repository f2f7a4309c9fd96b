"""The audit trail detects any change, deletion, reordering, truncation or re-keyed recomputation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from seed import seed_world
from sqlalchemy import text

from radflow.adapters.db.audit_chain import link_pending, verify
from radflow.bootstrap import Radflow
from radflow.domain.audit import chain_mac
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def linked(radflow: Radflow) -> int:
    total = 0
    while n := link_pending(radflow.engine, radflow.session_factory, radflow.ctx.audit_key,
                            radflow.settings.audit_anchor_path):
        total += n
    return total


def report(radflow: Radflow) -> list[str]:
    result = verify(radflow.session_factory, radflow.ctx.audit_key, radflow.settings.audit_anchor_path)
    return [f"{p.position}: {p.problem}" for p in result.problems]


def tamper(radflow: Radflow, *statements: str) -> None:
    """What an attacker with database access does: lift the append-only guard, then edit rows."""
    with radflow.engine.begin() as connection:
        if radflow.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_records_no_delete"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_records_link_once"))
        for statement in statements:
            connection.execute(text(statement))


@pytest.fixture
def trail(radflow: Radflow) -> Radflow:
    seed_world(radflow)
    assert linked(radflow) >= 6
    assert report(radflow) == []
    return radflow


def test_clean_trail_verifies_and_append_only_guard_refuses_edits(trail: Radflow) -> None:
    with pytest.raises(Exception, match="append-only"), trail.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    with pytest.raises(Exception, match="append-only"), trail.engine.begin() as connection:
        connection.execute(text("UPDATE audit_records SET detail = 'x' WHERE seq = 2"))
    assert report(trail) == []


TAMPERING: dict[str, Callable[[], tuple[str, ...]]] = {
    "modified": lambda: ("UPDATE audit_records SET username = 'mallory' WHERE seq = 3",),
    "deleted": lambda: ("DELETE FROM audit_records WHERE seq = 3",),
    "reordered": lambda: (
        "UPDATE audit_records SET seq = -1 WHERE seq = 2",
        "UPDATE audit_records SET seq = 2 WHERE seq = 3",
        "UPDATE audit_records SET seq = 3 WHERE seq = -1",
    ),
    "truncated": lambda: ("DELETE FROM audit_records WHERE seq >= 5",),
    "unsequenced row modified": lambda: (),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_detected(trail: Radflow, how: str) -> None:
    if how == "unsequenced row modified":
        seed_world(trail)  # new records, not yet linked
        tamper(trail, "UPDATE audit_records SET detail = 'nothing happened' WHERE id = "
                      "(SELECT max(id) FROM audit_records)")
    else:
        tamper(trail, *TAMPERING[how]())
    problems = report(trail)
    assert problems, f"{how} went unnoticed"


def test_chain_recomputed_with_another_key_is_detected(trail: Radflow) -> None:
    rows = []
    with trail.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, seq, record_mac FROM audit_records ORDER BY seq")).all()
    previous, statements = "0" * 64, []
    for row_id, seq, own in rows:
        previous = chain_mac(b"attacker-key", seq, previous, own)
        statements.append(f"UPDATE audit_records SET chain_mac = '{previous}' WHERE id = {row_id}")
    tamper(trail, *statements)
    assert any("chain" in p for p in report(trail))


def test_truncation_of_the_tail_is_caught_by_the_anchor(trail: Radflow) -> None:
    anchor = json.loads(Path(trail.settings.audit_anchor_path).read_text())
    tamper(trail, f"DELETE FROM audit_records WHERE seq = {anchor['seq']}")
    assert any("truncated" in p for p in report(trail))


def test_cli_verify_exits_non_zero_and_names_the_break(trail: Radflow) -> None:
    env = {"RADFLOW_DATABASE_URL": trail.settings.effective_database_url,
           "RADFLOW_DATABASE_SCHEMA": trail.settings.database_schema, "RADFLOW_DATA_DIR": str(trail.settings.data_dir),
           "RADFLOW_AUDIT_KEY": trail.settings.audit_key, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "radflow.entrypoints.cli", "audit", "verify"], env=env,
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tamper(trail, "UPDATE audit_records SET action = 'order.read' WHERE seq = 4")
    broken = subprocess.run([sys.executable, "-m", "radflow.entrypoints.cli", "audit", "verify"], env=env,
                            capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    assert "seq 4" in broken.stdout and "modified" in broken.stdout

