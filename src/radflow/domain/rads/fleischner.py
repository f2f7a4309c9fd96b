"""Fleischner Society 2017: an incidental pulmonary nodule -> follow-up (rules in catalog/rads/fleischner.yaml).

Size is the mean of the long and short axes rounded to the nearest millimetre (Fleischner 2017),
so 5.4 mm is "< 6 mm" and 8.5 mm is "> 8 mm". For multiple nodules, give the type and size of the
largest or most suspicious one: the table is keyed on it. Risk (low / high, per the ACCP factors the
guideline cites: smoking, age, family history, emphysema, upper lobe, spiculation) matters for solid
nodules only. The guideline does not apply to screening, known cancer, immunocompromise or age < 35.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import Assessment, FollowUpInterval, RuleRef, round_half_up
from radflow.domain.rads.fields import mean_diameter, read_choice, read_flag, read_number, reject_unknown
from radflow.domain.rads.rules import (
    Facts,
    FactSchema,
    Rule,
    first_match,
    optional_str,
    parse_rule_table,
    require_str,
    text_list,
)
from radflow.domain.rads.tables import document, mapping, number, parse_interval

NODULE_TYPES = frozenset({"solid", "ground_glass", "part_solid"})
SCHEMA = FactSchema(
    enums={
        "nodule_type": NODULE_TYPES,
        "multiplicity": frozenset({"single", "multiple"}),
        "risk": frozenset({"low", "high"}),
    },
    numbers=frozenset({"size_mm", "solid_component_mm"}),
)


@dataclass(frozen=True)
class FleischnerOutcome:
    """A Fleischner table cell: the band it covers and what it recommends."""

    band: str
    recommendation: str
    modality: str | None
    interval: FollowUpInterval | None
    then: str | None
    also_consider: tuple[str, ...]


@dataclass(frozen=True)
class FleischnerNote:
    """A remark of the table that applies under conditions (e.g. part-solid with solid part >= 6 mm)."""

    text: str


@dataclass(frozen=True)
class FleischnerTable:
    """Fleischner 2017 as data."""

    version: str
    source: str
    minimum_age: float
    applicability_source: str
    not_applicable_management: str
    rules: tuple[Rule[FleischnerOutcome], ...]
    notes: tuple[Rule[FleischnerNote], ...]


def _outcome(entry: Mapping[str, Any], where: str) -> FleischnerOutcome:
    return FleischnerOutcome(
        band=require_str(entry, "band", where),
        recommendation=require_str(entry, "recommendation", where),
        modality=optional_str(entry, "modality", where),
        interval=parse_interval(entry, "interval_months", where),
        then=optional_str(entry, "then", where),
        also_consider=text_list(entry, "also_consider", where),
    )


def _note(entry: Mapping[str, Any], where: str) -> FleischnerNote:
    return FleischnerNote(require_str(entry, "text", where))


def parse_fleischner_table(raw: object, *, origin: str = "fleischner.yaml") -> FleischnerTable:
    """Validate the Fleischner catalog document and build the table."""
    top = document(raw, origin)
    applicability = mapping(top, "applicability", origin)
    raw_notes = top.get("notes", [])
    if isinstance(raw_notes, list):
        raw_notes = [{"id": f"note-{i + 1}", **n} if isinstance(n, dict) else n for i, n in enumerate(raw_notes)]
    return FleischnerTable(
        version=str(top.get("version", "")),
        source=require_str(top, "source", origin),
        minimum_age=number(applicability, "minimum_age", f"{origin} applicability"),
        applicability_source=require_str(applicability, "source", f"{origin} applicability"),
        not_applicable_management=require_str(top, "not_applicable_management", origin),
        rules=parse_rule_table(top.get("rules"), SCHEMA, _outcome, origin=origin),
        notes=parse_rule_table(raw_notes, SCHEMA, _note, origin=f"{origin} notes") if raw_notes else (),
    )


@dataclass(frozen=True)
class IncidentalNodule:
    """An incidental nodule on CT, as Fleischner 2017 needs it."""

    nodule_type: str
    multiplicity: str
    size_mm: int
    risk: str | None
    solid_component_mm: float | None = None
    patient_age: float | None = None
    screening: bool = False
    known_cancer: bool = False
    immunocompromised: bool = False


_FIELDS = (
    "system", "nodule_type", "multiplicity", "diameter_mm", "long_axis_mm", "short_axis_mm", "risk",
    "solid_component_mm", "patient_age", "screening", "known_cancer", "immunocompromised",
)


def read_incidental_nodule(obj: Mapping[str, Any]) -> IncidentalNodule:
    """Read a Fleischner finding."""
    reject_unknown(obj, _FIELDS, "")
    nodule_type = read_choice(obj, "nodule_type", "", NODULE_TYPES)
    multiplicity = read_choice(obj, "multiplicity", "", {"single", "multiple"})
    assert nodule_type is not None and multiplicity is not None
    diameter = mean_diameter(obj, "")
    assert diameter is not None
    risk = read_choice(obj, "risk", "", {"low", "high"}, required=nodule_type == "solid")
    return IncidentalNodule(
        nodule_type=nodule_type,
        multiplicity=multiplicity,
        # Fleischner 2017: average of long and short axes, rounded to the nearest millimetre
        size_mm=int(round_half_up(diameter)),
        risk=risk,
        solid_component_mm=read_number(obj, "solid_component_mm", "", required=False),
        patient_age=read_number(obj, "patient_age", "", required=False),
        screening=read_flag(obj, "screening", ""),
        known_cancer=read_flag(obj, "known_cancer", ""),
        immunocompromised=read_flag(obj, "immunocompromised", ""),
    )


def _not_applicable_reason(nodule: IncidentalNodule, table: FleischnerTable) -> str | None:
    if nodule.patient_age is not None and nodule.patient_age < table.minimum_age:
        return f"patient younger than {table.minimum_age:g}"
    if nodule.screening:
        return "lung cancer screening CT (use Lung-RADS)"
    if nodule.known_cancer:
        return "known primary cancer"
    if nodule.immunocompromised:
        return "immunocompromised patient"
    return None


def assess_fleischner(nodule: IncidentalNodule, table: FleischnerTable) -> Assessment:
    """Look the nodule up in the Fleischner 2017 table."""
    size = {"size_mm": nodule.size_mm}
    reason = _not_applicable_reason(nodule, table)
    if reason:
        return Assessment(
            system="Fleischner Society", version=table.version, category="not-applicable",
            descriptor=f"Not applicable: {reason}",
            management=table.not_applicable_management, modality=None, procedure=None, interval=None,
            rule=RuleRef("fs-not-applicable", table.applicability_source), details=size,
        )
    facts: Facts = {
        "nodule_type": nodule.nodule_type,
        "multiplicity": nodule.multiplicity,
        "size_mm": float(nodule.size_mm),
        "risk": nodule.risk,
        "solid_component_mm": nodule.solid_component_mm,
    }
    rule = first_match(table.rules, facts)
    if rule is None:
        raise ValidationError(
            f"no Fleischner 2017 rule covers a {nodule.multiplicity} {nodule.nodule_type} nodule of "
            f"{nodule.size_mm} mm with risk {nodule.risk}", field="nodule_type",
        )
    outcome = rule.outcome
    notes = tuple(note.outcome.text for note in table.notes if note.matches(facts))
    return Assessment(
        system="Fleischner Society",
        version=table.version,
        category=outcome.band,
        descriptor=outcome.band,
        management=outcome.recommendation,
        modality=outcome.modality,
        procedure="chest CT" if outcome.modality == "CT" else None,
        interval=outcome.interval,
        rule=RuleRef(rule.id, rule.source),
        also_consider=outcome.also_consider,
        notes=notes,
        details={**size, "then": outcome.then},
    )
