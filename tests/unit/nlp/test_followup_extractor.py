"""Report text -> critical findings and follow-up recommendations, on sentences outside the corpus."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from radflow.adapters.nlp import default_extractor, extract_json
from radflow.adapters.nlp.vocabulary import parse_critical_results, parse_followup_language
from radflow.catalog.rads import read_catalog_document
from radflow.domain.errors import ValidationError
from radflow.domain.rads.extraction import Extraction


def extract(text: str, reference: date | None = None) -> Extraction:
    return default_extractor().extract(text, reference_date=reference)


def only_finding(text: str) -> dict[str, Any]:
    [finding] = extract(text).critical_findings
    return finding.to_json()


def test_asserted_critical_finding_is_actionable() -> None:
    finding = only_finding("IMPRESSION: Acute right subdural hematoma measuring 7 mm.")
    assert (finding["type"], finding["actionable"]) == ("intracranial_hemorrhage", True)


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("There is no evidence of a pneumothorax on this exam.", "negated"),
        ("The previously noted pneumothorax has resolved.", "negated"),
        ("A small segmental pulmonary embolus cannot be excluded.", "uncertain"),
        ("Findings are suspicious for left ovarian torsion.", "uncertain"),
        ("History of aortic dissection repair in 2015.", "historical"),
        ("Status post evacuation of an acute subdural hematoma.", "historical"),
        ("Indication: evaluate for testicular torsion.", "hypothetical"),
        ("If there is clinical concern for ectopic pregnancy, a transvaginal scan could be helpful.", "hypothetical"),
    ],
)
def test_context_flags_are_set(text: str, flag: str) -> None:
    finding = only_finding(text)
    assert finding[flag] is True
    assert finding["actionable"] is (flag == "uncertain")


def test_an_unchanged_finding_is_not_negated_by_no_change() -> None:
    finding = only_finding("No change in the small left apical pneumothorax.")
    assert (finding["type"], finding["negated"]) == ("pneumothorax", False)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Whirlpool sign of the right spermatic cord with absent testicular flow, compatible with torsion.",
         "testicular_torsion"),
        ("Enlarged edematous left ovary without flow, compatible with torsion.", "ovarian_torsion"),
        ("New hemorrhage in the right temporal lobe.", "intracranial_hemorrhage"),
        ("The ETT is in the right mainstem bronchus.", "malpositioned_tube_or_line"),
    ],
)
def test_context_decides_the_type_of_an_ambiguous_word(text: str, kind: str) -> None:
    assert only_finding(text)["type"] == kind


@pytest.mark.parametrize("text", [
    "Small hemorrhagic cyst in the left ovary.",
    "Torsion of the appendix testis.",
    "Old lacunar infarct in the right thalamus.",
    "L4-L5 disc herniation without canal stenosis.",
    "PE protocol CT was performed.",
])
def test_look_alikes_are_not_critical_findings(text: str) -> None:
    assert extract(text).critical_findings == ()


def test_recommendation_gives_modality_interval_and_due_date() -> None:
    [item] = extract("Recommend non-contrast chest CT in 3 months.", reference=date(2026, 3, 2)).followups
    assert (item.modality, item.interval_days, item.due_date, item.actionable) == ("CT", 91, date(2026, 6, 1), True)


def test_range_uses_the_earliest_due_date() -> None:
    [item] = extract("Thyroid ultrasound in 12-24 months is suggested.").followups
    assert (item.modality, item.interval_days, item.interval_days_max) == ("US", 365, 731)


def test_alternatives_make_one_recommendation_and_a_list_makes_several() -> None:
    [either] = extract("Recommend MRI or CT of the abdomen in 6 months.").followups
    assert either.modalities == ("MR", "CT")
    several = extract("Recommend diagnostic mammogram and breast ultrasound.").followups
    assert [f.modality for f in several] == ["MG", "US"]


def test_image_guided_biopsy_is_tissue_sampling_with_its_modality() -> None:
    [item] = extract("Recommend ultrasound-guided biopsy of the left axillary node.").followups
    assert (item.modality, item.procedure) == ("US", "tissue_sampling")


def test_no_follow_up_needed_is_a_negated_recommendation() -> None:
    [item] = extract("No further imaging follow-up is required.").followups
    assert (item.negated, item.actionable) == (True, False)


def test_conditional_recommendation_is_hypothetical() -> None:
    [item] = extract("MRI of the knee is recommended if pain persists.").followups
    assert (item.modality, item.hypothetical, item.actionable) == ("MR", True, False)


@pytest.mark.parametrize("text", [
    "Comparison: CT abdomen from 3 months ago.",
    "Technique: MRI of the brain without and with contrast.",
    "Recommend clinical correlation.",
    "This is the 6-month follow-up CT for the left adrenal nodule.",
    "Comparison with outside mammograms would be helpful.",
])
def test_mentions_of_exams_that_are_not_recommendations_are_ignored(text: str) -> None:
    assert extract(text).followups == ()


def test_extract_json_answers_the_schema() -> None:
    text = "No pneumothorax. Recommend follow-up CT in 6 months."
    answer = extract_json({"text": text, "reference_date": "2026-03-02"})
    assert answer["critical_findings"][0]["negated"] is True
    assert answer["followups"][0]["due_date"] == "2026-09-01"
    assert answer["followups"][0]["interval"] == {"phrase": "6 months", "days": 183, "days_max": 183}


@pytest.mark.parametrize(("request_body", "field"), [
    ({}, "text"), ({"text": "  "}, "text"), ({"text": "x", "reference_date": "3/2/2026"}, "reference_date"),
    ({"text": "x", "language": "en"}, "language"),
])
def test_extract_json_refuses_bad_requests_naming_the_field(request_body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        extract_json(request_body)
    assert error.value.field == field


def test_importing_the_adapter_does_not_load_medspacy() -> None:
    code = "import sys, radflow.adapters.nlp; print('medspacy' in sys.modules)"
    src = Path(__file__).resolve().parents[3] / "src"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(src)})
    assert result.stdout.strip() == "False"


def test_a_pattern_that_does_not_compile_is_refused_at_load() -> None:
    raw: dict[str, Any] = copy.deepcopy(read_catalog_document("critical_results.yaml"))  # type: ignore[arg-type]
    raw["findings"][0]["terms"].append("(unclosed")
    with pytest.raises(ValidationError, match=r"findings\[0\] terms\[3\].*does not compile"):
        parse_critical_results(raw)


def test_an_unknown_context_direction_is_refused_at_load() -> None:
    raw: dict[str, Any] = copy.deepcopy(read_catalog_document("followup_language.yaml"))  # type: ignore[arg-type]
    raw["context_rules"][0]["direction"] = "SIDEWAYS"
    with pytest.raises(ValidationError, match="direction 'SIDEWAYS'"):
        parse_followup_language(raw)
