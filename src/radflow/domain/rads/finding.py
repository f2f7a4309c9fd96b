"""One entry for every calculator: a structured finding (plain JSON) -> an assessment (plain JSON).

The finding names its `system` (bi-rads, lung-rads, ti-rads, fleischner); the rest of its fields are
that system's (docs/rads-finding.schema.json). Errors are ValidationError naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import Assessment
from radflow.domain.rads.birads import BiradsTable, assess_birads, read_breast_exam
from radflow.domain.rads.fields import read_mapping
from radflow.domain.rads.fleischner import FleischnerTable, assess_fleischner, read_incidental_nodule
from radflow.domain.rads.lungrads import LungRadsTable, assess_lungrads, read_lung_screening_exam
from radflow.domain.rads.mqsa import MqsaTable
from radflow.domain.rads.tirads import TiradsTable, assess_tirads, read_thyroid_nodule

SYSTEMS = ("bi-rads", "lung-rads", "ti-rads", "fleischner")


@dataclass(frozen=True)
class RadsRulebook:
    """Every RADS table radflow ships, loaded and validated (catalog/rads)."""

    birads: BiradsTable
    lungrads: LungRadsTable
    tirads: TiradsTable
    fleischner: FleischnerTable
    mqsa: MqsaTable


_ALIASES = {
    "birads": "bi-rads", "lungrads": "lung-rads", "lungradsv2022": "lung-rads", "tirads": "ti-rads",
    "acrtirads": "ti-rads", "fleischner": "fleischner", "fleischner2017": "fleischner",
}


def normalise_system(raw: object) -> str:
    """Accept "BI-RADS", "birads", "Lung_RADS", "ACR TI-RADS" ...; answer one of SYSTEMS."""
    key = raw.lower().translate(str.maketrans("", "", "-_ ")) if isinstance(raw, str) else ""
    if key not in _ALIASES:
        shown = f"is {raw!r}" if raw is not None else "is required"
        raise ValidationError(f"'system' {shown}: expected one of {', '.join(SYSTEMS)}", field="system")
    return _ALIASES[key]


def assess_finding(obj: object, rulebook: RadsRulebook) -> Assessment:
    """Dispatch a structured finding to its calculator."""
    finding = read_mapping(obj, "")
    system = normalise_system(finding.get("system"))
    if system == "bi-rads":
        return assess_birads(read_breast_exam(finding, rulebook.birads), rulebook.birads, rulebook.mqsa)
    if system == "lung-rads":
        return assess_lungrads(read_lung_screening_exam(finding), rulebook.lungrads)
    if system == "ti-rads":
        return assess_tirads(read_thyroid_nodule(finding, rulebook.tirads), rulebook.tirads)
    return assess_fleischner(read_incidental_nodule(finding), rulebook.fleischner)


def assess_finding_json(obj: object, rulebook: RadsRulebook) -> dict[str, Any]:
    """A structured finding in, the assessment as plain JSON out."""
    return assess_finding(obj, rulebook).to_json()
