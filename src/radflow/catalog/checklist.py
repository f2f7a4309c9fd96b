"""Loading the completeness checklist shipped as data."""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped, unused-ignore]

from radflow.domain.checklist import ChecklistRule, parse_rules

CHECKLIST_FILE = Path(__file__).parent / "checklist.yaml"


def load_checklist(path: Path | None = None) -> tuple[ChecklistRule, ...]:
    """Read and validate the checklist rules (refused whole on any error)."""
    source = path or CHECKLIST_FILE
    return parse_rules(yaml.safe_load(source.read_text()), origin=source.name)
