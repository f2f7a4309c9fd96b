"""Reads the screening questionnaires and rules (YAML under catalog/screening/) into a RuleSet.

The files are listed in `manifest.yaml`; `radflow.domain.screening.build_ruleset` validates them
and refuses the whole set with a message naming the file and the rule at fault. A candidate rule
set in another directory (a safety officer's change) loads the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.errors import ValidationError
from radflow.domain.screening import RuleSet, build_ruleset
from radflow.domain.screening import evaluate_case_json as evaluate_case_json_with

SHIPPED_DIR = Path(__file__).with_name("screening")


def _refuse_duplicate_keys(node: Any, path: Path, seen_nodes: set[int] | None = None) -> None:
    """Raise if a mapping gives a key twice (YAML itself would silently keep the last one)."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias to a node already checked
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in keys:
                line = key_node.start_mark.line + 1
                raise ValidationError(f"screening rules: {path.name} line {line}: key {key!r} appears twice")
            keys.add(key)
            _refuse_duplicate_keys(value_node, path, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _refuse_duplicate_keys(child, path, seen_nodes)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        # One parse (libyaml when present): compose, check the node tree, then construct from it.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _refuse_duplicate_keys(node, path)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except FileNotFoundError:
        raise ValidationError(f"screening rules: file {path} is missing") from None
    except yaml.YAMLError as error:
        raise ValidationError(f"screening rules: {path.name} is not valid YAML: {error}") from None


def read_raw_ruleset(directory: Path = SHIPPED_DIR) -> dict[str, Any]:
    """The raw (unvalidated) rule-set data of `directory`, as build_ruleset takes it."""
    manifest = _read(directory / "manifest.yaml")
    if not isinstance(manifest, dict):
        raise ValidationError(f"screening rules: {directory / 'manifest.yaml'} must be a mapping")
    raw: dict[str, Any] = {"version": manifest.get("version")}
    for key in ("sources", "items", "questionnaires", "conditions", "gbca_agents"):
        name = manifest.get(key)
        if not isinstance(name, str):
            raise ValidationError(f"screening rules: manifest.yaml names no '{key}' file")
        raw[key] = _read(directory / name)
    rule_files = manifest.get("rule_files")
    if not isinstance(rule_files, list) or not rule_files:
        raise ValidationError("screening rules: manifest.yaml lists no rule_files")
    raw["rules"] = []
    for name in rule_files:
        rules = _read(directory / str(name))
        if not isinstance(rules, list):
            raise ValidationError(f"screening rules: {name} must be a list of rules")
        raw["rules"].extend(rules)
    return raw


def load_screening_rules(directory: Path | None = None) -> RuleSet:
    """Load and validate the rule set in `directory` (the shipped one by default)."""
    if directory is None:
        return shipped_screening_rules()
    return build_ruleset(read_raw_ruleset(directory))


@lru_cache(maxsize=1)
def shipped_screening_rules() -> RuleSet:
    """The shipped rule set, loaded once per process (it is immutable)."""
    return build_ruleset(read_raw_ruleset(SHIPPED_DIR))


def evaluate_case_json(obj: object, rules: RuleSet | None = None) -> dict[str, Any]:
    """Evaluate a JSON screening case (docs/screening-case.schema.json) and return the JSON decision.

    The one entry of the CLI (`radflow screening evaluate`) and of `POST /api/screening/evaluate`;
    raises ValidationError (with `.field`) for a malformed case.
    """
    return evaluate_case_json_with(obj, rules if rules is not None else shipped_screening_rules())
