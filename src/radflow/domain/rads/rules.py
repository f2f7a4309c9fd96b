"""The small rule engine the RADS tables share: conditions on a finding's facts, first match wins.

A rule's `when` maps a fact name to a condition:

    nodule_type: solid                 equality
    context: [baseline, new]           membership
    diameter_mm: {gte: 6, lt: 8}       a size band (gt / gte / lt / lte)
    benign_features: true              a flag

Each table declares its facts (`FactSchema`), so a misspelt fact, an unknown value or a band
on a non-number is refused when the catalog loads, with the rule id and the field named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from radflow.domain.errors import ValidationError

Fact = str | float | bool | None
Facts = Mapping[str, Fact]
T = TypeVar("T")

_BAND_KEYS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Band:
    """A numeric range; any bound may be open."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    def contains(self, value: float) -> bool:
        """True when `value` lies in the band."""
        if self.gt is not None and not value > self.gt:
            return False
        if self.gte is not None and not value >= self.gte:
            return False
        if self.lt is not None and not value < self.lt:
            return False
        return not (self.lte is not None and not value <= self.lte)


Condition = Band | frozenset[str] | bool


@dataclass(frozen=True)
class FactSchema:
    """The facts a table may test: enumerations (allowed values), numbers and flags."""

    enums: Mapping[str, frozenset[str]]
    numbers: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()

    def parse_condition(self, name: str, raw: object, where: str) -> Condition:
        """Validate one `when` entry against the schema."""
        if name in self.numbers:
            if not isinstance(raw, dict) or not raw or set(raw) - set(_BAND_KEYS):
                raise ValidationError(f"{where}: '{name}' needs a band such as {{gte: 6, lt: 8}}")
            bounds = {key: _number(raw[key], f"{where}.{name}.{key}") for key in raw}
            return Band(**bounds)
        if name in self.flags:
            if not isinstance(raw, bool):
                raise ValidationError(f"{where}: '{name}' is a flag: write true or false")
            return raw
        if name in self.enums:
            values = raw if isinstance(raw, list) else [raw]
            names = {str(value) for value in values}
            unknown = names - self.enums[name]
            if unknown:
                allowed = ", ".join(sorted(self.enums[name]))
                raise ValidationError(f"{where}: '{name}' has unknown value(s) {sorted(unknown)}; allowed: {allowed}")
            return frozenset(names)
        raise ValidationError(f"{where}: unknown fact '{name}'")


def _number(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValidationError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def condition_holds(condition: Condition, value: Fact) -> bool:
    """True when a fact's value meets a condition; a missing fact meets nothing."""
    if value is None:
        return False
    if isinstance(condition, Band):
        return not isinstance(value, bool | str) and condition.contains(float(value))
    if isinstance(condition, bool):
        return value is condition
    return str(value) in condition


@dataclass(frozen=True)
class Rule[T]:
    """One row of a guideline table: when these facts hold, this outcome, from this source."""

    id: str
    when: Mapping[str, Condition]
    outcome: T
    source: str

    def matches(self, facts: Facts) -> bool:
        """True when every condition holds for the facts (flags absent from `facts` count as false)."""
        for name, condition in self.when.items():
            value = facts.get(name)
            if isinstance(condition, bool) and value is None:
                value = False
            if not condition_holds(condition, value):
                return False
        return True


def first_match[T](rules: Sequence[Rule[T]], facts: Facts) -> Rule[T] | None:
    """The first rule whose conditions hold, in table order."""
    for rule in rules:
        if rule.matches(facts):
            return rule
    return None


def parse_rule_table[T](
    raw: object,
    schema: FactSchema,
    parse_outcome: Callable[[Mapping[str, Any], str], T],
    *,
    origin: str,
    default_source: str = "",
) -> tuple[Rule[T], ...]:
    """Validate a list of rules from a catalog file; every rule needs an id and a source."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{origin}: 'rules' must be a non-empty list")
    rules: list[Rule[T]] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"{origin} rule #{index + 1}"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where}: expected a mapping")
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise ValidationError(f"{where}: every rule needs an 'id'")
        where = f"{origin} rule '{rule_id}'"
        if rule_id in seen:
            raise ValidationError(f"{where}: duplicate id")
        seen.add(rule_id)
        source = entry.get("source", default_source)
        if not isinstance(source, str) or not source.strip():
            raise ValidationError(f"{where}: every rule must cite its source")
        when_raw = entry.get("when", {})
        if not isinstance(when_raw, dict):
            raise ValidationError(f"{where}: 'when' must be a mapping")
        when = {str(name): schema.parse_condition(str(name), value, where) for name, value in when_raw.items()}
        rules.append(Rule(id=rule_id, when=when, outcome=parse_outcome(entry, where), source=source))
    return tuple(rules)


def require_str(entry: Mapping[str, Any], key: str, where: str) -> str:
    """A required, non-empty text field of a catalog entry."""
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: '{key}' must be a non-empty text")
    return value


def optional_str(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional text field of a catalog entry."""
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}: '{key}' must be text")
    return value


def optional_months(entry: Mapping[str, Any], key: str, where: str) -> tuple[float, float] | None:
    """An interval in months: a number or a [low, high] pair; None when absent."""
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 2:
        low, high = (_number(item, f"{where}.{key}") for item in value)
    else:
        low = high = _number(value, f"{where}.{key}")
    if low < 0 or high < low:
        raise ValidationError(f"{where}: '{key}' must be a non-negative range, got {value!r}")
    return low, high


def text_list(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """An optional list of texts."""
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(f"{where}: '{key}' must be a list of texts")
    return tuple(value)
