"""The extraction vocabulary, typed: critical-result terms, exam terms, recommendation cues, ConText rules.

Read from catalog/rads/critical_results.yaml and followup_language.yaml and validated at load: a
regular expression that does not compile, an unknown category or direction, or a finding without a
source is refused with the file and entry named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radflow.catalog.rads import read_catalog_document
from radflow.domain.errors import ValidationError

CONTEXT_CATEGORIES = frozenset({
    "NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "NOT_A_RECOMMENDATION",
    "PSEUDO", "TERMINATE",
})
DIRECTIONS = frozenset({"FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"})
SCOPES = frozenset({"critical", "followup", "all"})
MODALITIES = frozenset({"CT", "MR", "US", "MG", "DX", "NM", "PT", "RF"})


@dataclass(frozen=True)
class CriticalTerm:
    """A critical finding of the vocabulary and the patterns that name it."""

    type: str
    label: str
    level: str
    source: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    """How a context-dependent word becomes a finding: the type, and what the sentence must (not) say."""

    type: str
    when: re.Pattern[str]
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class ContextualTerm:
    """A word that names a critical finding only in context ("torsion", "hemorrhage")."""

    pattern: str
    resolve: tuple[Resolution, ...]


@dataclass(frozen=True)
class ExamTerm:
    """Words for an exam or a procedure a recommendation can ask for."""

    modality: str | None
    procedure: str
    generic: bool
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class ContextRuleSpec:
    """A ConText modifier: its phrases, category, direction, scope in tokens, and which targets it modifies."""

    category: str
    direction: str
    applies_to: str
    literals: tuple[str, ...]
    max_scope: int | None
    terminated_by: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Vocabulary:
    """Everything the extractor matches, as validated data."""

    findings: Mapping[str, CriticalTerm]
    contextual: tuple[ContextualTerm, ...]
    exams: tuple[ExamTerm, ...]
    cues: re.Pattern[str]
    openers: re.Pattern[str]
    interval_before_exam_chars: int
    interval_after_exam_chars: int
    context_rules: tuple[ContextRuleSpec, ...]


def _compile(pattern: object, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ValidationError(f"{where}: expected a regular expression")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ValidationError(f"{where}: regular expression {pattern!r} does not compile: {error}") from error


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: '{key}' must be a non-empty text")
    return value


def _patterns(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    raw = entry.get(key)
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{where}: '{key}' must be a non-empty list of regular expressions")
    for index, pattern in enumerate(raw):
        _compile(pattern, f"{where} {key}[{index}]")
    return tuple(raw)


def parse_critical_results(raw: object, origin: str = "critical_results.yaml") -> tuple[
    dict[str, CriticalTerm], tuple[ContextualTerm, ...]
]:
    """Validate the critical-results vocabulary."""
    if not isinstance(raw, dict) or not isinstance(raw.get("findings"), list):
        raise ValidationError(f"{origin}: expected 'findings' as a list")
    findings: dict[str, CriticalTerm] = {}
    for index, entry in enumerate(raw["findings"]):
        where = f"{origin} findings[{index}]"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where}: expected a mapping")
        kind = _text(entry, "type", where)
        if kind in findings:
            raise ValidationError(f"{where}: duplicate type '{kind}'")
        findings[kind] = CriticalTerm(kind, _text(entry, "label", where), _text(entry, "level", where),
                                      _text(entry, "source", where), _patterns(entry, "terms", where))
    contextual: list[ContextualTerm] = []
    for index, entry in enumerate(raw.get("contextual_terms", [])):
        where = f"{origin} contextual_terms[{index}]"
        resolutions = []
        for r_index, item in enumerate(entry.get("resolve", [])):
            r_where = f"{where} resolve[{r_index}]"
            kind = _text(item, "type", r_where)
            if kind not in findings:
                raise ValidationError(f"{r_where}: unknown type '{kind}'")
            unless = _compile(item["unless"], f"{r_where} unless") if item.get("unless") else None
            resolutions.append(Resolution(kind, _compile(item.get("when"), f"{r_where} when"), unless))
        if not resolutions:
            raise ValidationError(f"{where}: 'resolve' must name at least one type")
        _compile(entry.get("pattern"), f"{where} pattern")
        contextual.append(ContextualTerm(str(entry["pattern"]), tuple(resolutions)))
    return findings, tuple(contextual)


def _context_rule(entry: object, where: str) -> ContextRuleSpec:
    if not isinstance(entry, dict):
        raise ValidationError(f"{where}: expected a mapping")
    category, direction = entry.get("category"), entry.get("direction")
    if category not in CONTEXT_CATEGORIES:
        raise ValidationError(f"{where}: category {category!r} is not one of {sorted(CONTEXT_CATEGORIES)}")
    if direction not in DIRECTIONS:
        raise ValidationError(f"{where}: direction {direction!r} is not one of {sorted(DIRECTIONS)}")
    applies_to = entry.get("applies_to", "all")
    if applies_to not in SCOPES:
        raise ValidationError(f"{where}: applies_to {applies_to!r} is not one of {sorted(SCOPES)}")
    literals = entry.get("literals")
    if not isinstance(literals, list) or not all(isinstance(x, str) and x for x in literals):
        raise ValidationError(f"{where}: 'literals' must be a list of phrases")
    scope = entry.get("max_scope")
    if scope is not None and (not isinstance(scope, int) or scope < 1):
        raise ValidationError(f"{where}: 'max_scope' must be a positive number of tokens")
    terminated_by = entry.get("terminated_by", [])
    if not isinstance(terminated_by, list) or not set(terminated_by) <= CONTEXT_CATEGORIES:
        raise ValidationError(f"{where}: 'terminated_by' must list ConText categories")
    return ContextRuleSpec(str(category), str(direction), str(applies_to), tuple(literals), scope,
                           frozenset(terminated_by))


def parse_followup_language(raw: object, origin: str = "followup_language.yaml") -> tuple[
    tuple[ExamTerm, ...], re.Pattern[str], re.Pattern[str], tuple[int, int], tuple[ContextRuleSpec, ...]
]:
    """Validate the follow-up language: exams, recommendation cues, openers, ConText rules."""
    if not isinstance(raw, dict):
        raise ValidationError(f"{origin}: expected a mapping at the top level")
    exams = []
    for index, entry in enumerate(raw.get("exams", [])):
        where = f"{origin} exams[{index}]"
        modality = entry.get("modality")
        if modality is not None and modality not in MODALITIES:
            raise ValidationError(f"{where}: modality {modality!r} is not a DICOM modality radflow knows")
        procedure = _text(entry, "procedure", where)
        if procedure not in {"imaging", "tissue_sampling"}:
            raise ValidationError(f"{where}: procedure must be imaging or tissue_sampling")
        exams.append(ExamTerm(modality, procedure, bool(entry.get("generic")), _patterns(entry, "terms", where)))
    recommendation = raw.get("recommendation")
    if not isinstance(recommendation, dict):
        raise ValidationError(f"{origin}: 'recommendation' must be a mapping")
    cues = _compile("|".join(_patterns(recommendation, "cues", origin)), f"{origin} cues")
    openers = _compile(r"^\W*(?:" + "|".join(_patterns(recommendation, "openers", origin)) + r")\b", origin)
    windows = (int(recommendation.get("interval_before_exam_chars", 0)),
               int(recommendation.get("interval_after_exam_chars", 0)))
    rules = tuple(_context_rule(e, f"{origin} context_rules[{i}]") for i, e in enumerate(raw.get("context_rules", [])))
    return tuple(exams), cues, openers, windows, rules


def load_vocabulary() -> Vocabulary:
    """Read and validate both vocabulary files of catalog/rads."""
    findings, contextual = parse_critical_results(read_catalog_document("critical_results.yaml"))
    exams, cues, openers, windows, rules = parse_followup_language(read_catalog_document("followup_language.yaml"))
    return Vocabulary(findings, contextual, exams, cues, openers, windows[0], windows[1], rules)
