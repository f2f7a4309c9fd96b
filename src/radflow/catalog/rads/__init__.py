"""RADS tables as data (BI-RADS, Lung-RADS, TI-RADS, Fleischner, MQSA, critical results, follow-up language).

Each YAML file cites its source per rule; `load_rulebook()` reads and validates them once per process
(they are immutable), and `assess_json` is the pure entry used by `radflow rads assess` and
`POST /api/rads/assess`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.errors import ValidationError
from radflow.domain.rads.birads import parse_birads_table
from radflow.domain.rads.finding import RadsRulebook, assess_finding_json
from radflow.domain.rads.fleischner import parse_fleischner_table
from radflow.domain.rads.lungrads import parse_lungrads_table
from radflow.domain.rads.mqsa import MqsaTable, parse_mqsa_table
from radflow.domain.rads.tirads import parse_tirads_table


def read_catalog_document(name: str) -> object:
    """Parse one YAML file of this package; a syntax error names the file."""
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValidationError(f"catalog/rads/{name} is not valid YAML: {error}") from error


@cache
def load_rulebook() -> RadsRulebook:
    """Every RADS table, validated; loaded once per process (the tables never change at run time)."""
    return RadsRulebook(
        birads=parse_birads_table(read_catalog_document("birads.yaml")),
        lungrads=parse_lungrads_table(read_catalog_document("lungrads.yaml")),
        tirads=parse_tirads_table(read_catalog_document("tirads.yaml")),
        fleischner=parse_fleischner_table(read_catalog_document("fleischner.yaml")),
        mqsa=parse_mqsa_table(read_catalog_document("mqsa.yaml")),
    )


def load_mqsa() -> MqsaTable:
    """The MQSA wording and deadlines (for the patient-letter and deadline services)."""
    return load_rulebook().mqsa


def assess_json(obj: dict[str, Any]) -> dict[str, Any]:
    """A structured finding (docs/rads-finding.schema.json) -> category, management, modality, interval, rule."""
    return assess_finding_json(obj, load_rulebook())


__all__ = ["assess_json", "load_mqsa", "load_rulebook", "read_catalog_document"]
