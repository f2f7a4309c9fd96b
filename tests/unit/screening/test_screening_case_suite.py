"""The case suite (tests/cases/screening): every case, through the same entry the CLI and the API use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from screening_support import CASE_FILES, CASES_DIR, REPO_ROOT
from typer.testing import CliRunner

from radflow.catalog.screening_loader import evaluate_case_json
from radflow.domain.screening import RuleSet
from radflow.entrypoints.cli_screening import screening_app


def _case(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_suite_has_at_least_sixty_cited_cases() -> None:
    cases = [_case(path) for path in CASE_FILES]
    assert len(cases) >= 60
    for case in cases:
        assert case["cites"].strip(), f"{case['id']} cites no guidance"
        assert case["title"].strip(), f"{case['id']} has no title"
        assert case["id"] + ".json" in {path.name for path in CASE_FILES}


def test_every_rule_is_exercised_by_some_case(rules: RuleSet) -> None:
    expected = {rule_id for path in CASE_FILES for rule_id in _case(path)["expect"]["fired"]}
    assert {rule.id for rule in rules.rules} - expected == set()


@pytest.mark.parametrize("path", CASE_FILES, ids=[path.stem for path in CASE_FILES])
def test_case_gets_the_decision_and_rules_it_cites(path: Path) -> None:
    case = _case(path)
    decision = evaluate_case_json(case)
    assert decision["decision"] == case["expect"]["decision"]
    assert sorted(rule["id"] for rule in decision["fired_rules"]) == sorted(case["expect"]["fired"])


@pytest.mark.parametrize("path", CASE_FILES[::4], ids=[path.stem for path in CASE_FILES[::4]])
def test_cli_evaluate_prints_the_same_decision(path: Path) -> None:
    result = CliRunner().invoke(screening_app, ["evaluate", str(path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    case = _case(path)
    assert printed["decision"] == case["expect"]["decision"]
    assert sorted(rule["id"] for rule in printed["fired_rules"]) == sorted(case["expect"]["fired"])
    assert all(rule["source"] for rule in printed["fired_rules"])


def test_whole_suite_passes_through_the_cli_in_a_real_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    completed = subprocess.run(
        [sys.executable, "-m", "radflow.entrypoints.cli_screening", "check", str(CASES_DIR)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"{len(CASE_FILES)} of {len(CASE_FILES)} cases as expected" in completed.stdout
