"""Reading YAML catalog files entry by entry, collecting every problem with its file, entry and field.

The loaders of the shipped reference data use this so that a bad file is refused whole with a list a
person can fix in one pass (not one error per run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.errors import ValidationError


class CatalogError(ValidationError):
    """The catalog was refused; `problems` names, for each, the file, the entry and the field."""

    def __init__(self, problems: list[str]) -> None:
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"catalog refused, {count}:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = tuple(problems)



class _EntryError(Exception):
    """One field of one entry is wrong; the entry's `collecting` block records it and moves on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Problems:
    """Every problem found in a load, so that one run of the loader shows them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: str, entry: str, field: str, message: str) -> None:
        """Record a problem with `field` of `entry` in `file`."""
        self.items.append(f"{file}: {entry}, field '{field}': {message}")

    @contextmanager
    def collecting(self, entry: Entry) -> Iterator[None]:
        """Record the first failure inside the block against `entry` instead of raising it."""
        try:
            yield
        except _EntryError as failure:
            self.add(entry.file, entry.label, failure.field, failure.message)

    def raise_if_any(self) -> None:
        """Refuse the whole catalog if anything was wrong."""
        if self.items:
            raise CatalogError(self.items)


_MISSING: Any = object()


class Entry:
    """Typed, checked reads from one mapping of a catalog file; remembers which fields were read."""

    def __init__(self, file: str, label: str, data: Mapping[str, Any], prefix: str = "", name: str = "") -> None:
        self.file, self.label, self._data, self._prefix, self.name = file, label, data, prefix, name
        self._read: set[str] = set()

    def fail(self, field: str, message: str) -> NoReturn:
        """Give up on this entry: `field` is wrong for the reason in `message`."""
        raise _EntryError(self._prefix + field, message)

    def has(self, field: str) -> bool:
        """Whether the field is present."""
        return field in self._data

    def _value(self, field: str, default: Any) -> Any:
        self._read.add(field)
        if field in self._data:
            return self._data[field]
        if default is _MISSING:
            self.fail(field, "is missing")
        return default

    def text(self, field: str, default: Any = _MISSING) -> str:
        """A non-empty string."""
        value = self._value(field, default)
        if not isinstance(value, str) or (not value.strip() and value != default):
            self.fail(field, f"must be non-empty text, not {value!r}")
        return value

    def optional_text(self, field: str) -> str | None:
        """A non-empty string, or None when absent."""
        return self.text(field) if self.has(field) else self._value(field, None)

    def integer(self, field: str, *, minimum: int | None = None, default: Any = _MISSING) -> int:
        """A whole number, at least `minimum`."""
        value = self._value(field, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"must be a whole number, not {value!r}")
        if minimum is not None and value < minimum:
            self.fail(field, f"must be at least {minimum}, not {value}")
        return value

    def optional_integer(self, field: str, *, minimum: int | None = None) -> int | None:
        """A whole number, or None when absent."""
        return self.integer(field, minimum=minimum) if self.has(field) else self._value(field, None)

    def boolean(self, field: str, default: Any = _MISSING) -> bool:
        """true or false."""
        value = self._value(field, default)
        if not isinstance(value, bool):
            self.fail(field, f"must be true or false, not {value!r}")
        return value

    def choice[E: StrEnum](self, field: str, vocabulary: type[E], default: Any = _MISSING) -> E:
        """One term of `vocabulary`; the message lists the terms when it is not."""
        return self._term(field, self._value(field, default), vocabulary)

    def _term[E: StrEnum](self, field: str, value: Any, vocabulary: type[E]) -> E:
        if isinstance(value, vocabulary):
            return value
        try:
            return vocabulary(value)
        except ValueError:
            terms = ", ".join(t.value for t in vocabulary)
            self.fail(field, f"unknown {vocabulary.__name__} {value!r} (known: {terms})")

    def choices[E: StrEnum](self, field: str, vocabulary: type[E]) -> list[E]:
        """A list of terms of `vocabulary` (empty when absent)."""
        return [self._term(field, value, vocabulary) for value in self._list(field)]

    def texts(self, field: str) -> list[str]:
        """A list of non-empty strings (empty when absent)."""
        values = self._list(field)
        for value in values:
            if not isinstance(value, str) or not value.strip():
                self.fail(field, f"must list non-empty text, not {value!r}")
        return values

    def _list(self, field: str) -> list[Any]:
        value = self._value(field, [])
        if not isinstance(value, list):
            self.fail(field, f"must be a list, not {value!r}")
        return value

    def entries(self, field: str) -> list[Entry]:
        """The mappings listed under `field`, as entries whose fields are named `field[i].x`."""
        children = []
        for index, value in enumerate(self._list(field)):
            if not isinstance(value, dict):
                self.fail(f"{field}[{index}]", f"must be a mapping of fields, not {value!r}")
            children.append(Entry(self.file, self.label, value, f"{self._prefix}{field}[{index}]."))
        return children

    def child(self, field: str) -> Entry:
        """The mapping under `field`, as an entry whose fields are named `field.x`."""
        value = self._value(field, _MISSING)
        if not isinstance(value, dict):
            self.fail(field, f"must be a mapping of fields, not {value!r}")
        return Entry(self.file, self.label, value, f"{self._prefix}{field}.")

    def clock_time(self, field: str) -> time:
        """A wall-clock time written 'HH:MM' (quoted: YAML 1.1 reads 11:00 as a number)."""
        value = self._value(field, _MISSING)
        if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            self.fail(field, f"must be a quoted 'HH:MM' time, not {value!r}")
        return time(int(value[:2]), int(value[3:]))

    def refuse_unknown(self) -> None:
        """Refuse a field nobody reads: it is a typo, and its intent would be silently lost."""
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            self.fail(unknown[0], "unknown field (a typo?)")

    def allow_only(self, *fields: str, problems: Problems) -> None:
        """At the top of a file: record any field other than `fields`."""
        for field in sorted(set(self._data) - set(fields)):
            known = ", ".join(fields)
            problems.add(self.file, self.label, field, f"unknown top-level field (known: {known})")

    def keyed_entries(self, field: str, kind: str, problems: Problems) -> Iterator[tuple[str, Entry]]:
        """The mapping under `field` as (key, entry) pairs; a non-mapping value is a problem."""
        value = self._data.get(field)
        if not isinstance(value, dict):
            problems.add(self.file, self.label, field, "must be a mapping of named entries")
            return
        for key, data in value.items():
            if isinstance(data, dict):
                yield str(key), Entry(self.file, f"{kind} '{key}'", data)
            else:
                problems.add(self.file, f"{kind} '{key}'", key, f"must be a mapping of fields, not {data!r}")

    def listed_entries(
        self, field: str, kind: str, problems: Problems, *, name_field: str
    ) -> Iterator[Entry]:
        """The list under `field` as entries labelled by their `name_field` (or position)."""
        value = self._data.get(field)
        if not isinstance(value, list) or not value:
            problems.add(self.file, self.label, field, "must be a non-empty list")
            return
        for index, data in enumerate(value):
            name = data.get(name_field) if isinstance(data, dict) else None
            label = f"{kind} '{name}'" if isinstance(name, str) else f"{kind} #{index + 1}"
            if isinstance(data, dict):
                yield Entry(self.file, label, data, name=name if isinstance(name, str) else "")
            else:
                problems.add(self.file, label, name_field, f"must be a mapping of fields, not {data!r}")


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc, unused-ignore]
    """Safe YAML loading that refuses a key given twice (PyYAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return, unused-ignore]


def read_yaml(path: Path, problems: Problems) -> Entry | None:
    """Parse one catalog file; record a problem (and return None) if it cannot be read."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except FileNotFoundError:
        problems.add(path.name, "file", "-", f"not found at {path}")
        return None
    except yaml.YAMLError as error:
        problems.add(path.name, "file", "-", f"is not valid YAML: {error}")
        return None
    if not isinstance(data, dict):
        problems.add(path.name, "file", "-", "must be a mapping at the top level")
        return None
    return Entry(path.name, "top level", data)
