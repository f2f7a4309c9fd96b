"""Screening rules as data: the typed rule set, built from plain (YAML-loaded) data and checked.

`build_ruleset` is the one place raw catalog data becomes rules. It refuses, with a message that
names the rule, item or questionnaire: unknown keys, unknown facts or link ids, operators that do
not fit a fact, option codes an item does not have, sources not in the registry, a
CONTRAINDICATED rule without an alternative, a local-policy rule that does not hold for review,
and an item that no rule reads (a question nobody acts on should not be asked).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from radflow.domain.errors import ValidationError
from radflow.domain.screening.conditions import Condition, ConditionParser, FactSpec, facts_read
from radflow.domain.screening.facts import DERIVED_DAY_COUNTS, EXAM_FACTS, fact_specs
from radflow.domain.screening.questionnaire import AnswerOption, ItemType, Questionnaire, QuestionnaireItem


class Outcome(StrEnum):
    """A screening outcome; `severity` orders them and the most severe fired rule decides."""

    CLEAR = "CLEAR"
    CLEAR_WITH_ACTION = "CLEAR_WITH_ACTION"
    HOLD_FOR_RADIOLOGIST_REVIEW = "HOLD_FOR_RADIOLOGIST_REVIEW"
    CONTRAINDICATED = "CONTRAINDICATED"

    @property
    def severity(self) -> int:
        """0 for CLEAR up to 3 for CONTRAINDICATED."""
        return list(Outcome).index(self)


@dataclass(frozen=True)
class Source:
    """A cited guideline, manual, consensus statement or labeling rule."""

    id: str
    title: str
    edition: str | None = None
    reference: str | None = None

    def cite(self, section: str | None) -> str:
        """The citation a person reads: title (edition), section."""
        text = f"{self.title} ({self.edition})" if self.edition else self.title
        return f"{text}, {section}" if section else text


@dataclass(frozen=True)
class Rule:
    """One screening rule: when it fires, the outcome, what to do, the alternative and the source."""

    id: str
    questionnaire: str
    when: Condition
    outcome: Outcome
    why: str
    actions: tuple[str, ...]
    alternative: str | None
    source: Source
    section: str | None
    local_policy: bool
    reads: frozenset[str]


@dataclass(frozen=True)
class RuleSet:
    """Questionnaires, items, sources and rules as one validated, immutable whole."""

    version: str
    digest: str
    sources: Mapping[str, Source]
    items: Mapping[str, QuestionnaireItem]
    questionnaires: tuple[Questionnaire, ...]
    rules: tuple[Rule, ...]
    gbca_agents: Mapping[str, str]
    facts: Mapping[str, FactSpec]


ANY_QUESTIONNAIRE = "*"
_RULE_KEYS = {
    "id",
    "questionnaire",
    "when",
    "outcome",
    "why",
    "actions",
    "alternative",
    "source",
    "section",
    "local_policy",
}
_ITEM_KEYS = {
    "link_id",
    "text",
    "type",
    "options",
    "repeats",
    "unit",
    "min",
    "max",
    "required",
    "verify_on_site",
    "enable_when",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PLACEHOLDER = re.compile(r"\{([a-z]+\.[A-Za-z0-9_.-]+)\}")


def _mapping(raw: object, where: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise ValidationError(f"{where}: expected a mapping")
    return raw


def _text(raw: Mapping[str, object], key: str, where: str, *, optional: bool = False) -> str | None:
    value = raw.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: '{key}' must be a non-empty string")
    return value


def _required_text(raw: Mapping[str, object], key: str, where: str) -> str:
    value = _text(raw, key, where)
    assert value is not None
    return value


def _flag(raw: Mapping[str, object], key: str, default: bool, where: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ValidationError(f"{where}: '{key}' must be true or false")
    return value


def _unknown_keys(raw: Mapping[str, object], allowed: set[str], where: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ValidationError(f"{where}: unknown key(s) {', '.join(extra)}")


def _parse_sources(raw: object) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for source_id, body in _mapping(raw, "sources").items():
        where = f"source '{source_id}'"
        entry = _mapping(body, where)
        _unknown_keys(entry, {"title", "edition", "reference"}, where)
        sources[source_id] = Source(
            id=source_id,
            title=_required_text(entry, "title", where),
            edition=_text(entry, "edition", where, optional=True),
            reference=_text(entry, "reference", where, optional=True),
        )
    return sources


def _parse_item_shape(raw: object) -> tuple[QuestionnaireItem, object]:
    entry = _mapping(raw, "item")
    link_id = entry.get("link_id")
    where = f"item '{link_id}'"
    if not isinstance(link_id, str) or not _ID.match(link_id) or "." not in link_id:
        raise ValidationError(f"{where}: link_id must look like 'area.name' (lower case)")
    _unknown_keys(entry, _ITEM_KEYS, where)
    try:
        item_type = ItemType(str(entry.get("type")))
    except ValueError:
        raise ValidationError(f"{where}: type must be one of {', '.join(t.value for t in ItemType)}") from None
    options_raw = entry.get("options") or []
    if not isinstance(options_raw, list):
        raise ValidationError(f"{where}: 'options' must be a list of {{code, display}}")
    options = tuple(_parse_option(option, where) for option in options_raw)
    if (item_type is ItemType.CHOICE) != bool(options):
        raise ValidationError(f"{where}: a choice item has options and only a choice item has them")
    repeats = _flag(entry, "repeats", False, where)
    if repeats and item_type is not ItemType.DECIMAL:
        raise ValidationError(f"{where}: only decimal items may repeat")
    minimum, maximum = entry.get("min"), entry.get("max")
    if item_type is ItemType.DECIMAL and not all(
        isinstance(bound, int | float) and not isinstance(bound, bool) for bound in (minimum, maximum)
    ):
        raise ValidationError(f"{where}: a decimal item needs numeric min and max (its plausible range)")
    item = QuestionnaireItem(
        link_id=link_id,
        text=_required_text(entry, "text", where),
        type=item_type,
        options=options,
        repeats=repeats,
        unit=_text(entry, "unit", where, optional=True),
        minimum=float(minimum) if isinstance(minimum, int | float) else None,
        maximum=float(maximum) if isinstance(maximum, int | float) else None,
        required=_flag(entry, "required", True, where),
        verify_on_site=_flag(entry, "verify_on_site", False, where),
    )
    return item, entry.get("enable_when")


def _parse_option(raw: object, where: str) -> AnswerOption:
    option = _mapping(raw, f"{where} option")
    code = option.get("code")
    if not isinstance(code, str) or not _ID.match(code):
        raise ValidationError(f"{where}: option code {code!r} must be a lower-case word (quote yes/no in YAML)")
    return AnswerOption(code=code, display=_required_text(option, "display", f"{where} option '{code}'"))


def _parse_items(raw: object) -> dict[str, QuestionnaireItem]:
    if not isinstance(raw, list):
        raise ValidationError("items: expected a list of items")
    shapes = [_parse_item_shape(entry) for entry in raw]
    items: dict[str, QuestionnaireItem] = {}
    for item, _ in shapes:
        if item.link_id in items:
            raise ValidationError(f"item '{item.link_id}': link_id defined twice")
        items[item.link_id] = item
    # enableWhen may read exam facts and other answers, so it is parsed once all items are known.
    parser = ConditionParser(fact_specs(items, ()))
    for item, enable_when in shapes:
        if enable_when is not None:
            condition = parser.parse(enable_when, f"item '{item.link_id}' enable_when")
            items[item.link_id] = replace(item, enable_when=condition)
    return items


def _parse_questionnaires(raw: object, items: Mapping[str, QuestionnaireItem]) -> tuple[Questionnaire, ...]:
    if not isinstance(raw, list):
        raise ValidationError("questionnaires: expected a list")
    exam_only = ConditionParser({spec.name: spec for spec in EXAM_FACTS})
    questionnaires: list[Questionnaire] = []
    for body in raw:
        entry = _mapping(body, "questionnaire")
        qid = entry.get("id")
        where = f"questionnaire '{qid}'"
        if not isinstance(qid, str) or not _ID.match(qid) or qid == "all":
            raise ValidationError(f"{where}: id must be a lower-case word other than 'all'")
        _unknown_keys(entry, {"id", "title", "applies_when", "items"}, where)
        link_ids = entry.get("items")
        if not isinstance(link_ids, list) or not link_ids:
            raise ValidationError(f"{where}: 'items' must list link ids")
        unknown = [link_id for link_id in link_ids if link_id not in items]
        if unknown:
            raise ValidationError(f"{where}: unknown item link id(s) {', '.join(map(str, unknown))}")
        if any(other.id == qid for other in questionnaires):
            raise ValidationError(f"{where}: id defined twice")
        questionnaires.append(
            Questionnaire(
                id=qid,
                title=_required_text(entry, "title", where),
                applies_when=exam_only.parse(entry.get("applies_when"), f"{where} applies_when"),
                items=tuple(items[link_id] for link_id in link_ids),
            )
        )
    return tuple(questionnaires)


def _parse_named_conditions(raw: object, parser_facts: Mapping[str, FactSpec]) -> dict[str, Condition]:
    named: dict[str, Condition] = {}
    for name, body in _mapping(raw or {}, "conditions").items():
        # Each named condition may use the ones defined above it.
        named[name] = ConditionParser(parser_facts, named).parse(body, f"condition '{name}'")
    return named


def _check_placeholders(text: str, facts: Mapping[str, FactSpec], where: str) -> None:
    for name in PLACEHOLDER.findall(text):
        if name not in facts:
            raise ValidationError(f"{where}: placeholder {{{name}}} names no known fact")


def _parse_rule(
    raw: object, parser: ConditionParser, sources: Mapping[str, Source], questionnaire_ids: set[str]
) -> Rule:
    entry = _mapping(raw, "rule")
    rule_id = entry.get("id")
    where = f"rule '{rule_id}'"
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise ValidationError(f"{where}: id must be a lower-case dotted name")
    _unknown_keys(entry, _RULE_KEYS, where)
    scope = entry.get("questionnaire")
    if scope != ANY_QUESTIONNAIRE and scope not in questionnaire_ids:
        raise ValidationError(f"{where}: unknown questionnaire {scope!r}")
    try:
        outcome = Outcome(str(entry.get("outcome")))
    except ValueError:
        raise ValidationError(f"{where}: outcome must be one of {', '.join(o.value for o in Outcome)}") from None
    actions_raw = entry.get("actions") or []
    if not isinstance(actions_raw, list) or not all(isinstance(a, str) and a.strip() for a in actions_raw):
        raise ValidationError(f"{where}: 'actions' must be a list of sentences")
    source_id = entry.get("source")
    if not isinstance(source_id, str) or source_id not in sources:
        raise ValidationError(f"{where}: source {source_id!r} is not in the source registry")
    local_policy = _flag(entry, "local_policy", False, where)
    alternative = _text(entry, "alternative", where, optional=True)
    _check_rule_outcome(where, outcome, tuple(actions_raw), alternative, local_policy)
    when = parser.parse(entry.get("when"), where)
    why = _required_text(entry, "why", where)
    for text in (why, *actions_raw):
        _check_placeholders(text, parser.facts, where)
    return Rule(
        id=rule_id,
        questionnaire=str(scope),
        when=when,
        outcome=outcome,
        why=why,
        actions=tuple(actions_raw),
        alternative=alternative,
        source=sources[source_id],
        section=_text(entry, "section", where, optional=True),
        local_policy=local_policy,
        reads=facts_read(when),
    )


def _check_rule_outcome(
    where: str, outcome: Outcome, actions: tuple[str, ...], alternative: str | None, local_policy: bool
) -> None:
    if outcome is Outcome.CONTRAINDICATED and not alternative:
        raise ValidationError(f"{where}: a CONTRAINDICATED rule names the alternative exam to consider")
    if outcome is Outcome.CLEAR_WITH_ACTION and not actions:
        raise ValidationError(f"{where}: a CLEAR_WITH_ACTION rule lists its action(s)")
    if outcome is Outcome.CLEAR and (actions or alternative):
        raise ValidationError(f"{where}: a CLEAR rule only explains; use CLEAR_WITH_ACTION for actions")
    if local_policy and outcome is not Outcome.HOLD_FOR_RADIOLOGIST_REVIEW:
        raise ValidationError(f"{where}: a local-policy rule holds for radiologist review")


def _parse_agents(raw: object) -> dict[str, str]:
    agents: dict[str, str] = {}
    for name, group in _mapping(raw or {}, "gbca_agents").items():
        if group not in ("I", "II", "III"):
            raise ValidationError(f"gbca_agents: {name} has group {group!r}; expected I, II or III")
        agents[name.lower()] = str(group)
    return agents


def build_ruleset(raw: Mapping[str, object]) -> RuleSet:
    """Validate raw catalog data and return the rule set; ValidationError names what is wrong."""
    _unknown_keys(
        raw, {"version", "sources", "items", "questionnaires", "conditions", "gbca_agents", "rules"}, "rule set"
    )
    version = raw.get("version")
    if not isinstance(version, str) or not version:
        raise ValidationError("rule set: 'version' must be a non-empty string")
    sources = _parse_sources(raw.get("sources"))
    items = _parse_items(raw.get("items"))
    questionnaires = _parse_questionnaires(raw.get("questionnaires"), items)
    facts = fact_specs(items, questionnaires)
    parser = ConditionParser(facts, _parse_named_conditions(raw.get("conditions"), facts))
    rules_raw = raw.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise ValidationError("rule set: 'rules' must be a non-empty list")
    questionnaire_ids = {q.id for q in questionnaires}
    rules = tuple(_parse_rule(entry, parser, sources, questionnaire_ids) for entry in rules_raw)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ValidationError(f"rule '{rule.id}': id defined twice")
        seen.add(rule.id)
    _check_every_item_read(items, questionnaires, rules)
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    # Read-only views: a rule set is shared by every request of a process and must not change.
    return RuleSet(
        version=version,
        digest=digest,
        sources=MappingProxyType(sources),
        items=MappingProxyType(items),
        questionnaires=questionnaires,
        rules=rules,
        gbca_agents=MappingProxyType(_parse_agents(raw.get("gbca_agents"))),
        facts=MappingProxyType(facts),
    )


def _check_every_item_read(
    items: Mapping[str, QuestionnaireItem], questionnaires: tuple[Questionnaire, ...], rules: tuple[Rule, ...]
) -> None:
    read = set(frozenset().union(*(rule.reads for rule in rules)))
    # A derived fact reads the item it is computed from (derived.egfr_age_days reads renal.egfr_date).
    read |= {f"answer.{link_id}" for name, link_id in DERIVED_DAY_COUNTS.items() if name in read}
    asked = {link_id for questionnaire in questionnaires for link_id in questionnaire.link_ids}
    unread = sorted(link_id for link_id in asked if f"answer.{link_id}" not in read)
    if unread:
        raise ValidationError(f"item(s) asked but read by no rule: {', '.join(unread)}")
    unused = sorted(set(items) - asked)
    if unused:
        raise ValidationError(f"item(s) in the item bank but in no questionnaire: {', '.join(unused)}")
