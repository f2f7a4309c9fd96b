"""Slot length: the catalog's scanner minutes for the contrast variant, plus patient factors, plus turnover.

The added minutes are a center's policy and live as data with their source
(`radflow/scheduling/slot_rules.yaml`); this engine only adds them up and rounds to the booking grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from radflow.domain.errors import ValidationError


@dataclass(frozen=True)
class PatientFactors:
    """What about this patient changes the slot or the scanner: sedation, age, language, body, screening."""

    sedation: bool = False
    pediatric: bool = False
    interpreter: bool = False
    weight_kg: int | None = None
    #: Scanner capabilities a screening decision or the patient needs (1.5T for a conditional
    #: implant, wide_bore for claustrophobia or body habitus).
    requires: frozenset[str] = frozenset()

    def active(self) -> tuple[str, ...]:
        """Names of the factors that add minutes."""
        return tuple(name for name in ("sedation", "pediatric", "interpreter") if getattr(self, name))


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class FactorRule:
    """Minutes one patient factor adds, per modality (`*` for any other), with the rule's source."""

    factor: str
    minutes: Mapping[str, int]
    source: str

    def for_modality(self, modality: str) -> int:
        """Minutes added on a scanner of `modality`."""
        return self.minutes.get(modality, self.minutes.get("*", 0))


@dataclass(frozen=True)
class SlotRules:
    """The booking grid, turnover per modality and the patient-factor rules."""

    grid_minutes: int
    turnover: Mapping[str, int]
    turnover_source: str
    factors: Mapping[str, FactorRule]
    pediatric_under_years: int = 18

    def __post_init__(self) -> None:
        if self.grid_minutes <= 0 or 1440 % self.grid_minutes:
            raise ValidationError("the booking grid must divide a day (e.g. 5 minutes)", field="grid_minutes")


@dataclass(frozen=True)
class SlotLength:
    """How long a scanner is taken for one exam, and why."""

    exam_minutes: int
    additions: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # (why, minutes)
    turnover_minutes: int = 0
    total: int = 0

    def explain(self) -> str:
        """'45 min exam + 30 sedation + 10 turnover = 85 min'."""
        parts = [f"{self.exam_minutes} min exam", *(f"{m} {why}" for why, m in self.additions)]
        if self.turnover_minutes:
            parts.append(f"{self.turnover_minutes} turnover")
        return " + ".join(parts) + f" = {self.total} min"


def slot_length(exam_minutes: int, modality: str, factors: PatientFactors, rules: SlotRules) -> SlotLength:
    """The slot for an exam of `exam_minutes` on a `modality` scanner for this patient, on the grid."""
    if exam_minutes <= 0:
        raise ValidationError("an exam takes a positive number of minutes", field="minutes")
    additions = tuple((name, rules.factors[name].for_modality(modality))
                      for name in factors.active() if name in rules.factors)
    additions = tuple(a for a in additions if a[1] > 0)
    turnover = rules.turnover.get(modality, rules.turnover.get("*", 0))
    raw = exam_minutes + sum(m for _, m in additions) + turnover
    grid = rules.grid_minutes
    return SlotLength(exam_minutes, additions, turnover, -(-raw // grid) * grid)
