"""BI-RADS 5th edition per breast: management, follow-up, overall assessment, MQSA wording."""

from __future__ import annotations

from typing import Any

import pytest

from radflow.catalog.rads import assess_json
from radflow.domain.errors import ValidationError


def birads(right: str | None = None, left: str | None = None, modality: str = "MG", **extra: Any) -> dict[str, Any]:
    finding: dict[str, Any] = {"system": "bi-rads", "exam_modality": modality, **extra}
    for side, code in (("right", right), ("left", left)):
        if code is not None:
            finding[side] = {"category": code}
            if code == "0":
                finding[side]["incomplete_reason"] = "additional_imaging"
    return assess_json(finding)


@pytest.mark.parametrize(
    ("category", "management", "days", "mqsa"),
    [
        ("0", "Recall for additional imaging and/or comparison with prior examination(s).", None,
         "Incomplete: Need Additional Imaging Evaluation"),
        ("1", "Routine mammography screening.", 365, "Negative"),
        ("2", "Routine mammography screening.", 365, "Benign"),
        ("3", "Short-interval (6-month) follow-up or continued surveillance mammography.", 183, "Probably Benign"),
        ("4", "Tissue diagnosis.", None, "Suspicious"),
        ("4A", "Tissue diagnosis.", None, "Suspicious"),
        ("4B", "Tissue diagnosis.", None, "Suspicious"),
        ("4C", "Tissue diagnosis.", None, "Suspicious"),
        ("5", "Tissue diagnosis.", None, "Highly Suggestive of Malignancy"),
        ("6", "Surgical excision when clinically appropriate.", None, "Known Biopsy Proven Malignancy"),
    ],
)
def test_each_category_carries_its_standard_management_and_mqsa_category(
    category: str, management: str, days: int | None, mqsa: str
) -> None:
    result = birads(right=category)
    assert result["management"] == management
    assert (result["interval"]["days"] if result["interval"] else None) == days
    assert result["mqsa"]["assessment_category"] == mqsa


@pytest.mark.parametrize(
    ("right", "left", "overall"),
    [("3", "0", "0"), ("6", "0", "0"), ("0", "4A", "4A"), ("2", "3", "3"), ("6", "3", "6"),
     ("4C", "5", "5"), ("4A", "4C", "4C"), ("1", "2", "2"), ("0", "5", "5")],
)
def test_overall_assessment_follows_the_atlas_hierarchy(right: str, left: str, overall: str) -> None:
    result = birads(right=right, left=left)
    assert result["category"] == overall
    assert result["overall_from"] == ("right" if right == overall else "left")


def test_each_breast_keeps_its_own_management() -> None:
    result = birads(right="3", left="4B")
    assert result["breasts"]["right"]["interval"]["months_min"] == 6.0
    assert result["breasts"]["left"]["procedure"] == "tissue sampling (biopsy)"


@pytest.mark.parametrize(("modality", "procedure"), [("MG", "6-month diagnostic mammogram"),
                                                      ("US", "6-month breast ultrasound"),
                                                      ("MR", "6-month breast MRI")])
def test_probably_benign_is_followed_in_the_modality_of_the_exam(modality: str, procedure: str) -> None:
    result = birads(left="3", modality=modality)
    assert (result["modality"], result["procedure"]) == (modality, procedure)


def test_mqsa_wording_is_given_only_for_mammography() -> None:
    assert "mqsa" not in birads(right="4A", modality="US")


def test_incomplete_for_prior_mammograms_maps_to_its_own_mqsa_category() -> None:
    result = assess_json({"system": "bi-rads", "exam_modality": "MG",
                          "right": {"category": "0", "incomplete_reason": "prior_mammograms"},
                          "left": {"category": "1"}, "exam_date": "2026-03-02"})
    assert result["mqsa"]["assessment_category"] == "Incomplete: Need Prior Mammograms for Comparison"
    assert result["procedure"] == "comparison with prior mammograms"
    assert result["mqsa"]["deadlines"]["final_assessment_due"] == "2026-04-01"


def test_mammogram_category_0_without_its_reason_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        assess_json({"system": "bi-rads", "exam_modality": "MG", "left": {"category": "0"}})
    assert error.value.field == "left.incomplete_reason"


@pytest.mark.parametrize(
    ("finding", "field"),
    [
        ({"exam_modality": "MG"}, "right"),
        ({"exam_modality": "CT", "right": {"category": "1"}}, "exam_modality"),
        ({"exam_modality": "MG", "right": {"category": "7"}}, "right.category"),
        ({"exam_modality": "MG", "right": {"category": "2"}, "density": "e"}, "density"),
        ({"exam_modality": "MG", "right": {"category": "2"}, "exam_date": "02/03/2026"}, "exam_date"),
    ],
)
def test_bad_input_names_the_field(finding: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        assess_json({"system": "bi-rads", **finding})
    assert error.value.field == field


def test_suspicious_mammogram_gets_the_7_day_deadline_and_the_dense_statement() -> None:
    result = birads(right="4B", left="2", density="d", exam_date="2026-03-02", final_interpretation_date="2026-03-03")
    mqsa = result["mqsa"]
    assert mqsa["density_statement"] == "The breasts are extremely dense, which lowers the sensitivity of mammography."
    assert "Your breast tissue is dense." in mqsa["lay_density_statement"]
    assert (mqsa["lay_summary_days"], mqsa["deadlines"]["lay_summary_due"]) == (7, "2026-03-10")
