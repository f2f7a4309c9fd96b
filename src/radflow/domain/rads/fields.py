"""Reading a structured finding (plain JSON) field by field; each error names the field and what it expects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from radflow.domain.errors import ValidationError


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def read_mapping(obj: object, path: str) -> Mapping[str, Any]:
    """The object at `path`, which must be a JSON object."""
    if not isinstance(obj, Mapping):
        raise ValidationError(f"'{path or 'finding'}' must be a JSON object", field=path or None)
    return obj


def read_choice(
    obj: Mapping[str, Any], key: str, prefix: str, allowed: Iterable[str], *, required: bool = True
) -> str | None:
    """A text field that must be one of `allowed`."""
    path = _path(prefix, key)
    value = obj.get(key)
    choices = sorted(allowed)
    if value is None:
        if required:
            raise ValidationError(f"'{path}' is required: one of {', '.join(choices)}", field=path)
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or text not in choices:
        raise ValidationError(f"'{path}' is {value!r}: expected one of {', '.join(choices)}", field=path)
    return text


def read_number(
    obj: Mapping[str, Any], key: str, prefix: str, *, required: bool = True, minimum: float = 0.0
) -> float | None:
    """A non-negative number field (a size in mm or cm, an age)."""
    path = _path(prefix, key)
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationError(f"'{path}' is required: a number", field=path)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"'{path}' is {value!r}: expected a number", field=path)
    if value < minimum:
        raise ValidationError(f"'{path}' is {value}: expected a number >= {minimum:g}", field=path)
    return float(value)


def read_flag(obj: Mapping[str, Any], key: str, prefix: str) -> bool:
    """A true/false field; absent means false."""
    path = _path(prefix, key)
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(f"'{path}' is {value!r}: expected true or false", field=path)
    return value


def read_text(obj: Mapping[str, Any], key: str, prefix: str) -> str | None:
    """An optional free-text field."""
    path = _path(prefix, key)
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"'{path}' is {value!r}: expected text", field=path)
    return value


def read_list(obj: Mapping[str, Any], key: str, prefix: str, *, required: bool = False) -> list[Any]:
    """A JSON array field; absent means empty unless required."""
    path = _path(prefix, key)
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationError(f"'{path}' is required: a list", field=path)
        return []
    if not isinstance(value, list):
        raise ValidationError(f"'{path}' is {value!r}: expected a list", field=path)
    return value


def reject_unknown(obj: Mapping[str, Any], known: Iterable[str], prefix: str) -> None:
    """Refuse fields the schema does not define: a typo must not silently change a category."""
    unknown = sorted(set(obj) - set(known))
    if unknown:
        path = _path(prefix, unknown[0])
        raise ValidationError(
            f"'{path}' is not a field of this finding; known fields: {', '.join(sorted(known))}", field=path
        )


def mean_diameter(
    obj: Mapping[str, Any], prefix: str, *, key: str = "diameter_mm", long_key: str = "long_axis_mm",
    short_key: str = "short_axis_mm", required: bool = True,
) -> float | None:
    """A nodule's mean diameter: given directly, or the mean of its long and short axes."""
    direct = read_number(obj, key, prefix, required=False)
    long_axis = read_number(obj, long_key, prefix, required=False)
    short_axis = read_number(obj, short_key, prefix, required=False)
    if direct is not None:
        return direct
    if long_axis is not None and short_axis is not None:
        if short_axis > long_axis:
            path = _path(prefix, short_key)
            raise ValidationError(f"'{path}' ({short_axis:g}) is longer than the long axis ({long_axis:g})", field=path)
        return (long_axis + short_axis) / 2
    if required:
        path = _path(prefix, key)
        raise ValidationError(f"'{path}' is required (or both '{long_key}' and '{short_key}')", field=path)
    return None
