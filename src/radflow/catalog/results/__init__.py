"""Results rules as data: which reports are actionable, and the mammography outcomes audit's definitions.

Each file cites its sources; the loaders validate them once per process (they never change at run time).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.distribution import ActionableRules, parse_actionable_rules
from radflow.domain.errors import ValidationError
from radflow.domain.mammography_outcomes import OutcomeDefinitions, parse_outcome_definitions


def _document(name: str) -> object:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationError(f"catalog/results/{name} is not valid YAML: {error}") from error


@cache
def load_actionable_rules() -> ActionableRules:
    """Which reports need action (catalog/results/actionable.yaml)."""
    return parse_actionable_rules(_document("actionable.yaml"))


@cache
def load_outcome_definitions() -> OutcomeDefinitions:
    """The MQSA outcomes audit's definitions (catalog/results/outcomes.yaml)."""
    return parse_outcome_definitions(_document("outcomes.yaml"))


__all__ = ["load_actionable_rules", "load_outcome_definitions"]
