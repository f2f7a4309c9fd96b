"""`radflow rads ...`: the RADS calculators and the follow-up extraction from the command line.

    radflow rads assess FINDING.json      structured finding -> category, management, interval (JSON)
    radflow rads extract REPORT.txt       report text -> follow-up recommendations, critical findings (JSON)

Bad input prints one line naming the field and exits with status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from radflow.domain.errors import ValidationError

rads_app = typer.Typer(
    name="rads",
    help="RADS calculators (BI-RADS, Lung-RADS, TI-RADS, Fleischner) and text extraction.",
    no_args_is_help=True,
)

EXIT_BAD_INPUT = 2


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=EXIT_BAD_INPUT)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"{path}: cannot be read ({error})") from None


def _print(answer: dict[str, Any]) -> None:
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))


@rads_app.command("assess")
def assess(
    finding: Annotated[
        Path, typer.Argument(metavar="FINDING.json", help="a structured finding (docs/rads-finding.schema.json)")
    ],
) -> None:
    """Print the category, management, modality, interval and deciding rule for a structured finding."""
    from radflow.catalog.rads import assess_json

    text = _read(finding)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail(f"{finding}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    if not isinstance(obj, dict):
        raise _fail(f"{finding}: the finding must be a JSON object with a 'system' field")
    try:
        _print(assess_json(obj))
    except ValidationError as error:
        raise _fail(error.message) from None


@rads_app.command("extract")
def extract(
    report: Annotated[Path, typer.Argument(metavar="REPORT.txt", help="report text (UTF-8)")],
    reference_date: Annotated[str | None, typer.Option(help="the report's date, YYYY-MM-DD, for due dates")] = None,
) -> None:
    """Print the follow-up recommendations and critical findings found in a report's text."""
    from radflow.adapters.nlp import extract_json

    body: dict[str, Any] = {"text": _read(report)}
    if reference_date is not None:
        body["reference_date"] = reference_date
    try:
        _print(extract_json(body))
    except ValidationError as error:
        raise _fail(error.message) from None
