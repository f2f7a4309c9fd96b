"""The exam-day rules (consents, pre-scan checklist, reasons, formulary) read from data and validated.

`exam_day_rules.yaml` beside this module is the shipped set; `load_exam_day_rules(path)` reads a
candidate. A rule set with an unknown key, a source not in its registry, a consent without a trigger
or a duplicate code is refused with a message naming the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.checkin import ConsentKind, ConsentRule
from radflow.domain.errors import ValidationError

SHIPPED = Path(__file__).with_name("exam_day_rules.yaml")
_TOP = {"version", "sources", "consents", "payment_note_required", "prescan_checklist", "interruption_reasons",
        "discontinuation_reasons", "formulary"}


@dataclass(frozen=True)
class ChecklistItem:
    """One pre-scan verification item and the guidance it follows."""

    id: str
    text: str
    citation: str


@dataclass(frozen=True)
class Reason:
    """A coded reason (interruption or discontinuation) with its coding scheme and source."""

    code: str
    text: str
    scheme: str = ""
    citation: str = ""


@dataclass(frozen=True)
class ExamDayRules:
    """The validated exam-day rules."""

    version: str
    consents: tuple[ConsentRule, ...]
    payment_note_required: bool
    prescan_checklist: tuple[ChecklistItem, ...]
    interruption_reasons: tuple[Reason, ...]
    discontinuation_reasons: tuple[Reason, ...]
    formulary: Mapping[str, str]

    def discontinuation(self, code: str) -> Reason:
        """The discontinuation reason with this code; ValidationError lists the known ones."""
        for reason in self.discontinuation_reasons:
            if reason.code == code:
                return reason
        known = ", ".join(r.code for r in self.discontinuation_reasons)
        raise ValidationError(f"unknown discontinuation reason '{code}' (one of: {known})", field="reason")

    def interruption(self, code: str) -> Reason:
        """The interruption reason with this code; ValidationError lists the known ones."""
        for reason in self.interruption_reasons:
            if reason.code == code:
                return reason
        known = ", ".join(r.code for r in self.interruption_reasons)
        raise ValidationError(f"unknown interruption reason '{code}' (one of: {known})", field="reason")

    @property
    def prescan_ids(self) -> tuple[str, ...]:
        """The checklist items, in order."""
        return tuple(item.id for item in self.prescan_checklist)


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ValidationError(f"exam-day rules: {where} must be a mapping")
    return raw


def _list(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"exam-day rules: {where} must be a non-empty list")
    return raw


def _citation(entry: Mapping[str, Any], sources: Mapping[str, str], where: str) -> str:
    source = str(entry.get("source", ""))
    if source not in sources:
        raise ValidationError(f"exam-day rules: {where} cites unknown source {source!r} (known: {', '.join(sources)})")
    section = entry.get("section")
    return f"{sources[source]}, {section}" if section else sources[source]


def _unique(codes: list[str], where: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValidationError(f"exam-day rules: {where} lists '{code}' twice")
        seen.add(code)


def _consent(raw: object, sources: Mapping[str, str], index: int) -> ConsentRule:
    entry = _mapping(raw, f"consents[{index}]")
    extra = set(entry) - {"kind", "contrast_agents", "routes", "when_sedation", "source", "section"}
    if extra:
        raise ValidationError(f"exam-day rules: consents[{index}] has unknown key '{sorted(extra)[0]}'")
    try:
        kind = ConsentKind(str(entry.get("kind", "")))
    except ValueError:
        raise ValidationError(f"exam-day rules: consents[{index}] kind must be one of "
                              f"{', '.join(k.value for k in ConsentKind)}") from None
    agents = frozenset(str(a) for a in entry.get("contrast_agents", []))
    sedation = bool(entry.get("when_sedation", False))
    if not agents and not sedation:
        raise ValidationError(f"exam-day rules: consents[{index}] ({kind.value}) says neither when_sedation "
                              "nor contrast_agents: it would never apply")
    return ConsentRule(kind=kind, source=_citation(entry, sources, f"consents[{index}]"), contrast_agents=agents,
                       routes=frozenset(str(r) for r in entry.get("routes", [])), when_sedation=sedation)


def build_exam_day_rules(raw: object) -> ExamDayRules:
    """Validate decoded YAML into rules; ValidationError names the entry at fault."""
    body = _mapping(raw, "the file")
    extra = set(body) - _TOP
    if extra:
        raise ValidationError(f"exam-day rules: unknown top-level key '{sorted(extra)[0]}'")
    sources = {key: str(_mapping(value, f"sources.{key}").get("title", key))
               + (f" ({value['edition']})" if isinstance(value, dict) and value.get("edition") else "")
               for key, value in _mapping(body.get("sources"), "sources").items()}
    consents = tuple(_consent(c, sources, i) for i, c in enumerate(_list(body.get("consents"), "consents")))
    checklist = []
    for i, raw_item in enumerate(_list(body.get("prescan_checklist"), "prescan_checklist")):
        item = _mapping(raw_item, f"prescan_checklist[{i}]")
        if not item.get("id") or not item.get("text"):
            raise ValidationError(f"exam-day rules: prescan_checklist[{i}] needs an id and a text")
        checklist.append(ChecklistItem(str(item["id"]), str(item["text"]),
                                       _citation(item, sources, f"prescan_checklist[{i}]")))
    _unique([c.id for c in checklist], "prescan_checklist")
    interruptions = tuple(Reason(str(_mapping(r, "interruption_reasons")["code"]), str(r["text"]))
                          for r in _list(body.get("interruption_reasons"), "interruption_reasons"))
    _unique([r.code for r in interruptions], "interruption_reasons")
    discontinuations = tuple(
        Reason(str(_mapping(r, "discontinuation_reasons")["code"]), str(r["text"]), str(r.get("scheme", "")),
               _citation(r, sources, f"discontinuation_reasons[{i}]"))
        for i, r in enumerate(_list(body.get("discontinuation_reasons"), "discontinuation_reasons")))
    _unique([r.code for r in discontinuations], "discontinuation_reasons")
    formulary = {str(k): str(_mapping(v, f"formulary.{k}")["agent"])
                 for k, v in _mapping(body.get("formulary", {}), "formulary").items()}
    return ExamDayRules(version=str(body.get("version", "")), consents=consents,
                        payment_note_required=bool(body.get("payment_note_required", False)),
                        prescan_checklist=tuple(checklist), interruption_reasons=interruptions,
                        discontinuation_reasons=discontinuations, formulary=formulary)


def load_exam_day_rules(path: Path) -> ExamDayRules:
    """Read and validate a rules file."""
    return build_exam_day_rules(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def shipped_exam_day_rules() -> ExamDayRules:
    """The shipped rules, loaded once per process (immutable)."""
    return load_exam_day_rules(SHIPPED)
