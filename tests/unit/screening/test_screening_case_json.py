"""Malformed cases are refused with the field at fault; the CLI says so on stderr and exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from screening_support import load_case
from typer.testing import CliRunner

from radflow.catalog.screening_loader import evaluate_case_json
from radflow.domain.errors import ValidationError
from radflow.entrypoints.cli_screening import screening_app


def _field_refused(case: dict[str, Any]) -> str | None:
    with pytest.raises(ValidationError) as refused:
        evaluate_case_json(case)
    return refused.value.field


def test_mr_exam_without_field_strength_names_the_field() -> None:
    case = load_case("mri-verified-no-findings-clear")
    del case["exam"]["field_strength_t"]
    assert _field_refused(case) == "exam.field_strength_t"


def test_unknown_modality_names_the_field() -> None:
    case = load_case("ct-egfr-44")
    case["exam"]["modality"] = "XR"
    assert _field_refused(case) == "exam.modality"


def test_datetime_without_offset_is_refused() -> None:
    case = load_case("ct-egfr-44")
    case["exam"]["exam_datetime"] = "2026-03-02T14:00:00"
    assert _field_refused(case) == "exam.exam_datetime"


def test_field_strength_given_in_millitesla_is_refused() -> None:
    case = load_case("mri-verified-no-findings-clear")
    case["exam"]["field_strength_t"] = 1500
    assert _field_refused(case) == "exam.field_strength_t"


def test_unknown_answer_item_names_it() -> None:
    case = load_case("ct-egfr-44")
    case["answers"]["renal.egfr_value"] = {"value": 44, "source": "patient_online"}
    assert _field_refused(case) == "answers.renal.egfr_value"


def test_answer_of_the_wrong_type_names_its_value() -> None:
    case = load_case("ct-egfr-44")
    case["answers"]["renal.egfr"]["value"] = "44"
    assert _field_refused(case) == "answers.renal.egfr.value"


def test_choice_answer_outside_the_options_is_refused() -> None:
    case = load_case("mri-verified-no-findings-clear")
    case["answers"]["mri.cardiac_device"]["value"] = "yes"
    assert _field_refused(case) == "answers.mri.cardiac_device.value"


def test_implausible_egfr_is_refused() -> None:
    case = load_case("ct-egfr-44")
    case["answers"]["renal.egfr"]["value"] = 440
    assert _field_refused(case) == "answers.renal.egfr.value"


def test_egfr_drawn_after_the_exam_is_refused() -> None:
    case = load_case("ct-egfr-44")
    case["answers"]["renal.egfr_date"]["value"] = "2026-03-03"
    assert _field_refused(case) == "answers.renal.egfr_date.value"


def test_unknown_answer_source_is_refused() -> None:
    case = load_case("ct-egfr-44")
    case["answers"]["renal.egfr"]["source"] = "nurse"
    assert _field_refused(case) == "answers.renal.egfr.source"


def test_agent_and_group_that_disagree_are_refused() -> None:
    case = load_case("mr-gbca-group-ii-egfr-20")
    case["exam"]["contrast"]["gbca_group"] = "I"
    assert _field_refused(case) == "exam.contrast.gbca_group"


def test_gadolinium_without_group_or_known_agent_is_refused() -> None:
    case = load_case("mr-gbca-group-ii-egfr-20")
    case["exam"]["contrast"]["agent"] = "gadonewagent"
    assert _field_refused(case) == "exam.contrast.gbca_group"


def test_contrast_without_route_is_refused() -> None:
    case = load_case("ct-egfr-44")
    del case["exam"]["contrast"]["route"]
    assert _field_refused(case) == "exam.contrast.route"


def test_misspelt_top_level_member_is_refused() -> None:
    case = load_case("ct-egfr-44")
    case["answer"] = case.pop("answers")
    assert _field_refused(case) == "answer"


def test_a_known_agent_supplies_its_acr_group() -> None:
    case = load_case("mr-gbca-group-iii-egfr-25")
    assert "gbca_group" not in case["exam"]["contrast"]
    fired = {rule["id"] for rule in evaluate_case_json(case)["fired_rules"]}
    assert "gadolinium.kidney.group-iii-severe" in fired


def test_cli_reports_malformed_case_with_its_field_and_exits_2(tmp_path: Path) -> None:
    case = load_case("mri-verified-no-findings-clear")
    del case["exam"]["field_strength_t"]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    result = CliRunner().invoke(screening_app, ["evaluate", str(path)])
    assert result.exit_code == 2
    assert "exam.field_strength_t" in result.stderr
    assert result.stdout == ""


def test_cli_reports_invalid_json_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"exam": ', encoding="utf-8")
    result = CliRunner().invoke(screening_app, ["evaluate", str(path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_cli_reports_missing_file_and_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(screening_app, ["evaluate", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_cli_reads_the_case_from_stdin() -> None:
    case = load_case("ct-egfr-44")
    result = CliRunner().invoke(screening_app, ["evaluate", "-"], input=json.dumps(case))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision"] == "CLEAR_WITH_ACTION"


def test_cli_check_reports_a_case_whose_expectation_differs(tmp_path: Path) -> None:
    case = load_case("ct-egfr-44")
    case["expect"] = {"decision": "CLEAR", "fired": []}
    (tmp_path / "changed.json").write_text(json.dumps(case), encoding="utf-8")
    result = CliRunner().invoke(screening_app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL changed.json: decision CLEAR_WITH_ACTION, expected CLEAR" in result.stdout
    assert "unexpected rule(s) fired: iodinated.kidney.egfr-30-to-44" in result.stdout


def test_cli_refuses_a_broken_candidate_rule_set_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("version: x\n", encoding="utf-8")
    result = CliRunner().invoke(screening_app, ["evaluate", "-", "--rules", str(tmp_path)], input="{}")
    assert result.exit_code == 2
    assert "invalid rule set" in result.stderr
