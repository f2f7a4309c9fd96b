"""MQSA (21 CFR 900.12(c) as amended, in force 10 Sep 2024): categories, density wording, deadlines, lay letter.

The category names and the density statements are the regulation's words, kept verbatim in
catalog/rads/mqsa.yaml; this module only chooses among them. Deadlines: the lay summary and the
provider's report within 30 days of the examination, and within 7 calendar days of the final
interpretation for "Suspicious" and "Highly Suggestive of Malignancy" (whichever comes first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.rules import require_str
from radflow.domain.rads.tables import document, mapping, number

INCOMPLETE_REASONS = frozenset({"additional_imaging", "prior_mammograms"})
DENSITIES = ("a", "b", "c", "d")


@dataclass(frozen=True)
class MqsaTable:
    """The regulation's wording and deadlines, as data."""

    source: str
    categories: Mapping[str, str]
    assessment_source: str
    density_report: Mapping[str, str]
    density_is_dense: Mapping[str, bool]
    density_source: str
    lay_not_dense: str
    lay_dense: str
    lay_density_source: str
    lay_summary_days: int
    provider_report_days: int
    urgent_days: int
    urgent_categories: frozenset[str]
    prior_mammograms_addendum_days: int
    deadlines_source: str
    lay_results: Mapping[str, str]


def parse_mqsa_table(raw: object, *, origin: str = "mqsa.yaml") -> MqsaTable:
    """Validate the MQSA catalog document: every category has a lay sentence, every density a statement."""
    top = document(raw, origin)
    categories = {str(k): str(v) for k, v in mapping(top, "assessment_categories", origin).items()}
    density = mapping(top, "density", origin)
    if tuple(sorted(density)) != DENSITIES:
        raise ValidationError(f"{origin}: 'density' must define exactly a, b, c and d")
    statements = mapping(top, "lay_density_statements", origin)
    deadlines = mapping(top, "deadlines", origin)
    lay_results = {str(k): str(v) for k, v in mapping(top, "lay_results", origin).items()}
    missing = sorted(set(categories.values()) - set(lay_results))
    if missing:
        raise ValidationError(f"{origin}: no lay result sentence for {missing}")
    urgent = deadlines.get("urgent_categories")
    if not isinstance(urgent, list) or not set(urgent) <= set(categories.values()):
        raise ValidationError(f"{origin}: deadlines.urgent_categories must name assessment categories")
    where = f"{origin} deadlines"
    return MqsaTable(
        source=require_str(top, "source", origin),
        categories=categories,
        assessment_source=require_str(top, "assessment_source", origin),
        density_report={k: require_str(v, "report", f"{origin} density.{k}") for k, v in density.items()},
        density_is_dense={k: bool(v.get("dense")) for k, v in density.items()},
        density_source=require_str(top, "density_source", origin),
        lay_not_dense=require_str(statements, "not_dense", origin),
        lay_dense=require_str(statements, "dense", origin),
        lay_density_source=require_str(top, "lay_density_source", origin),
        lay_summary_days=int(number(deadlines, "lay_summary_days", where)),
        provider_report_days=int(number(deadlines, "provider_report_days", where)),
        urgent_days=int(number(deadlines, "urgent_days", where)),
        urgent_categories=frozenset(str(c) for c in urgent),
        prior_mammograms_addendum_days=int(number(deadlines, "prior_mammograms_addendum_days", where)),
        deadlines_source=require_str(deadlines, "source", where),
        lay_results=lay_results,
    )


def mqsa_category(birads_category: str, table: MqsaTable, incomplete_reason: str | None = None) -> str:
    """The rule's overall assessment category for a BI-RADS category (0 needs its reason)."""
    if birads_category == "0":
        if incomplete_reason not in INCOMPLETE_REASONS:
            raise ValidationError(
                "BI-RADS 0 on a mammogram needs 'incomplete_reason': additional_imaging or prior_mammograms "
                "(MQSA distinguishes the two incomplete assessments)",
                field="incomplete_reason",
            )
        return table.categories[f"0:{incomplete_reason}"]
    try:
        return table.categories[birads_category]
    except KeyError:
        raise ValidationError(f"no MQSA category for BI-RADS '{birads_category}'", field="category") from None


def density_report_statement(density: str, table: MqsaTable) -> str:
    """The report's density sentence, in the regulation's words (900.12(c)(1)(vi))."""
    if density not in table.density_report:
        raise ValidationError(f"'density' is {density!r}: expected one of a, b, c, d", field="density")
    return table.density_report[density]


def lay_density_statement(density: str, table: MqsaTable) -> str:
    """The lay summary's density statement: the prescribed "dense" or "not dense" text."""
    density_report_statement(density, table)
    return table.lay_dense if table.density_is_dense[density] else table.lay_not_dense


@dataclass(frozen=True)
class MqsaDeadlines:
    """When the lay summary and the provider's report are due (and the comparison addendum, if any)."""

    lay_summary_due: date
    provider_report_due: date
    final_assessment_due: date | None
    urgent: bool
    source: str

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (ISO dates)."""
        return {
            "lay_summary_due": self.lay_summary_due.isoformat(),
            "provider_report_due": self.provider_report_due.isoformat(),
            "final_assessment_due": self.final_assessment_due.isoformat() if self.final_assessment_due else None,
            "urgent": self.urgent,
            "source": self.source,
        }


def mqsa_deadlines(category: str, exam_date: date, final_interpretation: date, table: MqsaTable) -> MqsaDeadlines:
    """Due dates for one mammogram: 30 days from the exam; 7 calendar days from the reading when urgent."""
    if final_interpretation < exam_date:
        raise ValidationError(
            "the final interpretation cannot precede the examination", field="final_interpretation_date"
        )
    lay_due = exam_date + timedelta(days=table.lay_summary_days)
    report_due = exam_date + timedelta(days=table.provider_report_days)
    urgent = category in table.urgent_categories
    if urgent:
        seven = final_interpretation + timedelta(days=table.urgent_days)
        lay_due, report_due = min(lay_due, seven), min(report_due, seven)
    addendum = None
    if category == table.categories.get("0:prior_mammograms"):
        addendum = final_interpretation + timedelta(days=table.prior_mammograms_addendum_days)
    return MqsaDeadlines(lay_due, report_due, addendum, urgent, table.deadlines_source)


@dataclass(frozen=True)
class Facility:
    """The facility named in the lay letter: name, address, phone."""

    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class LayLetter:
    """The building blocks of the patient's lay-language letter, in reading order."""

    facility_header: str
    result: str
    density_statement: str | None
    provider_line: str
    contact_line: str
    assessment_category: str

    def paragraphs(self) -> tuple[str, ...]:
        """The letter's paragraphs in order (the density statement only when a density was reported)."""
        body = [self.result]
        if self.density_statement:
            body.append(self.density_statement)
        return (self.facility_header, *body, self.provider_line, self.contact_line)


def lay_letter(
    category: str, facility: Facility, table: MqsaTable, *, density: str | None, has_provider: bool = True
) -> LayLetter:
    """Assemble the lay letter's blocks for an MQSA category, with the prescribed density statement."""
    if category not in table.lay_results:
        raise ValidationError(f"'{category}' is not an MQSA assessment category", field="category")
    for label, value in (("name", facility.name), ("address", facility.address), ("phone", facility.phone)):
        if not value.strip():
            raise ValidationError(f"the lay letter needs the facility's {label}", field=f"facility.{label}")
    provider_line = (
        "A report of your results was sent to your healthcare provider."
        if has_provider
        else "Because you did not name a healthcare provider, the full report of your mammogram is enclosed."
    )
    return LayLetter(
        facility_header=f"{facility.name}\n{facility.address}\n{facility.phone}",
        result=table.lay_results[category],
        density_statement=lay_density_statement(density, table) if density else None,
        provider_line=provider_line,
        contact_line=f"If you have questions, please call {facility.name} at {facility.phone}.",
        assessment_category=category,
    )
