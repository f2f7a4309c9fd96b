"""Reading a FHIR search's query string: which parameters each resource supports, paging, strictness.

Unknown parameters are ignored and left out of the Bundle's self link (FHIR R4 search.html §3.1.1.3.2,
lenient handling) unless the client sends `Prefer: handling=strict`, which refuses them. A value
that cannot be read is always refused (400) with an OperationOutcome saying what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Final, TypeVar

from radflow.adapters.fhir.parsing import Issue, Refusal
from radflow.adapters.fhir.search_values import (
    SearchValueError,
    Span,
    Text,
    Token,
    alternatives,
    date_span,
    reference_value,
    token,
)

DEFAULT_COUNT: Final = 20
MAX_COUNT: Final = 100
#: Result parameters radflow reads itself (R4 §3.1.1.5); `_offset` is its paging position.
RESULT_PARAMETERS: Final = ("_count", "_offset", "_summary", "_format")


@dataclass(frozen=True)
class SearchParameter:
    """One supported search parameter, as the CapabilityStatement lists it."""

    name: str
    kind: str  # R4 search-param-type: string | token | date | reference
    documentation: str


P = SearchParameter
_ID = P("_id", "token", "The resource's logical id.")

SEARCH_PARAMETERS: Final[Mapping[str, tuple[SearchParameter, ...]]] = {
    "Patient": (
        _ID,
        P("identifier", "token", "An identifier: system|value (system = assigning authority), |value or value."),
        P("name", "string", "Start of the family, given or middle name (:exact, :contains)."),
        P("family", "string", "Start of the family name (:exact, :contains)."),
        P("given", "string", "Start of the given or middle name (:exact, :contains)."),
        P("birthdate", "date", "Birth date, with prefixes eq, lt, le, gt, ge."),
        P("phone", "token", "Phone number (digits compared; a leading 1 of a NANP number ignored)."),
    ),
    "ServiceRequest": (
        _ID,
        P("identifier", "token", "Accession number (radflow's system) or placer order number (the placer's system)."),
        P("patient", "reference", "The patient (Patient/id)."),
        P("subject", "reference", "The patient (Patient/id)."),
        P("status", "token", "request-status, from the documented mapping of radflow's states."),
        P("authored", "date", "When radflow received the order, with prefixes eq, lt, le, gt, ge."),
        P("code", "token", "Exam: radflow protocol code or CPT code (system|code or code)."),
    ),
    "Task": (
        _ID,
        P("focus", "reference", "The ServiceRequest the Task tracks."),
        P("patient", "reference", "The patient (Task.for)."),
        P("subject", "reference", "The patient (Task.for)."),
        P("status", "token", "task-status, from the documented mapping of radflow's states."),
        P("business-status", "token", "radflow's exact pipeline state."),
    ),
    "Coverage": (
        _ID,
        P("patient", "reference", "The beneficiary (Patient/id)."),
        P("beneficiary", "reference", "The beneficiary (Patient/id)."),
    ),
    "AuditEvent": (
        P("patient", "reference", "The patient whose data was accessed."),
        P("date", "date", "When the event was recorded, with prefixes eq, lt, le, gt, ge."),
        P("agent", "reference", "The user who acted (radflow user id, optionally as Type/id)."),
        P("altid", "token", "The user name of the user who acted."),
        P("outcome", "token", "0 success, 4 minor failure (refused or failed), 8 serious failure."),
    ),
}

MODIFIERS: Final[Mapping[str, tuple[str, ...]]] = {"string": ("", "exact", "contains"), "token": ("",),
                                                   "date": ("",), "reference": ("",)}

V = TypeVar("V")


@dataclass(frozen=True)
class Page:
    """Which slice of the matches to return."""

    count: int = DEFAULT_COUNT
    offset: int = 0


class SearchRequest:
    """A query string read against one resource type's parameters; problems collect in `issues`."""

    def __init__(self, resource_type: str, items: Sequence[tuple[str, str]], zone: tzinfo, *,
                 strict: bool = False) -> None:
        self.resource_type = resource_type
        self.zone = zone
        self.issues: list[Issue] = []
        self.used: list[tuple[str, str]] = []
        kinds = {p.name: p.kind for p in SEARCH_PARAMETERS[resource_type]}
        self._values: dict[str, list[tuple[str, str]]] = {}  # name -> [(modifier, raw)]
        for key, raw in items:
            name, _, modifier = key.partition(":")
            if name in RESULT_PARAMETERS:
                continue
            kind = kinds.get(name)
            if kind is None:
                if strict:
                    self.issues.append(Issue("not-supported", f"search parameter '{key}' is not supported for "
                                              f"{resource_type}; supported: {', '.join(sorted(kinds))}"))
                continue
            if modifier not in MODIFIERS[kind]:
                self.issues.append(Issue("not-supported", f"modifier ':{modifier}' is not supported on '{name}'"))
                continue
            self._values.setdefault(name, []).append((modifier, raw))
        self.page = self._page(dict(items))

    def _page(self, given: Mapping[str, str]) -> Page:
        count, offset = DEFAULT_COUNT, 0
        try:
            count = min(int(given.get("_count", DEFAULT_COUNT)), MAX_COUNT)
            offset = int(given.get("_offset", 0))
        except ValueError:
            self.issues.append(Issue("value", "_count and _offset must be whole numbers"))
        if count < 0 or offset < 0:
            self.issues.append(Issue("value", "_count and _offset cannot be negative"))
        if given.get("_summary") == "count":
            count = 0
        return Page(max(count, 0), max(offset, 0))

    def _groups(self, name: str, read: Callable[[str, str], V]) -> tuple[tuple[V, ...], ...]:
        groups: list[tuple[V, ...]] = []
        for modifier, raw in self._values.get(name, ()):
            try:
                groups.append(tuple(read(modifier, value) for value in alternatives(raw)))
            except SearchValueError as wrong:
                self.issues.append(Issue("value", f"search parameter '{name}': {wrong}"))
                continue
            self.used.append((f"{name}:{modifier}" if modifier else name, raw))
        return tuple(groups)

    def strings(self, name: str) -> tuple[tuple[Text, ...], ...]:
        """AND-groups of OR-alternatives of a string parameter."""
        return self._groups(name, lambda modifier, value: Text(value, modifier or "start"))

    def tokens(self, name: str) -> tuple[tuple[Token, ...], ...]:
        """AND-groups of OR-alternatives of a token parameter."""
        return self._groups(name, lambda _modifier, value: token(value))

    def references(self, name: str, resource_type: str) -> tuple[tuple[str, ...], ...]:
        """AND-groups of OR-alternatives of the ids a reference parameter names."""
        return self._groups(name, lambda _modifier, value: reference_value(value, resource_type))

    def any_references(self, name: str) -> tuple[tuple[str, ...], ...]:
        """Like `references`, for a parameter that may name any resource type ('Type/id' or 'id')."""
        return self._groups(name, lambda _modifier, value: value.rstrip("/").rsplit("/", 1)[-1])

    def span(self, name: str) -> Span | None:
        """The period all values of a date parameter select together (AND), or None when not given."""
        spans = self._groups(name, self._date)
        if any(len(group) > 1 for group in spans):
            self.issues.append(Issue("not-supported", f"'{name}' takes one date per parameter; repeat the "
                                                      "parameter to give a range"))
        result: Span | None = None
        for group in spans:
            result = group[0] if result is None else result.narrowed(group[0])
        return result

    def _date(self, _modifier: str, value: str) -> Span:
        return date_span(value, self.zone)

    @property
    def refusal(self) -> Refusal | None:
        """The 400 answer when any parameter could not be read."""
        return Refusal(400, tuple(self.issues)) if self.issues else None
