"""Lung-RADS v2022, case by case against the ACR table (sizes on the boundaries)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.catalog.rads import assess_json, load_rulebook
from radflow.domain.errors import ValidationError


def lung(nodules: list[dict[str, Any]], exam: str = "baseline", **extra: Any) -> dict[str, Any]:
    return assess_json({"system": "lung-rads", "exam": exam, "nodules": nodules, **extra})


@pytest.mark.parametrize(
    ("diameter", "category"),
    [(5.9, "2"), (6.0, "3"), (7.9, "3"), (8.0, "4A"), (14.9, "4A"), (15.0, "4B"), (32.0, "4B")],
)
def test_solid_nodule_at_baseline_is_categorised_by_mean_diameter(diameter: float, category: str) -> None:
    assert lung([{"type": "solid", "diameter_mm": diameter}])["category"] == category


@pytest.mark.parametrize(
    ("diameter", "category"),
    [(3.9, "2"), (4.0, "3"), (5.9, "3"), (6.0, "4A"), (7.9, "4A"), (8.0, "4B")],
)
def test_new_solid_nodule_uses_the_lower_new_nodule_thresholds(diameter: float, category: str) -> None:
    result = lung([{"type": "solid", "diameter_mm": diameter, "status": "new"}], exam="follow_up")
    assert result["category"] == category


@pytest.mark.parametrize(("diameter", "category"), [(7.9, "4A"), (8.0, "4B")])
def test_growing_solid_nodule_is_4a_below_8_mm_and_4b_from_8_mm(diameter: float, category: str) -> None:
    result = lung([{"type": "solid", "diameter_mm": diameter, "status": "growing"}], exam="follow_up")
    assert result["category"] == category


@pytest.mark.parametrize(
    ("total", "solid", "category"),
    [(5.9, 3.0, "2"), (6.0, 5.9, "3"), (10.0, 6.0, "4A"), (12.0, 7.9, "4A"), (12.0, 8.0, "4B")],
)
def test_part_solid_nodule_at_baseline_follows_total_size_and_solid_component(
    total: float, solid: float, category: str
) -> None:
    result = lung([{"type": "part_solid", "diameter_mm": total, "solid_component_mm": solid}])
    assert result["category"] == category


@pytest.mark.parametrize(
    ("total", "solid", "category"),
    [(5.9, 2.0, "3"), (10.0, 3.9, "4A"), (10.0, 4.0, "4B")],
)
def test_new_part_solid_nodule_follows_its_new_solid_component(total: float, solid: float, category: str) -> None:
    nodule = {"type": "part_solid", "diameter_mm": total, "solid_component_mm": solid, "status": "new"}
    assert lung([nodule], exam="follow_up")["category"] == category


@pytest.mark.parametrize(
    ("diameter", "status", "category"),
    [(29.9, None, "2"), (30.0, None, "3"), (12.0, "growing", "2"), (35.0, "stable", "2"),
     (35.0, "slowly_growing", "2")],
)
def test_ground_glass_nodule_is_benign_below_30_mm(diameter: float, status: str | None, category: str) -> None:
    nodule: dict[str, Any] = {"type": "ground_glass", "diameter_mm": diameter}
    exam = "baseline"
    if status:
        nodule["status"], exam = status, "follow_up"
    assert lung([nodule], exam=exam)["category"] == category


def test_juxtapleural_nodule_under_10_mm_is_benign_and_from_10_mm_is_sized_as_solid() -> None:
    assert lung([{"type": "juxtapleural", "diameter_mm": 9.9}])["category"] == "2"
    assert lung([{"type": "juxtapleural", "diameter_mm": 10.0}])["category"] == "4A"


def test_airway_nodule_segmental_is_4a_at_baseline_and_4b_when_it_persists() -> None:
    assert lung([{"type": "airway", "airway_level": "subsegmental"}])["category"] == "2"
    assert lung([{"type": "airway", "airway_level": "segmental_or_proximal"}])["category"] == "4A"
    persisting = {"type": "airway", "airway_level": "segmental_or_proximal", "status": "stable"}
    assert lung([persisting], exam="follow_up")["category"] == "4B"


def test_category_3_means_ldct_in_6_months() -> None:
    result = lung([{"type": "solid", "diameter_mm": 7.0}])
    assert (result["modality"], result["interval"]["months_min"], result["interval"]["days"]) == ("CT", 6.0, 183)
    assert result["management"] == "6-month LDCT."


def test_category_4a_means_ldct_in_3_months_and_pet_ct_only_with_a_solid_part_of_8_mm() -> None:
    large_solid = lung([{"type": "solid", "diameter_mm": 9.0}])
    assert large_solid["category"] == "4A"
    assert large_solid["interval"]["days"] == 91
    assert "PET/CT" in large_solid["also_consider"]
    part_solid = lung([{"type": "part_solid", "diameter_mm": 12.0, "solid_component_mm": 7.0}])
    assert part_solid["category"] == "4A"
    assert "PET/CT" not in part_solid["also_consider"]


def test_pet_ct_is_listed_for_the_suspicious_nodule_not_for_a_large_calcified_one() -> None:
    result = lung([{"type": "solid", "diameter_mm": 12.0, "benign_features": True},
                   {"type": "part_solid", "diameter_mm": 12.0, "solid_component_mm": 7.0}])
    assert result["category"] == "4A"
    assert "PET/CT" not in result["also_consider"]


def test_category_4b_sends_to_diagnostic_ct_pet_ct_and_tissue_sampling_without_an_interval() -> None:
    result = lung([{"type": "solid", "diameter_mm": 16.0}])
    assert result["procedure"] == "diagnostic chest CT with or without contrast"
    assert result["interval"] is None
    assert result["also_consider"] == ["PET/CT", "tissue sampling"]


def test_calcified_nodule_and_an_exam_without_nodules_are_category_1() -> None:
    assert lung([{"type": "solid", "diameter_mm": 12.0, "benign_features": True}])["category"] == "1"
    negative = lung([])
    assert (negative["category"], negative["interval"]["days"]) == ("1", 365)


def test_suspected_infection_is_category_0_with_ldct_in_1_to_3_months() -> None:
    result = lung([{"type": "solid", "diameter_mm": 9.0, "infectious": True}])
    assert result["category"] == "0"
    assert (result["interval"]["months_min"], result["interval"]["months_max"]) == (1.0, 3.0)


def test_incomplete_exam_is_category_0_whatever_the_nodules() -> None:
    assert lung([{"type": "solid", "diameter_mm": 16.0}], incomplete=True)["category"] == "0"


def test_exam_takes_the_most_suspicious_nodule() -> None:
    result = lung([{"type": "solid", "diameter_mm": 7.0}, {"type": "solid", "diameter_mm": 9.0}])
    assert (result["category"], result["deciding_nodule"]) == ("4A", 1)
    assert [n["category"] for n in result["nodules"]] == ["3", "4A"]


def test_stepped_management_downgrades_a_stable_3_to_2_and_a_stable_4a_to_3() -> None:
    stable_3 = {"type": "solid", "diameter_mm": 7.0, "status": "stable", "prior_category": "3"}
    stable_4a = {"type": "solid", "diameter_mm": 9.0, "status": "decreased", "prior_category": "4A"}
    assert lung([stable_3], exam="follow_up")["category"] == "2"
    assert lung([stable_4a], exam="follow_up")["category"] == "3"


def test_growth_is_measured_as_more_than_1_5_mm() -> None:
    grown = {"type": "solid", "diameter_mm": 7.6, "prior_diameter_mm": 6.0}
    result = lung([grown], exam="follow_up")
    assert (result["category"], result["nodules"][0]["context"]) == ("4A", "grew 1.6 mm (> 1.5 mm)")
    not_grown = {"type": "solid", "diameter_mm": 7.5, "prior_diameter_mm": 6.0, "prior_category": "3"}
    assert lung([not_grown], exam="follow_up")["category"] == "2"


def test_a_nodule_crossing_a_size_threshold_without_growth_is_reclassified_by_size() -> None:
    result = lung([{"type": "solid", "diameter_mm": 8.2, "prior_diameter_mm": 7.0}], exam="follow_up")
    assert result["category"] == "4A"


def test_suspicious_features_upgrade_3_and_4_to_4x() -> None:
    result = lung([{"type": "solid", "diameter_mm": 7.0, "suspicious_features": True}])
    assert (result["category"], result["rule"]["id"]) == ("4X", "lr-4x-suspicious-features")
    benign = lung([{"type": "solid", "diameter_mm": 5.0, "suspicious_features": True}])
    assert benign["category"] == "2"


def test_significant_other_finding_adds_the_s_modifier() -> None:
    result = lung([{"type": "solid", "diameter_mm": 5.0}], significant_finding="3.6 cm ascending aortic aneurysm")
    assert (result["category"], result["category_label"]) == ("2", "2S")
    assert "aortic aneurysm" in result["notes"][0]


def test_mean_diameter_from_axes_is_rounded_to_one_decimal_before_the_threshold() -> None:
    # (6.4 + 5.5) / 2 = 5.95 -> 6.0 mm -> category 3
    assert lung([{"type": "solid", "long_axis_mm": 6.4, "short_axis_mm": 5.5}])["category"] == "3"


def test_every_answer_names_its_rule_and_source() -> None:
    result = lung([{"type": "part_solid", "diameter_mm": 7.0, "solid_component_mm": 2.0}])
    assert result["rule"]["id"] == "lr-3-part-solid-baseline-solid-lt6"
    assert "Lung-RADS v2022" in result["rule"]["source"]


@pytest.mark.parametrize(
    ("finding", "field"),
    [
        ({"exam": "baseline", "nodules": [{"type": "solid"}]}, "nodules[0].diameter_mm"),
        ({"exam": "follow_up", "nodules": [{"type": "solid", "diameter_mm": 5}]}, "nodules[0].status"),
        ({"exam": "yearly", "nodules": []}, "exam"),
        ({"exam": "baseline", "nodules": [{"type": "round", "diameter_mm": 5}]}, "nodules[0].type"),
        ({"exam": "baseline", "nodules": [{"type": "part_solid", "diameter_mm": 5}]}, "nodules[0].solid_component_mm"),
        ({"exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 5, "size": 3}]}, "nodules[0].size"),
    ],
)
def test_bad_input_names_the_field(finding: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        assess_json({"system": "lung-rads", **finding})
    assert error.value.field == field
    assert field in error.value.message


def test_stable_nodule_without_prior_category_asks_for_it() -> None:
    with pytest.raises(ValidationError, match="prior_category"):
        lung([{"type": "solid", "diameter_mm": 7.0, "status": "stable"}], exam="follow_up")


RANK = {code: i for i, code in enumerate(load_rulebook().lungrads.severity_order)}
sizes = st.floats(min_value=0.5, max_value=60, allow_nan=False).map(lambda x: round(x, 1))


@given(kind=st.sampled_from(["solid", "juxtapleural", "ground_glass", "part_solid"]),
       status=st.sampled_from(["baseline", "new", "growing"]), diameter=sizes, share=st.floats(0, 1))
def test_every_measured_nodule_at_baseline_new_or_growing_gets_a_category(
    kind: str, status: str, diameter: float, share: float
) -> None:
    nodule: dict[str, Any] = {"type": kind, "diameter_mm": diameter}
    if kind == "part_solid":
        nodule["solid_component_mm"] = round(diameter * share, 1)
    exam = "baseline"
    if status != "baseline":
        nodule["status"], exam = status, "follow_up"
    assert lung([nodule], exam=exam)["category"] in RANK


@given(small=sizes, large=sizes, status=st.sampled_from(["baseline", "new", "growing"]))
def test_a_larger_solid_nodule_is_never_less_suspicious(small: float, large: float, status: str) -> None:
    small, large = min(small, large), max(small, large)

    def category(d: float) -> str:
        nodule: dict[str, Any] = {"type": "solid", "diameter_mm": d}
        if status == "baseline":
            return str(lung([nodule])["category"])
        return str(lung([{**nodule, "status": status}], exam="follow_up")["category"])

    assert RANK[category(small)] <= RANK[category(large)]
