"""What every RADS calculator answers: category, management, modality, interval, and the rule that decided.

Intervals are kept as the guideline states them (months, a range where the guideline gives one)
and normalised to days for due dates: a month is 365.25/12 days, rounded half up, so that
6 months = 183 days and 12 months = 1 year = 365 days wherever radflow computes a due date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DAYS_PER_MONTH = Decimal("365.25") / Decimal(12)


def round_half_up(value: float, places: int = 0) -> float:
    """Round like a person does (2.5 -> 3), not like banker's rounding (2.5 -> 2)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def months_to_days(months: float) -> int:
    """Normalise a guideline interval in months to whole days (6 -> 183, 12 -> 365)."""
    days = (Decimal(str(months)) * DAYS_PER_MONTH).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(days)


@dataclass(frozen=True)
class FollowUpInterval:
    """When the next step is due: the guideline's months (a range when it gives one) and days."""

    months_min: float
    months_max: float

    def __post_init__(self) -> None:
        if self.months_min < 0 or self.months_max < self.months_min:
            raise ValueError(f"interval {self.months_min}-{self.months_max} months is not a range")

    @property
    def days(self) -> int:
        """Days to the earliest due date (the lower bound of the range)."""
        return months_to_days(self.months_min)

    @property
    def days_max(self) -> int:
        """Days to the latest due date (the upper bound of the range)."""
        return months_to_days(self.months_max)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form: months (range) and days."""
        return {
            "months_min": self.months_min,
            "months_max": self.months_max,
            "days": self.days,
            "days_max": self.days_max,
        }


@dataclass(frozen=True)
class RuleRef:
    """The rule that decided, and where it comes from."""

    id: str
    source: str

    def to_json(self) -> dict[str, str]:
        """Plain-JSON form."""
        return {"id": self.id, "source": self.source}


@dataclass(frozen=True)
class Assessment:
    """One calculator's answer for one finding (a nodule, a breast) or for the whole exam."""

    system: str
    version: str
    category: str
    descriptor: str
    management: str
    modality: str | None
    procedure: str | None
    interval: FollowUpInterval | None
    rule: RuleRef
    also_consider: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form used by the CLI and the HTTP route."""
        return {
            "system": self.system,
            "version": self.version,
            "category": self.category,
            "descriptor": self.descriptor,
            "management": self.management,
            "modality": self.modality,
            "procedure": self.procedure,
            "interval": self.interval.to_json() if self.interval else None,
            "also_consider": list(self.also_consider),
            "notes": list(self.notes),
            "rule": self.rule.to_json(),
            **self.details,
        }
