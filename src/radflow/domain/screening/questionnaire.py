"""Screening questionnaires and their items, shaped to become FHIR R4 Questionnaire items.

An item's link id is stable: it is the FHIR `Questionnaire.item.linkId`, the key of the answer
in a screening case and in the stored QuestionnaireResponse, and the name rules read it by
(`answer.<link id>`). Items live once in an item bank; a questionnaire lists the items it asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from radflow.domain.errors import ValidationError
from radflow.domain.screening.case import AnswerValue
from radflow.domain.screening.conditions import Condition, FactKind


class ItemType(StrEnum):
    """Answer types, named as FHIR R4 Questionnaire.item.type codes."""

    BOOLEAN = "boolean"
    CHOICE = "choice"
    DECIMAL = "decimal"
    DATE = "date"
    TEXT = "text"


@dataclass(frozen=True)
class AnswerOption:
    """One permitted answer of a choice item: a stable code and what the patient reads."""

    code: str
    display: str


@dataclass(frozen=True)
class QuestionnaireItem:
    """One question: link id, wording, type, options, and whether a technologist re-verifies it on site."""

    link_id: str
    text: str
    type: ItemType
    options: tuple[AnswerOption, ...] = ()
    repeats: bool = False
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    required: bool = True
    verify_on_site: bool = False
    enable_when: Condition | None = None

    @property
    def fact_kind(self) -> FactKind:
        """The kind of the `answer.<link id>` fact this item feeds."""
        if self.type is ItemType.DECIMAL:
            return FactKind.NUMBER_LIST if self.repeats else FactKind.NUMBER
        return {
            ItemType.BOOLEAN: FactKind.BOOLEAN,
            ItemType.CHOICE: FactKind.CHOICE,
            ItemType.DATE: FactKind.DATE,
            ItemType.TEXT: FactKind.TEXT,
        }[self.type]

    @property
    def option_codes(self) -> frozenset[str]:
        """The codes a choice answer may take."""
        return frozenset(option.code for option in self.options)

    def coerce(self, raw: object, field: str) -> AnswerValue:
        """Return `raw` (JSON) as this item's answer value, or raise ValidationError naming `field`."""
        if self.repeats:
            if not isinstance(raw, list) or not raw:
                raise ValidationError(f"{self.link_id} takes a non-empty list of values", field=field)
            values = tuple(self._coerce_one(item, f"{field}[{index}]") for index, item in enumerate(raw))
            return tuple(float(value) for value in values if isinstance(value, float))
        return self._coerce_one(raw, field)

    def _coerce_one(self, raw: object, field: str) -> AnswerValue:
        match self.type:
            case ItemType.BOOLEAN:
                if isinstance(raw, bool):
                    return raw
                raise ValidationError(f"{self.link_id} is a yes/no item: answer true or false", field=field)
            case ItemType.CHOICE:
                if isinstance(raw, str) and raw in self.option_codes:
                    return raw
                codes = ", ".join(option.code for option in self.options)
                raise ValidationError(f"{raw!r} is not an option of {self.link_id} (one of: {codes})", field=field)
            case ItemType.DECIMAL:
                return self._coerce_decimal(raw, field)
            case ItemType.DATE:
                if isinstance(raw, str):
                    try:
                        return date.fromisoformat(raw)
                    except ValueError:
                        pass
                raise ValidationError(f"{self.link_id} is a date: write it as YYYY-MM-DD", field=field)
            case ItemType.TEXT:
                if isinstance(raw, str):
                    return raw
                raise ValidationError(f"{self.link_id} is a text item: answer a string", field=field)
        raise AssertionError(self.type)  # pragma: no cover - exhaustive match

    def _coerce_decimal(self, raw: object, field: str) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValidationError(f"{self.link_id} is a number{self._unit_hint()}", field=field)
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(f"{self.link_id} must be a finite number", field=field)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValidationError(
                f"{value:g} is outside the plausible range of {self.link_id} "
                f"({self.minimum:g}–{self.maximum:g}{self._unit_hint()})",
                field=field,
            )
        return value

    def _unit_hint(self) -> str:
        return f" in {self.unit}" if self.unit else ""


@dataclass(frozen=True)
class Questionnaire:
    """A set of items asked when `applies_when` holds for the exam and patient."""

    id: str
    title: str
    applies_when: Condition
    items: tuple[QuestionnaireItem, ...]

    @property
    def link_ids(self) -> tuple[str, ...]:
        """The link ids of the items, in asking order."""
        return tuple(item.link_id for item in self.items)
