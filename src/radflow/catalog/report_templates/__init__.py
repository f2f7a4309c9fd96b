"""Report templates per exam, shipped as data and keyed by the catalog's `report_template` keys.

Each YAML file of this package holds templates: the key, a title, the source the structure follows,
the RADS calculators the exam offers, and the default text of each report section. Section text may
name the order's facts in braces — `{protocol_name}`, `{contrast_phrase}`, `{side}`, `{reason_for_exam}` —
filled when a report is started. Everything is validated once at load: an unknown section, an
unknown placeholder, an unknown RADS system, a duplicate key or a template without its source is
refused with the file and the template named.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.rads import SYSTEMS
from radflow.domain.report import SECTIONS

#: Names a template's text may use; filled from the order when a report is started.
PLACEHOLDERS: Final = frozenset({"protocol_name", "contrast_phrase", "side", "reason_for_exam"})

CONTRAST_PHRASES: Final = {
    "without": "without intravenous contrast",
    "with": "with intravenous contrast",
    "without_and_with": "without and with intravenous contrast",
    "tracer": "",
    "": "",
}
SIDE_WORDS: Final = {"L": "left", "R": "right", "B": "bilateral", "": ""}


@dataclass(frozen=True)
class ReportTemplate:
    """The structure and default text of one kind of report."""

    key: str
    title: str
    source: str
    rads_systems: tuple[str, ...]
    sections: Mapping[str, str]

    def fill(self, facts: Mapping[str, str]) -> dict[str, str]:
        """Every section's starting text with the order's facts put in (blank facts leave no trace)."""
        values = {name: facts.get(name, "") for name in PLACEHOLDERS}
        filled = {}
        for name in SECTIONS:
            text = self.sections.get(name, "").format_map(values)
            # A blank fact ("{side} knee" without a side) must not leave doubled spaces or " ." behind.
            lines = [re.sub(r" {2,}", " ", re.sub(r"\(\s*\)", "", line)).replace(" .", ".").replace(" ,", ",")
                     .replace(" :", ":").strip() for line in text.splitlines()]
            filled[name] = "\n".join(lines).strip()
        return filled


@dataclass(frozen=True)
class ReportTemplates:
    """Every shipped template by key."""

    by_key: Mapping[str, ReportTemplate]

    def get(self, key: str) -> ReportTemplate:
        """The template with this key (NotFound names it)."""
        template = self.by_key.get(key)
        if template is None:
            raise NotFound(f"no report template '{key}'; known: {', '.join(sorted(self.by_key))}")
        return template


def _fail(where: str, message: str) -> ValidationError:
    return ValidationError(f"catalog/report_templates/{where}: {message}")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def parse_template(raw: object, where: str) -> ReportTemplate:
    """One template entry, validated."""
    if not isinstance(raw, dict):
        raise _fail(where, "a template must be a mapping")
    unknown = set(raw) - {"key", "title", "source", "rads", "sections"}
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    key, title, source = (str(raw.get(name) or "").strip() for name in ("key", "title", "source"))
    for name, value in (("key", key), ("title", title), ("source", source)):
        if not value:
            raise _fail(where, f"'{name}' is required")
    rads = tuple(str(system) for system in raw.get("rads") or ())
    for system in rads:
        if system not in SYSTEMS:
            raise _fail(f"{where} {key}", f"RADS system '{system}' is not one of {', '.join(SYSTEMS)}")
    sections = raw.get("sections") or {}
    if not isinstance(sections, dict):
        raise _fail(f"{where} {key}", "'sections' must be a mapping of section name to text")
    for name, text in sections.items():
        if name not in SECTIONS:
            raise _fail(f"{where} {key}", f"unknown section '{name}'; sections are {', '.join(SECTIONS)}")
        if not isinstance(text, str):
            raise _fail(f"{where} {key}", f"section '{name}' must be text")
        try:
            names = _placeholders(text)
        except ValueError as error:
            raise _fail(f"{where} {key}", f"section '{name}': {error}") from error
        if names - PLACEHOLDERS:
            raise _fail(f"{where} {key}", f"section '{name}' uses unknown placeholder(s) "
                        f"{', '.join(sorted(names - PLACEHOLDERS))}; known: {', '.join(sorted(PLACEHOLDERS))}")
    if not str(sections.get("findings", "")).strip():
        raise _fail(f"{where} {key}", "a template needs the findings section's structure")
    return ReportTemplate(key=key, title=title, source=source, rads_systems=rads,
                          sections={name: str(text).rstrip() for name, text in sections.items()})


def parse_templates(documents: Mapping[str, Any]) -> ReportTemplates:
    """Templates from several parsed YAML documents (file name -> content); a key may appear once."""
    by_key: dict[str, ReportTemplate] = {}
    for filename, document in sorted(documents.items()):
        entries = document.get("templates") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise _fail(filename, "expected a top-level 'templates' list")
        for index, raw in enumerate(entries):
            template = parse_template(raw, f"{filename}[{index}]")
            if template.key in by_key:
                raise _fail(filename, f"template '{template.key}' is defined twice")
            by_key[template.key] = template
    return ReportTemplates(by_key)


@cache
def load_templates() -> ReportTemplates:
    """Every shipped template, validated; read once per process (they never change at run time)."""
    documents: dict[str, Any] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".yaml"):
            try:
                documents[entry.name] = yaml.safe_load(entry.read_text(encoding="utf-8"))
            except yaml.YAMLError as error:
                raise _fail(entry.name, f"not valid YAML: {error}") from error
    return parse_templates(documents)


__all__ = ["CONTRAST_PHRASES", "SIDE_WORDS", "ReportTemplate", "ReportTemplates", "load_templates",
           "parse_templates"]
