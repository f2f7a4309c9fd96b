"""ACR Lung-RADS v2022: a screening CT's nodules -> category, management, interval (catalog/rads/lungrads.yaml).

Each nodule is classified by the first matching rule of the table; the exam takes the most
suspicious nodule (the table's `severity_order`), then 4X upgrades and the S modifier apply.
At a follow-up exam a nodule's context (new, growing, stable) is given, or derived from its prior
measurement: growth is an increase in mean diameter of more than 1.5 mm (v2022), and a nodule that
crosses a size threshold without meeting growth is reclassified by size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import Assessment, FollowUpInterval, RuleRef, round_half_up
from radflow.domain.rads.fields import (
    mean_diameter,
    read_choice,
    read_flag,
    read_list,
    read_mapping,
    read_number,
    reject_unknown,
)
from radflow.domain.rads.rules import Facts, FactSchema, Rule, first_match, parse_rule_table, require_str, text_list
from radflow.domain.rads.tables import (
    CategoryEntry,
    document,
    mapping,
    number,
    number_list,
    parse_categories,
    parse_interval,
)

NODULE_TYPES = frozenset({"solid", "part_solid", "ground_glass", "juxtapleural", "airway"})
CONTEXTS = frozenset({"baseline", "new", "growing", "slowly_growing", "stable"})
STATUSES = frozenset({"new", "growing", "slowly_growing", "stable", "decreased"})
AIRWAY_LEVELS = frozenset({"subsegmental", "segmental_or_proximal"})
CATEGORIES = frozenset({"0", "1", "2", "3", "4A", "4B", "4X"})

SCHEMA = FactSchema(
    enums={
        "nodule_type": NODULE_TYPES,
        "context": CONTEXTS,
        "airway_level": AIRWAY_LEVELS,
        "prior_category": CATEGORIES,
    },
    numbers=frozenset({"diameter_mm", "solid_component_mm"}),
    flags=frozenset({"benign_features", "infectious", "proven_benign"}),
)


@dataclass(frozen=True)
class LungRadsOutcome:
    """What a Lung-RADS rule decides: a category, and sometimes its own management."""

    category: str
    management: str | None = None
    procedure: str | None = None
    interval: FollowUpInterval | None = None


@dataclass(frozen=True)
class LungRadsTable:
    """Lung-RADS as data: categories, the ordered nodule rules, exam-level rules, thresholds."""

    version: str
    source: str
    categories: Mapping[str, CategoryEntry]
    rules: tuple[Rule[LungRadsOutcome], ...]
    severity_order: tuple[str, ...]
    growth_threshold_mm: float
    size_thresholds_mm: Mapping[str, tuple[float, ...]]
    solid_component_thresholds_mm: tuple[float, ...]
    pet_ct_solid_threshold_mm: float
    exam_rules: Mapping[str, Mapping[str, Any]]


def _outcome(entry: Mapping[str, Any], where: str) -> LungRadsOutcome:
    category = require_str(entry, "category", where)
    if category not in CATEGORIES:
        raise ValidationError(f"{where}: unknown Lung-RADS category '{category}'")
    return LungRadsOutcome(
        category=category,
        management=entry.get("management"),
        procedure=entry.get("procedure"),
        interval=parse_interval(entry, "interval_months", where),
    )


def parse_lungrads_table(raw: object, *, origin: str = "lungrads.yaml") -> LungRadsTable:
    """Validate the Lung-RADS catalog document and build the table."""
    top = document(raw, origin)
    categories = parse_categories(top.get("categories"), origin)
    if set(categories) != CATEGORIES:
        raise ValidationError(f"{origin}: categories must be exactly {sorted(CATEGORIES)}")
    order = tuple(str(code) for code in top.get("severity_order", []))
    if sorted(order) != sorted(CATEGORIES):
        raise ValidationError(f"{origin}: 'severity_order' must list each category once")
    exam_rules = mapping(top, "exam_rules", origin)
    for name in ("no_nodules", "incomplete", "significant_finding", "suspicious_features"):
        entry = exam_rules.get(name)
        if not isinstance(entry, dict):
            raise ValidationError(f"{origin}: exam_rules.{name} is missing")
        require_str(entry, "source", f"{origin} exam_rules.{name}")
    text_list(exam_rules["suspicious_features"], "upgrade_from", f"{origin} exam_rules.suspicious_features")
    thresholds = mapping(top, "size_thresholds_mm", origin)
    return LungRadsTable(
        version=require_str(top, "version", origin),
        source=require_str(top, "source", origin),
        categories=categories,
        rules=parse_rule_table(top.get("rules"), SCHEMA, _outcome, origin=origin),
        severity_order=order,
        growth_threshold_mm=number(top, "growth_threshold_mm", origin),
        size_thresholds_mm={str(k): number_list(thresholds, str(k), origin) for k in thresholds},
        solid_component_thresholds_mm=number_list(top, "solid_component_thresholds_mm", origin),
        pet_ct_solid_threshold_mm=number(top, "pet_ct_solid_threshold_mm", origin),
        exam_rules=exam_rules,
    )


@dataclass(frozen=True)
class LungNodule:
    """One nodule as the radiologist measured it; sizes are mean diameters in mm."""

    nodule_type: str
    diameter_mm: float | None = None
    solid_component_mm: float | None = None
    status: str | None = None
    prior_diameter_mm: float | None = None
    prior_solid_component_mm: float | None = None
    prior_category: str | None = None
    airway_level: str | None = None
    benign_features: bool = False
    infectious: bool = False
    proven_benign: bool = False
    suspicious_features: bool = False


@dataclass(frozen=True)
class LungScreeningExam:
    """A screening CT: baseline or follow-up (annual or interval), its nodules and exam-level findings."""

    exam: str
    nodules: tuple[LungNodule, ...] = ()
    incomplete: bool = False
    significant_finding: str | None = None


_NODULE_FIELDS = (
    "type", "diameter_mm", "long_axis_mm", "short_axis_mm", "solid_component_mm", "status",
    "prior_diameter_mm", "prior_solid_component_mm", "prior_category", "airway_level",
    "benign_features", "infectious", "proven_benign", "suspicious_features",
)


def read_lung_nodule(obj: object, prefix: str) -> LungNodule:
    """Read one nodule of a Lung-RADS finding."""
    data = read_mapping(obj, prefix)
    reject_unknown(data, _NODULE_FIELDS, prefix)
    nodule_type = read_choice(data, "type", prefix, NODULE_TYPES)
    assert nodule_type is not None
    needs_size = nodule_type != "airway" and not read_flag(data, "benign_features", prefix)
    diameter = mean_diameter(data, prefix, required=needs_size)
    solid = read_number(data, "solid_component_mm", prefix, required=nodule_type == "part_solid")
    if solid is not None and diameter is not None and solid > diameter:
        raise ValidationError(
            f"'{prefix}.solid_component_mm' ({solid:g}) exceeds the nodule's diameter ({diameter:g})",
            field=f"{prefix}.solid_component_mm",
        )
    status = read_choice(data, "status", prefix, STATUSES, required=False)
    if status == "slowly_growing" and nodule_type != "ground_glass":
        raise ValidationError(
            f"'{prefix}.status' slowly_growing applies to ground-glass nodules only (Lung-RADS v2022)",
            field=f"{prefix}.status",
        )
    return LungNodule(
        nodule_type=nodule_type,
        # v2022: mean diameter to one decimal place
        diameter_mm=round_half_up(diameter, 1) if diameter is not None else None,
        solid_component_mm=round_half_up(solid, 1) if solid is not None else None,
        status=status,
        prior_diameter_mm=read_number(data, "prior_diameter_mm", prefix, required=False),
        prior_solid_component_mm=read_number(data, "prior_solid_component_mm", prefix, required=False),
        prior_category=read_choice(data, "prior_category", prefix, CATEGORIES, required=False),
        airway_level=read_choice(data, "airway_level", prefix, AIRWAY_LEVELS, required=nodule_type == "airway"),
        benign_features=read_flag(data, "benign_features", prefix),
        infectious=read_flag(data, "infectious", prefix),
        proven_benign=read_flag(data, "proven_benign", prefix),
        suspicious_features=read_flag(data, "suspicious_features", prefix),
    )


def read_lung_screening_exam(obj: Mapping[str, Any]) -> LungScreeningExam:
    """Read a Lung-RADS finding: {system, exam, nodules[], incomplete, significant_finding}."""
    reject_unknown(obj, ("system", "exam", "nodules", "incomplete", "significant_finding"), "")
    exam = read_choice(obj, "exam", "", {"baseline", "follow_up"})
    assert exam is not None
    nodules = tuple(
        read_lung_nodule(item, f"nodules[{index}]") for index, item in enumerate(read_list(obj, "nodules", ""))
    )
    significant = obj.get("significant_finding")
    if significant is not None and not isinstance(significant, str):
        raise ValidationError("'significant_finding' must be text describing the finding", field="significant_finding")
    return LungScreeningExam(exam=exam, nodules=nodules, incomplete=read_flag(obj, "incomplete", ""),
                             significant_finding=significant or None)


def _crossed(prior: float | None, now: float | None, thresholds: Sequence[float]) -> bool:
    if prior is None or now is None:
        return False
    return any(prior < threshold <= now for threshold in thresholds)


def nodule_context(exam: str, nodule: LungNodule, table: LungRadsTable, prefix: str) -> tuple[str, str]:
    """The nodule's context fact and how it was found (given, measured growth, size threshold)."""
    if exam == "baseline":
        return "baseline", "baseline exam"
    if nodule.status is not None:
        return ("stable" if nodule.status == "decreased" else nodule.status), f"status {nodule.status}"
    if nodule.prior_diameter_mm is None or nodule.diameter_mm is None:
        raise ValidationError(
            f"'{prefix}.status' is required at a follow-up exam (new, growing, stable, decreased), "
            f"or give '{prefix}.prior_diameter_mm' to measure growth",
            field=f"{prefix}.status",
        )
    limit = table.growth_threshold_mm
    growth = nodule.diameter_mm - nodule.prior_diameter_mm
    solid_growth = (
        nodule.solid_component_mm - nodule.prior_solid_component_mm
        if nodule.solid_component_mm is not None and nodule.prior_solid_component_mm is not None
        else 0.0
    )
    # v2022: growth = an increase in mean diameter of more than 1.5 mm
    if round_half_up(growth, 1) > limit or round_half_up(solid_growth, 1) > limit:
        return "growing", f"grew {growth:.1f} mm (> {limit:g} mm)"
    size_thresholds = table.size_thresholds_mm.get(nodule.nodule_type, ())
    if _crossed(nodule.prior_diameter_mm, nodule.diameter_mm, size_thresholds) or _crossed(
        nodule.prior_solid_component_mm, nodule.solid_component_mm, table.solid_component_thresholds_mm
    ):
        # v2022: a nodule crossing a size threshold is reclassified by size even without growth
        return "baseline", "crossed a size threshold: reclassified by size"
    return "stable", f"changed {growth:+.1f} mm (not growth)"


def _facts(nodule: LungNodule, context: str) -> Facts:
    return {
        "nodule_type": nodule.nodule_type,
        "context": context,
        "diameter_mm": nodule.diameter_mm,
        "solid_component_mm": nodule.solid_component_mm,
        "airway_level": nodule.airway_level,
        "prior_category": nodule.prior_category,
        "benign_features": nodule.benign_features,
        "infectious": nodule.infectious,
        "proven_benign": nodule.proven_benign,
    }


@dataclass(frozen=True)
class _NoduleResult:
    index: int
    category: str
    rule: Rule[LungRadsOutcome]
    context: str
    source: str
    upgraded: bool


def _classify(exam: LungScreeningExam, index: int, nodule: LungNodule, table: LungRadsTable) -> _NoduleResult:
    prefix = f"nodules[{index}]"
    context, how = nodule_context(exam.exam, nodule, table, prefix)
    rule = first_match(table.rules, _facts(nodule, context))
    if rule is None:
        hint = " (give 'prior_category' for a stable nodule: v2022 stepped management)" if context == "stable" else ""
        raise ValidationError(
            f"'{prefix}': no Lung-RADS {table.version} rule covers a {context} {nodule.nodule_type} nodule "
            f"of {nodule.diameter_mm} mm{hint}",
            field=prefix,
        )
    category, source, upgraded = rule.outcome.category, rule.source, False
    upgrade = table.exam_rules["suspicious_features"]
    if nodule.suspicious_features and category in upgrade["upgrade_from"]:
        category, source, upgraded = str(upgrade["category"]), str(upgrade["source"]), True
    return _NoduleResult(index, category, rule, how, source, upgraded)


def _solid_size(nodule: LungNodule) -> float:
    if nodule.nodule_type == "part_solid":
        return nodule.solid_component_mm or 0.0
    if nodule.nodule_type in {"solid", "juxtapleural"}:
        return nodule.diameter_mm or 0.0
    return 0.0


def assess_lungrads(exam: LungScreeningExam, table: LungRadsTable) -> Assessment:
    """Classify every nodule, take the most suspicious, and give the exam's management."""
    results = [_classify(exam, i, nodule, table) for i, nodule in enumerate(exam.nodules)]
    rank = {code: position for position, code in enumerate(table.severity_order)}
    decisive = max(results, key=lambda r: rank[r.category]) if results else None
    if exam.incomplete:
        rule_name, category = "incomplete", "0"
        rule = RuleRef("lr-0-incomplete", str(table.exam_rules["incomplete"]["source"]))
    elif decisive is None:
        rule_name, category = "no_nodules", "1"
        rule = RuleRef("lr-1-no-nodules", str(table.exam_rules["no_nodules"]["source"]))
    else:
        rule_name, category = "nodule", decisive.category
        rule_id = "lr-4x-suspicious-features" if decisive.upgraded else decisive.rule.id
        rule = RuleRef(rule_id, decisive.source)
    entry = table.categories[category]
    outcome = decisive.rule.outcome if rule_name == "nodule" and decisive and not decisive.upgraded else None
    management = (outcome.management if outcome and outcome.management else entry.management)
    interval = outcome.interval if outcome and outcome.interval else entry.interval
    procedure = outcome.procedure if outcome and outcome.procedure else entry.procedure
    also = list(entry.also_consider)
    suspicious = [exam.nodules[r.index] for r in results if r.category in {"4A", "4B", "4X"}]
    if category in {"4A", "4B", "4X"} and any(_solid_size(n) >= table.pet_ct_solid_threshold_mm for n in suspicious):
        also.insert(0, "PET/CT")
    notes: list[str] = []
    modifier = None
    if exam.significant_finding:
        modifier = str(table.exam_rules["significant_finding"]["modifier"])
        notes.append(f"S: {exam.significant_finding} — {table.exam_rules['significant_finding']['management']}")
    return Assessment(
        system="Lung-RADS",
        version=table.version,
        category=category,
        descriptor=entry.descriptor,
        management=management,
        modality=entry.modality,
        procedure=procedure,
        interval=interval,
        rule=rule,
        also_consider=tuple(also),
        notes=tuple(notes),
        details={
            "modifier": modifier,
            "category_label": category + (modifier or ""),
            "deciding_nodule": decisive.index if decisive and rule_name == "nodule" else None,
            "nodules": [
                {"index": r.index, "category": r.category, "context": r.context,
                 "rule": {"id": "lr-4x-suspicious-features" if r.upgraded else r.rule.id, "source": r.source}}
                for r in results
            ],
        },
    )
