"""The small condition language of screening rules: parsed and type-checked at load, never eval'd.

A condition is written in YAML as one of

    [FACT, OP, VALUE]          compare a fact with a literal or with another fact ({fact: NAME})
    [FACT, OP]                 answered | unanswered | nonempty | empty
    {all: [COND, ...]}         every part holds
    {any: [COND, ...]}         at least one part holds
    {not: COND}                the part does not hold
    {ref: NAME}                a named condition (conditions.yaml), inlined at load

Facts are named `answer.<link id>`, `exam.<field>`, `patient.<field>`, `derived.<name>`,
`unverified.<questionnaire>`, `unanswered.<questionnaire>` and `unanswered.all`. A comparison
with a fact that has no value is false (so `[answer.x, ne, v]` is false when x is unanswered);
write `unanswered` or `not` to act on a missing answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeGuard

from radflow.domain.errors import ValidationError

FactValue = bool | int | float | str | date | tuple[float, ...] | tuple[str, ...] | None


class FactKind(StrEnum):
    """What sort of value a fact holds; decides which operators may read it."""

    BOOLEAN = "boolean"
    NUMBER = "number"
    CHOICE = "choice"
    TEXT = "text"
    DATE = "date"
    NUMBER_LIST = "number_list"
    TEXT_LIST = "text_list"


@dataclass(frozen=True)
class FactSpec:
    """A fact rules may read: its name, kind and, for a choice, the allowed codes."""

    name: str
    kind: FactKind
    options: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FactRef:
    """The right-hand side of a comparison that names another fact."""

    name: str


Literal = bool | int | float | str | tuple[float, ...] | tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    """`fact OP value` where value is a literal or another fact."""

    fact: str
    op: str
    value: Literal | FactRef


@dataclass(frozen=True)
class Presence:
    """answered / unanswered / nonempty / empty."""

    fact: str
    op: str


@dataclass(frozen=True)
class AllOf:
    """Every part holds."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Condition


Condition = Compare | Presence | AllOf | AnyOf | Not

PRESENCE_OPS = frozenset({"answered", "unanswered", "nonempty", "empty"})
COMPARE_OPS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "not_contains"})
_ORDER_OPS = frozenset({"lt", "le", "gt", "ge"})
_LIST_KINDS = frozenset({FactKind.NUMBER_LIST, FactKind.TEXT_LIST})


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ConditionParser:
    """Parses raw YAML conditions against the known facts and named conditions; errors name `where`."""

    def __init__(self, facts: Mapping[str, FactSpec], named: Mapping[str, Condition] | None = None) -> None:
        self._facts = facts
        self._named: Mapping[str, Condition] = named or {}

    @property
    def facts(self) -> Mapping[str, FactSpec]:
        """The facts this parser accepts."""
        return self._facts

    def parse(self, raw: object, where: str) -> Condition:
        """Return the typed condition for `raw`, or raise ValidationError naming `where`."""
        if isinstance(raw, list):
            return self._parse_leaf(raw, where)
        if isinstance(raw, dict):
            if len(raw) != 1:
                raise ValidationError(f"{where}: a condition mapping has exactly one key (all, any, not, ref)")
            ((key, body),) = raw.items()
            if key in ("all", "any"):
                if not isinstance(body, list) or not body:
                    raise ValidationError(f"{where}: '{key}' takes a non-empty list of conditions")
                parts = tuple(self.parse(part, where) for part in body)
                return AllOf(parts) if key == "all" else AnyOf(parts)
            if key == "not":
                return Not(self.parse(body, where))
            if key == "ref":
                if not isinstance(body, str) or body not in self._named:
                    raise ValidationError(f"{where}: unknown named condition {body!r}")
                return self._named[body]
            raise ValidationError(f"{where}: unknown condition form {key!r} (expected all, any, not or ref)")
        raise ValidationError(f"{where}: a condition is a [fact, op, value] list or an all/any/not/ref mapping")

    def _spec(self, name: object, where: str) -> FactSpec:
        if not isinstance(name, str) or name not in self._facts:
            raise ValidationError(f"{where}: unknown fact {name!r} (an item link id, exam or patient field)")
        return self._facts[name]

    def _parse_leaf(self, raw: list[object], where: str) -> Condition:
        if len(raw) == 2:
            spec, op = self._spec(raw[0], where), raw[1]
            if op not in PRESENCE_OPS:
                raise ValidationError(f"{where}: operator {op!r} on {spec.name} needs a value")
            if op in ("nonempty", "empty") and spec.kind not in _LIST_KINDS:
                raise ValidationError(f"{where}: '{op}' applies to list facts, not to {spec.name}")
            return Presence(spec.name, str(op))
        if len(raw) != 3:
            raise ValidationError(f"{where}: a comparison is [fact, op, value], got {raw!r}")
        spec, op, value = self._spec(raw[0], where), raw[1], raw[2]
        if not isinstance(op, str) or op not in COMPARE_OPS:
            raise ValidationError(
                f"{where}: unknown operator {op!r}; use one of {', '.join(sorted(COMPARE_OPS | PRESENCE_OPS))}"
            )
        if isinstance(value, dict):
            if set(value) != {"fact"}:
                raise ValidationError(f"{where}: a fact reference is written {{fact: NAME}}")
            other = self._spec(value["fact"], where)
            self._check_fact_operand(spec, op, other, where)
            return Compare(spec.name, op, FactRef(other.name))
        return Compare(spec.name, op, self._check_literal(spec, op, value, where))

    def _check_fact_operand(self, spec: FactSpec, op: str, other: FactSpec, where: str) -> None:
        number_ops = _ORDER_OPS | {"eq", "ne"}
        if spec.kind is FactKind.NUMBER and op in number_ops and other.kind is FactKind.NUMBER:
            return
        if spec.kind is FactKind.NUMBER and op in ("in", "not_in") and other.kind is FactKind.NUMBER_LIST:
            return
        if spec.kind is FactKind.NUMBER_LIST and op in ("contains", "not_contains") and other.kind is (FactKind.NUMBER):
            return
        raise ValidationError(f"{where}: cannot compare {spec.name} ({spec.kind}) {op} {other.name} ({other.kind})")

    def _check_literal(self, spec: FactSpec, op: str, value: object, where: str) -> Literal:
        kind = spec.kind
        if op in _ORDER_OPS:
            if kind is not FactKind.NUMBER or not _is_number(value):
                raise ValidationError(
                    f"{where}: '{op}' compares a number fact with a number, not {spec.name} {value!r}"
                )
            return value
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValidationError(f"{where}: '{op}' takes a non-empty list of values")
            return tuple(self._scalar(spec, item, where) for item in value)  # type: ignore[return-value]
        if op in ("contains", "not_contains"):
            if kind is FactKind.NUMBER_LIST and _is_number(value):
                return value
            if kind is FactKind.TEXT_LIST and isinstance(value, str):
                return value
            raise ValidationError(f"{where}: '{op}' needs a list fact and one element, not {spec.name} {value!r}")
        return self._scalar(spec, value, where)

    def _scalar(self, spec: FactSpec, value: object, where: str) -> bool | int | float | str:
        kind = spec.kind
        if kind is FactKind.BOOLEAN and isinstance(value, bool):
            return value
        if kind is FactKind.NUMBER and _is_number(value):
            return value
        if kind is FactKind.TEXT and isinstance(value, str):
            return value
        if kind is FactKind.CHOICE and isinstance(value, str):
            if value not in spec.options:
                raise ValidationError(
                    f"{where}: {value!r} is not an answer option of {spec.name} "
                    f"(options: {', '.join(sorted(spec.options))})"
                )
            return value
        raise ValidationError(f"{where}: value {value!r} does not fit {spec.name}, which is a {kind} fact")


def holds(condition: Condition, facts: Mapping[str, FactValue]) -> bool:
    """Whether `condition` is true for `facts`; a comparison with a missing fact is false."""
    match condition:
        case AllOf(parts):
            return all(holds(part, facts) for part in parts)
        case AnyOf(parts):
            return any(holds(part, facts) for part in parts)
        case Not(part):
            return not holds(part, facts)
        case Presence(fact, op):
            return _presence(facts.get(fact), op)
        case Compare(fact, op, value):
            left = facts.get(fact)
            right = facts.get(value.name) if isinstance(value, FactRef) else value
            if left is None or right is None:
                return False
            return _compare(left, op, right)
    raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover - exhaustive match


def _presence(value: FactValue, op: str) -> bool:
    if op == "answered":
        return value is not None
    if op == "unanswered":
        return value is None
    is_nonempty = isinstance(value, tuple) and len(value) > 0
    return is_nonempty if op == "nonempty" else not is_nonempty


def _compare(left: object, op: str, right: object) -> bool:
    if op == "eq":
        return left == right and isinstance(left, bool) == isinstance(right, bool)
    if op == "ne":
        return not _compare(left, "eq", right)
    if op in _ORDER_OPS:
        if not (_is_number(left) and _is_number(right)):
            return False
        a, b = float(left), float(right)
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    if op in ("in", "not_in"):
        found = isinstance(right, tuple) and any(_compare(left, "eq", item) for item in right)
        return found if op == "in" else not found
    found = isinstance(left, tuple) and any(_compare(item, "eq", right) for item in left)
    return found if op == "contains" else not found


def facts_read(condition: Condition) -> frozenset[str]:
    """Every fact name `condition` reads (both sides of comparisons)."""
    match condition:
        case AllOf(parts) | AnyOf(parts):
            return frozenset().union(*(facts_read(part) for part in parts))
        case Not(part):
            return facts_read(part)
        case Presence(fact, _):
            return frozenset({fact})
        case Compare(fact, _, value):
            return frozenset({fact, value.name}) if isinstance(value, FactRef) else frozenset({fact})
    raise AssertionError(f"not a condition: {condition!r}")  # pragma: no cover - exhaustive match
