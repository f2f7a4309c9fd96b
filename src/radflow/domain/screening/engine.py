"""The screening engine: a case and a rule set in, a decision with every fired rule out.

The most severe fired rule decides (CLEAR < CLEAR_WITH_ACTION < HOLD_FOR_RADIOLOGIST_REVIEW <
CONTRAINDICATED); no fired rule means CLEAR. Rules scoped to a questionnaire run only when that
questionnaire applies to the exam; rules scoped `*` always run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from radflow.domain.screening.case import ScreeningCase
from radflow.domain.screening.conditions import FactValue, holds
from radflow.domain.screening.facts import case_facts, exam_facts
from radflow.domain.screening.questionnaire import Questionnaire
from radflow.domain.screening.rules import ANY_QUESTIONNAIRE, PLACEHOLDER, Outcome, RuleSet


@dataclass(frozen=True)
class FiredRule:
    """A rule that fired for a case, with its sentences filled in from the case."""

    rule_id: str
    questionnaire: str
    outcome: Outcome
    why: str
    actions: tuple[str, ...]
    alternative: str | None
    source_id: str
    citation: str
    local_policy: bool


@dataclass(frozen=True)
class ScreeningDecision:
    """The outcome, what to do, what to consider instead, and why (every fired rule)."""

    outcome: Outcome
    actions: tuple[str, ...]
    alternatives: tuple[str, ...]
    fired: tuple[FiredRule, ...]
    questionnaires: tuple[str, ...]
    rules_version: str
    rules_digest: str

    @property
    def needs_radiologist(self) -> bool:
        """Whether the decision goes to the radiologist review queue."""
        return self.outcome is Outcome.HOLD_FOR_RADIOLOGIST_REVIEW

    @property
    def rests_on_local_policy(self) -> bool:
        """Whether a fired rule leaves the call to the center's own policy."""
        return any(rule.local_policy for rule in self.fired)


def applicable_questionnaires(case: ScreeningCase, rules: RuleSet) -> tuple[Questionnaire, ...]:
    """The questionnaires to ask for this exam and patient (answers are not needed)."""
    facts = exam_facts(case)
    return tuple(q for q in rules.questionnaires if holds(q.applies_when, facts))


def evaluate(case: ScreeningCase, rules: RuleSet) -> ScreeningDecision:
    """Run every applicable rule on `case` and return the decision."""
    applicable = applicable_questionnaires(case, rules)
    scopes = {q.id for q in applicable} | {ANY_QUESTIONNAIRE}
    facts = case_facts(case, applicable)
    fired = [
        FiredRule(
            rule_id=rule.id,
            questionnaire=rule.questionnaire,
            outcome=rule.outcome,
            why=render(rule.why, facts),
            actions=tuple(render(action, facts) for action in rule.actions),
            alternative=rule.alternative,
            source_id=rule.source.id,
            citation=rule.source.cite(rule.section),
            local_policy=rule.local_policy,
        )
        for rule in rules.rules
        if rule.questionnaire in scopes and holds(rule.when, facts)
    ]
    # Most severe first, rule-file order within a severity: the reader sees what decided first.
    fired.sort(key=lambda rule: -rule.outcome.severity)
    outcome = fired[0].outcome if fired else Outcome.CLEAR
    return ScreeningDecision(
        outcome=outcome,
        actions=_unique(action for rule in fired for action in rule.actions),
        alternatives=_unique(rule.alternative for rule in fired if rule.alternative),
        fired=tuple(fired),
        questionnaires=tuple(q.id for q in applicable),
        rules_version=rules.version,
        rules_digest=rules.digest,
    )


def _unique(texts: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in texts:
        seen.setdefault(text, None)
    return tuple(seen)


def render(text: str, facts: Mapping[str, FactValue]) -> str:
    """Fill `{fact.name}` placeholders with the case's values (lists comma-separated, missing as '—')."""

    def value_of(match: re.Match[str]) -> str:
        value = facts.get(match.group(1))
        if value is None:
            return "—"
        if isinstance(value, tuple):
            return ", ".join(_format(element) for element in value) or "—"
        return _format(value)

    return PLACEHOLDER.sub(value_of, text)


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
