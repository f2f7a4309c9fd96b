"""ACR TI-RADS points calculator, levels and FNA / follow-up thresholds (Tessler et al. 2017)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.catalog.rads import assess_json, load_rulebook
from radflow.domain.errors import ValidationError

BENIGN = {"composition": "cystic", "echogenicity": "anechoic", "shape": "wider_than_tall", "margin": "smooth"}


def tirads(size_cm: float = 1.0, foci: tuple[str, ...] = ("none",), **features: str) -> dict[str, Any]:
    return assess_json({"system": "ti-rads", **BENIGN, **features, "echogenic_foci": list(foci),
                        "max_diameter_cm": size_cm})


@pytest.mark.parametrize(
    ("features", "foci", "points", "level"),
    [
        ({}, ("none",), 0, "TR1"),
        ({"composition": "spongiform", "echogenicity": "isoechoic"}, ("none",), 1, "TR1"),
        ({"composition": "mixed_cystic_solid", "echogenicity": "isoechoic"}, ("none",), 2, "TR2"),
        ({"composition": "solid", "echogenicity": "hyperechoic"}, ("none",), 3, "TR3"),
        ({"composition": "solid", "echogenicity": "hypoechoic"}, ("none",), 4, "TR4"),
        ({"composition": "solid", "echogenicity": "very_hypoechoic"}, ("none",), 5, "TR4"),
        ({"composition": "mixed_cystic_solid", "echogenicity": "isoechoic", "margin": "extrathyroidal_extension"},
         ("none",), 5, "TR4"),
        ({"composition": "solid", "echogenicity": "isoechoic"}, ("macrocalcifications", "peripheral_calcifications"),
         6, "TR4"),
        ({"composition": "solid", "echogenicity": "hypoechoic", "shape": "taller_than_wide"}, ("none",), 7, "TR5"),
        ({"composition": "solid", "echogenicity": "hypoechoic"}, ("punctate", "macrocalcifications"), 8, "TR5"),
        ({"composition": "indeterminate_due_to_calcification", "echogenicity": "indeterminate",
          "margin": "lobulated"}, ("large_comet_tail",), 5, "TR4"),
    ],
)
def test_points_sum_to_the_level(features: dict[str, str], foci: tuple[str, ...], points: int, level: str) -> None:
    result = tirads(foci=foci, **features)
    assert (result["points"], result["category"]) == (points, level)


TR3 = {"composition": "solid", "echogenicity": "isoechoic"}
TR4 = {"composition": "solid", "echogenicity": "hypoechoic"}
TR5 = {"composition": "solid", "echogenicity": "hypoechoic", "shape": "taller_than_wide"}


@pytest.mark.parametrize(
    ("features", "size", "decision"),
    [
        (TR3, 2.5, "fna"), (TR3, 2.4, "follow_up"), (TR3, 1.5, "follow_up"), (TR3, 1.4, "none"),
        (TR4, 1.5, "fna"), (TR4, 1.4, "follow_up"), (TR4, 1.0, "follow_up"), (TR4, 0.9, "none"),
        (TR5, 1.0, "fna"), (TR5, 0.9, "follow_up"), (TR5, 0.5, "follow_up"), (TR5, 0.4, "none"),
        ({"composition": "mixed_cystic_solid", "echogenicity": "isoechoic"}, 4.0, "none"),
    ],
)
def test_fna_and_follow_up_thresholds_are_inclusive(features: dict[str, str], size: float, decision: str) -> None:
    assert tirads(size_cm=size, **features)["decision"] == decision


def test_fna_is_an_ultrasound_guided_procedure_without_interval() -> None:
    result = tirads(size_cm=2.0, **TR4)
    assert (result["modality"], result["procedure"], result["interval"]) == (
        "US", "ultrasound-guided fine-needle aspiration", None)


@pytest.mark.parametrize(("features", "years"), [(TR3, [1, 3, 5]), (TR4, [1, 2, 3, 5]), (TR5, [1, 2, 3, 4, 5])])
def test_follow_up_schedule_starts_at_one_year(features: dict[str, str], years: list[int]) -> None:
    size = {"TR3": 2.0, "TR4": 1.2, "TR5": 0.7}
    level = tirads(**features)["category"]
    result = tirads(size_cm=size[level], **features)
    assert (result["follow_up_years"], result["interval"]["days"], result["modality"]) == (years, 365, "US")


def test_size_may_be_given_in_millimetres() -> None:
    assert tirads(**TR4)["decision"] == "follow_up"
    result = assess_json({"system": "ti-rads", **BENIGN, **TR4, "echogenic_foci": [], "max_diameter_mm": 15})
    assert result["decision"] == "fna"


def test_unknown_feature_value_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        tirads(echogenicity="dark")
    assert error.value.field == "echogenicity"
    with pytest.raises(ValidationError) as error:
        tirads(foci=("microcalcifications",))
    assert error.value.field == "echogenic_foci[0]"


TABLE = load_rulebook().tirads
choices = {name: sorted(scale.points) for name, scale in TABLE.features.items()}
LEVELS = [level.level for level in TABLE.levels]


@given(composition=st.sampled_from(choices["composition"]), echogenicity=st.sampled_from(choices["echogenicity"]),
       shape=st.sampled_from(choices["shape"]), margin=st.sampled_from(choices["margin"]),
       foci=st.sets(st.sampled_from(choices["echogenic_foci"])), size=st.floats(0.1, 6))
def test_any_nodule_gets_the_level_of_its_points_and_a_bigger_one_never_gets_less_work_up(
    composition: str, echogenicity: str, shape: str, margin: str, foci: set[str], size: float
) -> None:
    features = {"composition": composition, "echogenicity": echogenicity, "shape": shape, "margin": margin}
    result = tirads(size_cm=size, foci=tuple(foci), **features)
    assert TABLE.level_for(result["points"]).level == result["category"]
    order = ["none", "follow_up", "fna"]
    bigger = tirads(size_cm=size + 1, foci=tuple(foci), **features)
    assert order.index(bigger["decision"]) >= order.index(result["decision"])
