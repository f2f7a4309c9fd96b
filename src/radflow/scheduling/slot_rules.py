"""Load the slot-length policy (`slot_rules.yaml`), validating every entry with a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.capacity.slot_length import FactorRule, SlotRules
from radflow.domain.errors import ValidationError
from radflow.domain.protocols import Modality

SLOT_RULES = Path(__file__).with_name("slot_rules.yaml")
_KNOWN_FACTORS = frozenset({"sedation", "pediatric", "interpreter"})


def _minutes_table(where: str, value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise ValidationError(f"{where}: 'minutes' is a mapping of modality (or '*') to minutes", field="minutes")
    table: dict[str, int] = {}
    for key, minutes in value.items():
        if key != "*" and key not in {m.value for m in Modality}:
            raise ValidationError(f"{where}: '{key}' is not a DICOM modality code or '*'", field="minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            raise ValidationError(f"{where}: minutes for {key} must be a whole number ≥ 0", field="minutes")
        table[str(key)] = minutes
    return table


def _source(where: str, entry: dict[str, Any]) -> str:
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValidationError(f"{where}: every rule cites its source", field="source")
    return " ".join(source.split())


def load_slot_rules(path: Path = SLOT_RULES) -> SlotRules:
    """The slot-length policy from `path`; a wrong entry names the file, the entry and the field."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    if not isinstance(document, dict) or document.get("version") != 1:
        raise ValidationError(f"{where}: expected a mapping with 'version: 1'", field="version")
    turnover = document.get("turnover")
    if not isinstance(turnover, dict):
        raise ValidationError(f"{where}: 'turnover' needs 'minutes' and 'source'", field="turnover")
    factors: dict[str, FactorRule] = {}
    for number, entry in enumerate(document.get("patient_factors") or [], start=1):
        label = f"{where} patient_factors[{number}]"
        if not isinstance(entry, dict) or entry.get("factor") not in _KNOWN_FACTORS:
            raise ValidationError(f"{label}: 'factor' must be one of {', '.join(sorted(_KNOWN_FACTORS))}",
                                  field="factor")
        if entry["factor"] in factors:
            raise ValidationError(f"{label}: factor '{entry['factor']}' is given twice", field="factor")
        factors[entry["factor"]] = FactorRule(entry["factor"], _minutes_table(label, entry.get("minutes")),
                                              _source(label, entry))
    under = document.get("pediatric_under_years", 18)
    if not isinstance(under, int) or not 1 <= under <= 21:
        raise ValidationError(f"{where}: pediatric_under_years must be a whole number of years (1–21)",
                              field="pediatric_under_years")
    grid = document.get("grid_minutes")
    if not isinstance(grid, int):
        raise ValidationError(f"{where}: grid_minutes must be a whole number", field="grid_minutes")
    return SlotRules(grid_minutes=grid, turnover=_minutes_table(f"{where} turnover", turnover.get("minutes")),
                     turnover_source=_source(f"{where} turnover", turnover), factors=factors,
                     pediatric_under_years=under)
