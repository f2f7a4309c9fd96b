"""`radflow schedule solve`: writes a valid plan within its time limit; bad input gets a message, not a traceback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from optimizer_instances import base_instance, order, plan_for, public_instance, report, with_orders
from typer.testing import CliRunner

from radflow.entrypoints.cli_schedule import default_time_limit, schedule_app
from radflow.scheduling.optimizer.engine import Policy

runner = CliRunner()


def test_solve_writes_a_valid_plan_and_prints_its_score(tmp_path: Path) -> None:
    instance = public_instance("small-1")
    source, target = tmp_path / "small-1.json", tmp_path / "plan.json"
    source.write_text(json.dumps(instance))
    began = time.monotonic()
    result = runner.invoke(schedule_app, ["solve", str(source), "-o", str(target), "--time-limit", "8"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began < 8
    document = json.loads(target.read_text())
    score = report(instance, document)["metrics"]["on_time_score"]
    assert report(instance, document)["valid"]
    assert f"on-time score {score}" in result.output
    _, greedy_plan = plan_for(instance, Policy.GREEDY)
    assert score > report(instance, greedy_plan)["metrics"]["on_time_score"]


@pytest.mark.parametrize("policy", ["greedy", "first-available"])
def test_solve_takes_the_comparison_policies(tmp_path: Path, policy: str) -> None:
    instance = with_orders(
        base_instance(), order("A1"), order("A2", priority="stat", release="2025-06-02T08:30", due="2025-06-02T12:30")
    )
    source, target = tmp_path / "i.json", tmp_path / "p.json"
    source.write_text(json.dumps(instance))
    result = runner.invoke(schedule_app, ["solve", str(source), "-o", str(target), "--policy", policy])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["meta"]["policy"] == policy


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        (
            '{"format": "radflow-schedule-instance/1", "horizon": {"start": "2025-06-02", "days": 1}, "x": NaN}',
            "not valid JSON",
        ),
        (json.dumps({**base_instance(), "orders": [order("A1", "NOPE")]}), "protocol 'NOPE'"),
    ],
)
def test_a_bad_instance_exits_with_status_2_and_one_message(tmp_path: Path, content: str | None, message: str) -> None:
    source = tmp_path / "instance.json"
    if content is not None:
        source.write_text(content)
    result = runner.invoke(schedule_app, ["solve", str(source), "-o", str(tmp_path / "p.json")])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "p.json").exists()


def test_default_time_limit_follows_the_acceptance_budgets() -> None:
    assert default_time_limit(300) == 60
    assert default_time_limit(2000) == 60
    assert default_time_limit(12000) == 300
    assert default_time_limit(50000) == 300
