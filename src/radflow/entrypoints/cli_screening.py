"""`radflow screening ...`: evaluate a screening case, or check a rule set against a case suite.

    radflow screening evaluate CASE.json [--rules DIR]     print the decision as JSON (exit 0)
    radflow screening check CASES... [--rules DIR]         compare each case's `expect` (exit 0/1)

A malformed case or rule set is reported on stderr with the field at fault, exit status 2.
`--rules` points at a candidate rule-set directory (same layout as catalog/screening/), so a
safety officer can run a rule change against the cases before it goes live.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from radflow.catalog.screening_loader import evaluate_case_json, load_screening_rules
from radflow.domain.errors import ValidationError
from radflow.domain.screening import Outcome, RuleSet

screening_app = typer.Typer(
    name="screening",
    help="Safety screening: evaluate a case against the screening rules, or check rules against cases.",
    no_args_is_help=True,
)

EXIT_INVALID = 2
RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="A rule-set directory to use instead of the shipped one (for checking a change)."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=EXIT_INVALID)


def _load_rules(directory: Path | None) -> RuleSet:
    try:
        return load_screening_rules(directory)
    except ValidationError as error:
        raise _fail(f"invalid rule set: {error.message}") from None


def _read_case(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise _fail(f"cannot read {path}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None


def _evaluate(case: Any, rules: RuleSet, path: str) -> dict[str, Any]:
    try:
        return evaluate_case_json(case, rules)
    except ValidationError as error:
        field = f" (field {error.field})" if error.field else ""
        raise _fail(f"invalid case {path}{field}: {error.message}") from None


@screening_app.command("evaluate")
def evaluate_command(
    case_file: Annotated[str, typer.Argument(metavar="CASE.json", help="The case as JSON; '-' reads stdin.")],
    rules_dir: RulesOption = None,
) -> None:
    """Print the screening decision for one case as JSON."""
    rules = _load_rules(rules_dir)
    decision = _evaluate(_read_case(case_file), rules, case_file)
    typer.echo(json.dumps(decision, indent=2, ensure_ascii=False))


@dataclass(frozen=True)
class Expectation:
    """What a case in the suite expects: the decision and exactly which rules fire."""

    decision: Outcome
    fired: frozenset[str]


def _expectation(case: Any, path: str) -> Expectation:
    expect = case.get("expect") if isinstance(case, dict) else None
    if not isinstance(expect, dict):
        raise _fail(f"{path}: a suite case needs an 'expect' object with 'decision' and 'fired'")
    fired = expect.get("fired")
    if not isinstance(fired, list) or not all(isinstance(rule_id, str) for rule_id in fired):
        raise _fail(f"{path}: expect.fired must list rule ids")
    try:
        return Expectation(Outcome(str(expect.get("decision"))), frozenset(fired))
    except ValueError:
        raise _fail(f"{path}: expect.decision must be one of {', '.join(o.value for o in Outcome)}") from None


def mismatches(expectation: Expectation, decision: dict[str, Any]) -> list[str]:
    """How a decision differs from what the case expects (empty when it matches)."""
    problems: list[str] = []
    if decision["decision"] != expectation.decision.value:
        problems.append(f"decision {decision['decision']}, expected {expectation.decision.value}")
    fired = {rule["id"] for rule in decision["fired_rules"]}
    if extra := sorted(fired - expectation.fired):
        problems.append(f"unexpected rule(s) fired: {', '.join(extra)}")
    if missing := sorted(expectation.fired - fired):
        problems.append(f"expected rule(s) did not fire: {', '.join(missing)}")
    return problems


def _case_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    if not files:
        raise _fail("no case files found")
    return files


@screening_app.command("check")
def check_command(
    cases: Annotated[list[Path], typer.Argument(metavar="CASES...", help="Case files, or directories of *.json.")],
    rules_dir: RulesOption = None,
) -> None:
    """Evaluate every case and compare with its `expect`; exit 1 if any differs."""
    rules = _load_rules(rules_dir)
    failures = 0
    files = _case_files(cases)
    for path in files:
        case = _read_case(str(path))
        problems = mismatches(_expectation(case, str(path)), _evaluate(case, rules, str(path)))
        if problems:
            failures += 1
            typer.echo(f"FAIL {path.name}: " + "; ".join(problems))
    typer.echo(f"{len(files) - failures} of {len(files)} cases as expected (rules {rules.version})")
    if failures:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    screening_app()
