"""ACR BI-RADS 5th edition per breast -> management and follow-up, the overall assessment, and MQSA's words.

The radiologist assigns each breast's category; radflow attaches the standard management, the
follow-up (category 3: 6 months in the exam's modality; 1 and 2: routine annual screening), and
the overall assessment by the Atlas's hierarchy 1 < 2 < 3 < 6 < 0 < 4 < 5 (catalog/rads/birads.yaml).
For a mammogram it adds the MQSA category, the density statements and the deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import Assessment, RuleRef
from radflow.domain.rads.fields import read_choice, read_mapping, read_text, reject_unknown
from radflow.domain.rads.mqsa import (
    INCOMPLETE_REASONS,
    MqsaTable,
    density_report_statement,
    lay_density_statement,
    mqsa_category,
    mqsa_deadlines,
)
from radflow.domain.rads.rules import require_str
from radflow.domain.rads.tables import CategoryEntry, document, parse_categories

BREASTS = ("right", "left")
EXAM_MODALITIES = frozenset({"MG", "US", "MR"})
_FOLLOW_UP_PROCEDURE = {"MG": "diagnostic mammogram", "US": "breast ultrasound", "MR": "breast MRI"}


@dataclass(frozen=True)
class BiradsTable:
    """BI-RADS as data: categories with their management, and the overall order."""

    version: str
    source: str
    categories: Mapping[str, CategoryEntry]
    likelihood: Mapping[str, str]
    in_exam_modality: frozenset[str]
    overall_order: tuple[str, ...]
    overall_order_source: str
    screening_interval_source: str


def parse_birads_table(raw: object, *, origin: str = "birads.yaml") -> BiradsTable:
    """Validate the BI-RADS catalog document."""
    top = document(raw, origin)
    categories = parse_categories(top.get("categories"), origin)
    raw_categories = top["categories"]
    order = tuple(str(c) for c in top.get("overall_order", []))
    if sorted(order) != sorted(categories):
        raise ValidationError(f"{origin}: 'overall_order' must list every category exactly once")
    return BiradsTable(
        version=require_str(top, "version", origin),
        source=require_str(top, "source", origin),
        categories=categories,
        likelihood={code: str(raw_categories[code].get("likelihood", "")) for code in categories},
        in_exam_modality=frozenset(c for c in categories if raw_categories[c].get("follow_up_in_exam_modality")),
        overall_order=order,
        overall_order_source=require_str(top, "overall_order_source", origin),
        screening_interval_source=require_str(top, "screening_interval_source", origin),
    )


@dataclass(frozen=True)
class BreastAssessment:
    """One breast's category, as the radiologist assigned it."""

    category: str
    incomplete_reason: str | None = None


@dataclass(frozen=True)
class BreastExam:
    """A breast imaging exam: modality, each breast assessed, and (mammography) the density and dates."""

    exam_modality: str
    breasts: Mapping[str, BreastAssessment]
    density: str | None = None
    exam_date: date | None = None
    final_interpretation_date: date | None = None


def _date(obj: Mapping[str, Any], key: str) -> date | None:
    text = read_text(obj, key, "")
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"'{key}' is {text!r}: expected a date as YYYY-MM-DD", field=key) from None


def read_breast_exam(obj: Mapping[str, Any], table: BiradsTable) -> BreastExam:
    """Read a BI-RADS finding: {exam_modality, right?, left?, density?, exam_date?, final_interpretation_date?}."""
    reject_unknown(obj, ("system", "exam_modality", *BREASTS, "density", "exam_date", "final_interpretation_date"), "")
    modality = read_choice(obj, "exam_modality", "", EXAM_MODALITIES)
    assert modality is not None
    breasts: dict[str, BreastAssessment] = {}
    for side in BREASTS:
        if obj.get(side) is None:
            continue
        entry = read_mapping(obj[side], side)
        reject_unknown(entry, ("category", "incomplete_reason"), side)
        category = read_choice(entry, "category", side, table.categories)
        assert category is not None
        reason = read_choice(entry, "incomplete_reason", side, INCOMPLETE_REASONS,
                             required=category == "0" and modality == "MG")
        breasts[side] = BreastAssessment(category, reason)
    if not breasts:
        raise ValidationError("a BI-RADS finding needs 'right' and/or 'left' with a category", field="right")
    density = read_choice(obj, "density", "", {"a", "b", "c", "d"}, required=False)
    return BreastExam(modality, breasts, density, _date(obj, "exam_date"), _date(obj, "final_interpretation_date"))


def _breast_assessment(side: str, breast: BreastAssessment, exam: BreastExam, table: BiradsTable) -> Assessment:
    entry = table.categories[breast.category]
    modality, procedure = entry.modality, entry.procedure
    source = f"{table.source}: category {breast.category}"
    if breast.category in table.in_exam_modality:
        modality, procedure = exam.exam_modality, f"6-month {_FOLLOW_UP_PROCEDURE[exam.exam_modality]}"
    if breast.category == "0":
        if breast.incomplete_reason == "prior_mammograms":
            modality, procedure = None, "comparison with prior mammograms"
        else:
            modality, procedure = exam.exam_modality, "additional imaging evaluation"
    if entry.interval and breast.category in {"1", "2"}:
        source += f"; annual interval: {table.screening_interval_source}"
    return Assessment(
        system="BI-RADS", version=table.version, category=breast.category, descriptor=entry.descriptor,
        management=entry.management, modality=modality, procedure=procedure, interval=entry.interval,
        rule=RuleRef(f"birads-{breast.category.lower()}", source),
        details={"breast": side, "likelihood_of_malignancy": table.likelihood[breast.category],
                 "incomplete_reason": breast.incomplete_reason},
    )


def overall_breast(exam: BreastExam, table: BiradsTable) -> str:
    """The breast whose category is highest in the Atlas's hierarchy (right on a tie)."""
    rank = {code: i for i, code in enumerate(table.overall_order)}
    return max(exam.breasts, key=lambda side: (rank[exam.breasts[side].category], side == "right"))


def _mqsa(exam: BreastExam, side: str, mqsa: MqsaTable) -> dict[str, Any]:
    breast = exam.breasts[side]
    reason = breast.incomplete_reason
    if breast.category == "0" and any(b.incomplete_reason == "additional_imaging" for b in exam.breasts.values()):
        reason = "additional_imaging"  # additional imaging is the more actionable of the two
    category = mqsa_category(breast.category, mqsa, reason)
    result: dict[str, Any] = {"assessment_category": category, "source": mqsa.assessment_source}
    if exam.density:
        result["density_statement"] = density_report_statement(exam.density, mqsa)
        result["lay_density_statement"] = lay_density_statement(exam.density, mqsa)
        result["density_source"] = f"{mqsa.density_source}; {mqsa.lay_density_source}"
    result["lay_summary_days"] = mqsa.urgent_days if category in mqsa.urgent_categories else mqsa.lay_summary_days
    if exam.exam_date:
        reading = exam.final_interpretation_date or exam.exam_date
        result["deadlines"] = mqsa_deadlines(category, exam.exam_date, reading, mqsa).to_json()
    return result


def assess_birads(exam: BreastExam, table: BiradsTable, mqsa: MqsaTable) -> Assessment:
    """Per-breast management, the overall assessment, and for mammography the MQSA wording and deadlines."""
    per_breast = {side: _breast_assessment(side, b, exam, table) for side, b in exam.breasts.items()}
    side = overall_breast(exam, table)
    chosen = per_breast[side]
    details: dict[str, Any] = {
        "overall_from": side,
        "breasts": {s: a.to_json() for s, a in per_breast.items()},
    }
    if exam.exam_modality == "MG":
        details["mqsa"] = _mqsa(exam, side, mqsa)
    return Assessment(
        system="BI-RADS", version=table.version, category=chosen.category, descriptor=chosen.descriptor,
        management=chosen.management, modality=chosen.modality, procedure=chosen.procedure,
        interval=chosen.interval,
        rule=RuleRef(f"birads-overall-{chosen.category.lower()}", table.overall_order_source),
        details=details,
    )
