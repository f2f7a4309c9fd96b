"""Shared pieces of the RADS catalogs: a category's management entry, and reading plain data safely."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.rads.assessment import FollowUpInterval
from radflow.domain.rads.rules import optional_months, optional_str, require_str, text_list


@dataclass(frozen=True)
class CategoryEntry:
    """A category's standard wording: descriptor, management, modality, procedure, interval."""

    code: str
    descriptor: str
    management: str
    modality: str | None
    procedure: str | None
    interval: FollowUpInterval | None
    also_consider: tuple[str, ...] = ()


def parse_interval(entry: Mapping[str, Any], key: str, where: str) -> FollowUpInterval | None:
    """An `interval_months` field as a FollowUpInterval (None when the entry has none)."""
    months = optional_months(entry, key, where)
    return FollowUpInterval(*months) if months else None


def parse_categories(raw: object, origin: str) -> dict[str, CategoryEntry]:
    """A `categories` mapping of code -> wording, validated."""
    if not isinstance(raw, dict) or not raw:
        raise ValidationError(f"{origin}: 'categories' must be a non-empty mapping")
    categories: dict[str, CategoryEntry] = {}
    for code, entry in raw.items():
        where = f"{origin} category '{code}'"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where}: expected a mapping")
        categories[str(code)] = CategoryEntry(
            code=str(code),
            descriptor=require_str(entry, "descriptor", where),
            management=require_str(entry, "management", where),
            modality=optional_str(entry, "modality", where),
            procedure=optional_str(entry, "procedure", where),
            interval=parse_interval(entry, "interval_months", where),
            also_consider=text_list(entry, "also_consider", where),
        )
    return categories


def document(raw: object, origin: str) -> Mapping[str, Any]:
    """A catalog document's top level, which must be a mapping."""
    if not isinstance(raw, dict):
        raise ValidationError(f"{origin}: expected a mapping at the top level")
    return raw


def mapping(raw: object, key: str, origin: str) -> Mapping[str, Any]:
    """A required mapping field of a catalog document."""
    if not isinstance(raw, dict):
        raise ValidationError(f"{origin}: expected a mapping at the top level")
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ValidationError(f"{origin}: '{key}' must be a mapping")
    return value


def number(raw: Mapping[str, Any], key: str, origin: str) -> float:
    """A required number field of a catalog document."""
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{origin}: '{key}' must be a number")
    return float(value)


def number_list(raw: Mapping[str, Any], key: str, origin: str) -> tuple[float, ...]:
    """A required list of numbers."""
    value = raw.get(key)
    if not isinstance(value, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ValidationError(f"{origin}: '{key}' must be a list of numbers")
    return tuple(float(v) for v in value)
