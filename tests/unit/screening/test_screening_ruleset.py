"""Loading the screening rules: the shipped set is whole, and a bad rule is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from radflow.catalog.screening_loader import SHIPPED_DIR, load_screening_rules
from radflow.domain.errors import ValidationError
from radflow.domain.screening import Outcome, RuleSet, build_ruleset


def _rule(raw: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(rule for rule in raw["rules"] if rule["id"] == rule_id)


def _refused(raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        build_ruleset(raw)
    return refused.value.message


def test_every_questionnaire_item_is_read_by_at_least_one_rule(rules: RuleSet) -> None:
    read = set().union(*(rule.reads for rule in rules.rules))
    for questionnaire in rules.questionnaires:
        for item in questionnaire.items:
            derived_from = {
                "renal.egfr_date": "derived.egfr_age_days",
                "pregnancy.lmp_date": "derived.lmp_days_before_exam",
            }
            assert f"answer.{item.link_id}" in read or derived_from.get(item.link_id) in read, item.link_id


def test_every_rule_cites_a_registered_source_and_section(rules: RuleSet) -> None:
    for rule in rules.rules:
        assert rule.source.id in rules.sources
        assert rule.section, f"{rule.id} names no section of its source"


def test_local_policy_rules_hold_for_review_and_contraindications_name_an_alternative(rules: RuleSet) -> None:
    for rule in rules.rules:
        if rule.local_policy:
            assert rule.outcome is Outcome.HOLD_FOR_RADIOLOGIST_REVIEW, rule.id
        if rule.outcome is Outcome.CONTRAINDICATED:
            assert rule.alternative, rule.id


def test_questionnaires_cover_every_area_the_issue_lists(rules: RuleSet) -> None:
    ids = {q.id for q in rules.questionnaires}
    assert {
        "mri-safety",
        "iodinated-contrast",
        "gadolinium-contrast",
        "pregnancy",
        "radiopharmaceutical",
        "claustrophobia-sedation",
        "weight-table-limit",
    } <= ids
    assert any(item.verify_on_site for item in rules.items.values())


def test_rule_reading_an_unknown_item_is_refused_by_name(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["when"] = ["answer.mri.tatoos", "eq", True]
    message = _refused(raw_rules)
    assert "rule 'mri.tattoos'" in message and "answer.mri.tatoos" in message


def test_unknown_operator_is_refused_by_name(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["when"] = ["answer.mri.tattoos", "equals", True]
    message = _refused(raw_rules)
    assert "rule 'mri.tattoos'" in message and "'equals'" in message


def test_option_code_the_item_does_not_have_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.cardiac-device.unsafe")["when"] = ["answer.mri.cardiac_device", "eq", "mr_unsafe_"]
    message = _refused(raw_rules)
    assert "rule 'mri.cardiac-device.unsafe'" in message and "mr_unsafe_" in message


def test_numeric_comparison_on_a_choice_item_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["when"] = ["answer.mri.cardiac_device", "gt", 3]
    assert "rule 'mri.tattoos'" in _refused(raw_rules)


def test_yaml_yes_read_as_boolean_against_a_choice_is_refused(raw_rules: dict[str, Any]) -> None:
    # YAML 1.1 reads an unquoted `no` as false: the check catches it instead of never firing.
    _rule(raw_rules, "iodinated.kidney.dialysis-anuric")["when"] = ["answer.renal.dialysis", "eq", False]
    assert "renal.dialysis" in _refused(raw_rules)


def test_unknown_source_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["source"] = "acr-tattoo-manual"
    assert "rule 'mri.tattoos': source 'acr-tattoo-manual'" in _refused(raw_rules)


def test_contraindication_without_alternative_is_refused(raw_rules: dict[str, Any]) -> None:
    del _rule(raw_rules, "mri.cardiac-device.unsafe")["alternative"]
    assert "names the alternative" in _refused(raw_rules)


def test_local_policy_rule_that_does_not_hold_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["local_policy"] = True
    assert "rule 'mri.tattoos': a local-policy rule holds" in _refused(raw_rules)


def test_misspelt_rule_key_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["local_polcy"] = True
    assert "local_polcy" in _refused(raw_rules)


def test_duplicate_rule_id_is_refused(raw_rules: dict[str, Any]) -> None:
    raw_rules["rules"].append(dict(_rule(raw_rules, "mri.tattoos")))
    assert "rule 'mri.tattoos': id defined twice" in _refused(raw_rules)


def test_unknown_named_condition_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["when"] = {"ref": "ionising"}
    assert "'ionising'" in _refused(raw_rules)


def test_placeholder_naming_no_fact_is_refused(raw_rules: dict[str, Any]) -> None:
    _rule(raw_rules, "mri.tattoos")["why"] = "Tattoo count {answer.mri.tattoo_count}."
    assert "answer.mri.tattoo_count" in _refused(raw_rules)


def test_an_item_no_rule_reads_is_refused(raw_rules: dict[str, Any]) -> None:
    raw_rules["rules"] = [rule for rule in raw_rules["rules"] if rule["id"] != "mri.tattoos"]
    assert "read by no rule: mri.tattoos" in _refused(raw_rules)


def test_questionnaire_listing_an_unknown_item_is_refused(raw_rules: dict[str, Any]) -> None:
    raw_rules["questionnaires"][0]["items"].append("mri.jewellery")
    assert "questionnaire 'mri-safety': unknown item link id(s) mri.jewellery" in _refused(raw_rules)


def test_duplicate_yaml_key_in_a_rule_file_is_refused(tmp_path: Path) -> None:
    candidate = tmp_path / "rules"
    candidate.mkdir()
    for source in SHIPPED_DIR.rglob("*.yaml"):
        target = candidate / source.relative_to(SHIPPED_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    table = candidate / "rules" / "table.yaml"
    table.write_text(
        table.read_text(encoding="utf-8").replace(
            "  outcome: CONTRAINDICATED\n", "  outcome: CONTRAINDICATED\n  outcome: CLEAR\n"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match=r"table\.yaml line \d+: key 'outcome' appears twice"):
        load_screening_rules(candidate)


def test_candidate_rule_set_directory_loads_like_the_shipped_one(tmp_path: Path, rules: RuleSet) -> None:
    for source in SHIPPED_DIR.rglob("*.yaml"):
        target = tmp_path / source.relative_to(SHIPPED_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    manifest = tmp_path / "manifest.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["version"] = "candidate-1"
    manifest.write_text(yaml.safe_dump(data), encoding="utf-8")
    candidate = load_screening_rules(tmp_path)
    assert candidate.version == "candidate-1"
    assert [rule.id for rule in candidate.rules] == [rule.id for rule in rules.rules]
    assert candidate.digest != rules.digest
