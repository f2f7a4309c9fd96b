"""`radflow rads assess FINDING.json` prints the assessment; bad input names the field and exits 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from radflow.entrypoints.cli_rads import rads_app

runner = CliRunner()


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "finding.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_assess_prints_the_category_and_its_rule(tmp_path: Path) -> None:
    finding = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7}]}
    result = runner.invoke(rads_app, ["assess", str(write(tmp_path, json.dumps(finding)))])
    assert result.exit_code == 0
    answer = json.loads(result.stdout)
    assert (answer["category"], answer["interval"]["days"]) == ("3", 183)
    assert answer["rule"]["id"] == "lr-3-solid-baseline-6to8"


def test_missing_field_is_named_and_exits_2(tmp_path: Path) -> None:
    finding = {"system": "ti-rads", "composition": "solid", "echogenicity": "hypoechoic", "shape": "wider_than_tall",
               "margin": "smooth", "echogenic_foci": []}
    result = runner.invoke(rads_app, ["assess", str(write(tmp_path, json.dumps(finding)))])
    assert result.exit_code == 2
    assert "'max_diameter_cm' is required" in result.stderr


def test_unknown_system_is_named_and_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(rads_app, ["assess", str(write(tmp_path, '{"system": "PI-RADS"}'))])
    assert result.exit_code == 2
    assert "'system' is 'PI-RADS'" in result.stderr


def test_invalid_json_and_missing_file_exit_2(tmp_path: Path) -> None:
    broken = runner.invoke(rads_app, ["assess", str(write(tmp_path, '{"system": '))])
    assert broken.exit_code == 2 and "not valid JSON" in broken.stderr
    missing = runner.invoke(rads_app, ["assess", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_extract_prints_recommendations_with_due_dates(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("IMPRESSION: 7 mm nodule. Recommend follow-up CT chest in 6 months.", encoding="utf-8")
    result = runner.invoke(rads_app, ["extract", str(report), "--reference-date", "2026-03-02"])
    assert result.exit_code == 0
    [item] = json.loads(result.stdout)["followups"]
    assert (item["modality"], item["due_date"]) == ("CT", "2026-09-01")
