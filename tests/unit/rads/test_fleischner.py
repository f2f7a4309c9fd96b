"""Fleischner Society 2017, case by case against Table 1 (sizes rounded to the nearest millimetre)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.catalog.rads import assess_json
from radflow.domain.errors import ValidationError


def fleischner(**finding: Any) -> dict[str, Any]:
    return assess_json({"system": "fleischner", **finding})


@pytest.mark.parametrize(
    ("kind", "multiplicity", "size", "risk", "management", "months"),
    [
        ("solid", "single", 5.0, "low", "No routine follow-up.", None),
        ("solid", "single", 5.4, "high", "Optional CT at 12 months.", (12.0, 12.0)),
        ("solid", "single", 5.5, "low", "CT at 6-12 months, then consider CT at 18-24 months.", (6.0, 12.0)),
        ("solid", "single", 8.0, "high", "CT at 6-12 months, then CT at 18-24 months.", (6.0, 12.0)),
        ("solid", "single", 8.4, "low", "CT at 6-12 months, then consider CT at 18-24 months.", (6.0, 12.0)),
        ("solid", "single", 8.5, "low", "Consider CT at 3 months, PET/CT, or tissue sampling.", (3.0, 3.0)),
        ("solid", "single", 15.0, "high", "Consider CT at 3 months, PET/CT, or tissue sampling.", (3.0, 3.0)),
        ("solid", "multiple", 4.0, "low", "No routine follow-up.", None),
        ("solid", "multiple", 4.0, "high", "Optional CT at 12 months.", (12.0, 12.0)),
        ("solid", "multiple", 6.0, "low", "CT at 3-6 months, then consider CT at 18-24 months.", (3.0, 6.0)),
        ("solid", "multiple", 7.0, "high", "CT at 3-6 months, then at 18-24 months.", (3.0, 6.0)),
        ("solid", "multiple", 12.0, "low", "CT at 3-6 months, then consider CT at 18-24 months.", (3.0, 6.0)),
        ("ground_glass", "single", 5.0, None, "No routine follow-up.", None),
        ("ground_glass", "single", 6.0, None,
         "CT at 6-12 months to confirm persistence, then CT every 2 years until 5 years.", (6.0, 12.0)),
        ("part_solid", "single", 5.0, None, "No routine follow-up.", None),
        ("part_solid", "single", 6.0, None,
         "CT at 3-6 months to confirm persistence. If unchanged and solid component remains < 6 mm, "
         "annual CT should be performed for 5 years.", (3.0, 6.0)),
        ("ground_glass", "multiple", 4.0, None,
         "CT at 3-6 months. If stable, consider CT at 2 and 4 years.", (3.0, 6.0)),
        ("part_solid", "multiple", 9.0, None,
         "CT at 3-6 months. Subsequent management based on the most suspicious nodule(s).", (3.0, 6.0)),
    ],
)
def test_table_1_recommendation(
    kind: str, multiplicity: str, size: float, risk: str | None, management: str, months: tuple[float, float] | None
) -> None:
    finding: dict[str, Any] = {"nodule_type": kind, "multiplicity": multiplicity, "diameter_mm": size}
    if risk:
        finding["risk"] = risk
    result = fleischner(**finding)
    assert result["management"] == management
    if months is None:
        assert result["interval"] is None and result["modality"] is None
    else:
        assert (result["interval"]["months_min"], result["interval"]["months_max"]) == months
        assert result["modality"] == "CT"


def test_6_to_12_months_is_due_from_day_183() -> None:
    result = fleischner(nodule_type="solid", multiplicity="single", diameter_mm=7, risk="low")
    assert (result["interval"]["days"], result["interval"]["days_max"]) == (183, 365)


def test_solid_nodule_over_8_mm_lists_pet_ct_and_tissue_sampling() -> None:
    result = fleischner(nodule_type="solid", multiplicity="single", diameter_mm=10, risk="low")
    assert result["also_consider"] == ["PET/CT", "tissue sampling"]


def test_size_is_the_mean_of_the_axes_rounded_to_the_nearest_mm() -> None:
    # (9 + 7.9) / 2 = 8.45 -> 8 mm: still the 6-8 mm band
    result = fleischner(nodule_type="solid", multiplicity="single", long_axis_mm=9, short_axis_mm=7.9, risk="low")
    assert (result["size_mm"], result["rule"]["id"]) == (8, "fs-solid-single-6to8-low")


def test_part_solid_with_solid_component_of_6_mm_is_flagged_highly_suspicious() -> None:
    result = fleischner(nodule_type="part_solid", multiplicity="single", diameter_mm=12, solid_component_mm=6)
    assert result["notes"] == [
        "Persistent part-solid nodules with solid components >= 6 mm should be considered highly suspicious."
    ]


@pytest.mark.parametrize(
    "extra", [{"patient_age": 30}, {"screening": True}, {"known_cancer": True}, {"immunocompromised": True}]
)
def test_guideline_does_not_apply_outside_its_population(extra: dict[str, Any]) -> None:
    result = fleischner(nodule_type="solid", multiplicity="single", diameter_mm=7, risk="low", **extra)
    assert result["category"] == "not-applicable"
    assert result["interval"] is None


def test_patient_of_35_is_within_the_guideline() -> None:
    result = fleischner(nodule_type="solid", multiplicity="single", diameter_mm=7, risk="low", patient_age=35)
    assert result["category"] == "solid, single, 6-8 mm, low risk"


def test_solid_nodule_without_risk_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        fleischner(nodule_type="solid", multiplicity="single", diameter_mm=7)
    assert error.value.field == "risk"


@given(kind=st.sampled_from(["solid", "ground_glass", "part_solid"]),
       multiplicity=st.sampled_from(["single", "multiple"]), risk=st.sampled_from(["low", "high"]),
       size=st.floats(min_value=1, max_value=40, allow_nan=False))
def test_every_incidental_nodule_has_a_recommendation_with_a_source(
    kind: str, multiplicity: str, risk: str, size: float
) -> None:
    result = fleischner(nodule_type=kind, multiplicity=multiplicity, diameter_mm=size, risk=risk)
    assert result["management"] and result["rule"]["source"].startswith("Fleischner 2017")


@given(risk=st.sampled_from(["low", "high"]), multiplicity=st.sampled_from(["single", "multiple"]),
       small=st.floats(1, 40), large=st.floats(1, 40))
def test_a_larger_solid_nodule_is_never_followed_later(
    risk: str, multiplicity: str, small: float, large: float
) -> None:
    small, large = min(small, large), max(small, large)

    def first_due(size: float) -> float:
        result = fleischner(nodule_type="solid", multiplicity=multiplicity, diameter_mm=size, risk=risk)
        return result["interval"]["months_min"] if result["interval"] else float("inf")

    assert first_due(large) <= first_due(small)
