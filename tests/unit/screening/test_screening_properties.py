"""Rules that must hold for every case, checked with generated cases (hypothesis)."""

from __future__ import annotations

import contextlib
import copy
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from screening_support import load_case

from radflow.catalog.screening_loader import evaluate_case_json, shipped_screening_rules
from radflow.domain.errors import ValidationError
from radflow.domain.screening import ItemType, Outcome, QuestionnaireItem

RULES = shipped_screening_rules()
SOURCES = ["patient_online", "patient_checkin", "technologist_verified"]
MRI_ITEMS = [item.link_id for item in next(q for q in RULES.questionnaires if q.id == "mri-safety").items]
SEVERITY = {outcome.value: outcome.severity for outcome in Outcome}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _value(item: QuestionnaireItem) -> st.SearchStrategy[Any]:
    if item.type is ItemType.BOOLEAN:
        return st.booleans()
    if item.type is ItemType.CHOICE:
        return st.sampled_from([option.code for option in item.options])
    if item.type is ItemType.DATE:
        return st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 3, 2)).map(date.isoformat)
    assert item.minimum is not None and item.maximum is not None
    number = st.floats(min_value=item.minimum, max_value=item.maximum, allow_nan=False)
    return st.lists(number, min_size=1, max_size=3) if item.repeats else number


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """Any well-formed case: exam, patient, and any subset of answers from any source."""
    modality = draw(st.sampled_from(["MR", "CT", "PT", "NM", "DX", "XA", "US", "MG"]))
    agent_class = draw(st.sampled_from(["none", "iodinated", "gadolinium"]))
    exam: dict[str, Any] = {"modality": modality, "exam_datetime": "2026-03-02T14:00:00Z"}
    if modality == "MR" or draw(st.booleans()):
        exam["field_strength_t"] = draw(st.sampled_from([0.55, 1.5, 3.0, 7.0]))
    if draw(st.booleans()):
        exam["table_limit_kg"] = draw(st.floats(min_value=100, max_value=300))
    if agent_class != "none":
        contrast = {
            "agent_class": agent_class,
            "route": draw(st.sampled_from(["intravenous", "intra_arterial", "oral"])),
        }
        if agent_class == "gadolinium":
            contrast["gbca_group"] = draw(st.sampled_from(["I", "II", "III"]))
        exam["contrast"] = contrast
    if modality in ("NM", "PT"):
        exam["radiopharmaceutical"] = draw(st.sampled_from(["fdg", "technetium", "i123", "i131", "other"]))
    answers = {}
    for link_id in draw(st.sets(st.sampled_from(sorted(RULES.items)))):
        answers[link_id] = {"value": draw(_value(RULES.items[link_id])), "source": draw(st.sampled_from(SOURCES))}
    patient = {
        "age_years": draw(st.integers(min_value=0, max_value=100)),
        "sex": draw(st.sampled_from(["female", "male", "other", "unknown"])),
    }
    return {"exam": exam, "patient": patient, "answers": answers}


@FAST
@given(cases())
def test_the_most_severe_fired_rule_decides(case: dict[str, Any]) -> None:
    decision = evaluate_case_json(case)
    severities = [SEVERITY[rule["outcome"]] for rule in decision["fired_rules"]]
    assert SEVERITY[decision["decision"]] == max(severities, default=0)
    if decision["decision"] == "CONTRAINDICATED":
        assert decision["alternatives"]
    for rule in decision["fired_rules"]:
        assert rule["questionnaire"] in decision["questionnaires"] or rule["questionnaire"] == "*"
        assert rule["source"]


@FAST
@given(cases())
def test_an_mri_case_is_never_clear_unless_a_technologist_verified_it(case: dict[str, Any]) -> None:
    decision = evaluate_case_json(case)
    if case["exam"]["modality"] == "MR" and decision["decision"] == "CLEAR":
        for link_id in ("mri.cardiac_device", "mri.aneurysm_clip", "mri.orbital_foreign_body"):
            assert case["answers"][link_id]["source"] == "technologist_verified"


@FAST
@given(st.lists(st.sampled_from(SOURCES), min_size=len(MRI_ITEMS), max_size=len(MRI_ITEMS)))
def test_online_or_desk_answers_never_clear_an_otherwise_clear_mri(sources: list[str]) -> None:
    case = load_case("mri-verified-no-findings-clear")
    for link_id, source in zip(MRI_ITEMS, sources, strict=True):
        if link_id in case["answers"]:
            case["answers"][link_id]["source"] = source
    decision = evaluate_case_json(case)
    unverified = any(
        case["answers"][link_id]["source"] != "technologist_verified"
        for link_id in MRI_ITEMS
        if link_id in case["answers"]
    )
    assert decision["decision"] == ("CLEAR_WITH_ACTION" if unverified else "CLEAR")


@FAST
@given(st.floats(min_value=0, max_value=200, allow_nan=False))
def test_egfr_bands_for_intravenous_iodinated_contrast(egfr: float) -> None:
    case = load_case("ct-egfr-45-boundary")
    case["answers"]["renal.egfr"]["value"] = egfr
    decision = evaluate_case_json(case)["decision"]
    expected = "HOLD_FOR_RADIOLOGIST_REVIEW" if egfr < 30 else "CLEAR_WITH_ACTION" if egfr < 45 else "CLEAR"
    assert decision == expected


@FAST
@given(st.floats(min_value=1, max_value=700), st.floats(min_value=100, max_value=400))
def test_weight_over_the_table_limit_is_contraindicated_and_only_then(weight: float, limit: float) -> None:
    case = load_case("ct-weight-at-table-limit")
    case["answers"]["body.weight_kg"]["value"] = weight
    case["exam"]["table_limit_kg"] = limit
    decision = evaluate_case_json(case)["decision"]
    assert (decision == "CONTRAINDICATED") == (weight > limit)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


@FAST
@given(JSON)
def test_arbitrary_json_is_refused_cleanly(obj: Any) -> None:
    with contextlib.suppress(ValidationError):
        evaluate_case_json(obj)


@FAST
@given(st.sampled_from(["exam", "patient", "answers"]), st.data())
def test_a_valid_case_with_one_member_garbled_is_evaluated_or_refused_cleanly(member: str, data: st.DataObject) -> None:
    case = copy.deepcopy(load_case("mr-pregnant-gadolinium"))
    target = case[member]
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(JSON)
    try:
        evaluate_case_json(case)
    except ValidationError as refused:
        assert refused.field
