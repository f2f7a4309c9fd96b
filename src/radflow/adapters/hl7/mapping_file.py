"""Loading the HL7 mapping file (YAML, or JSON, which YAML reads too) with every problem named by line.

The file is checked whole before anything is used: a mapping with any problem is refused and the
error lists each problem as `file:line: what is wrong`. The schema is docs/hl7-mapping.md.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML may be absent

from radflow.adapters.hl7.encoding import codec_for
from radflow.adapters.hl7.mapping import (
    ANY_FACILITY,
    DEFAULT_PATIENT_CLASSES,
    Destination,
    DiagnosisSource,
    InterfaceMapping,
    MrnRule,
    ProcedureMapping,
    ProviderMapping,
    SenderMapping,
    StatusMessage,
)
from radflow.adapters.hl7.parsing import SUPPORTED_VERSIONS
from radflow.domain.errors import ValidationError
from radflow.domain.order import Laterality, Track
from radflow.domain.payer_rules import CareSetting
from radflow.domain.protocols import ContrastPhase
from radflow.domain.values import is_valid_npi

SCHEMA_VERSION = "1"
# HL7 table 0027 (priority): S stat, A ASAP, R routine; used when a sender's mapping names none.
DEFAULT_PRIORITIES = {"S": Track.STAT, "A": Track.URGENT, "R": Track.ROUTINE}
_SENDER_KEYS = {
    "name", "sending_application", "sending_facility", "timezone", "mrn", "procedures", "priorities",
    "default_priority", "patient_classes", "default_setting", "providers", "diagnosis_sources",
    "placer_assigns_accession", "outbound", "application_ack_destination",
}  # fmt: skip
_DESTINATION_KEYS = {
    "host", "port", "receiving_application", "receiving_facility", "status_message", "version", "charset", "tls",
}  # fmt: skip
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class MappingError(ValidationError):
    """A mapping file refused whole; `problems` names each one with its line."""

    code = "hl7-mapping-invalid"

    def __init__(self, source: str, problems: list[str]) -> None:
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"HL7 mapping {source} refused ({count}):\n" + "\n".join(problems))
        self.problems = tuple(problems)


class _Reader:
    """Walks YAML nodes, converting values and collecting problems with their line numbers."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, node: yaml.Node, message: str) -> None:
        """Record a problem at the node's line."""
        self.problems.append(f"{self.source}:{node.start_mark.line + 1}: {message}")

    def mapping(self, node: yaml.Node, what: str, keys: set[str] | None = None) -> dict[str, yaml.Node]:
        """A mapping node's entries by key; unknown and repeated keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values")
            return {}
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, f"{what}: keys must be plain text")
            elif key in found:
                self.problem(key_node, f"{what}: key {key!r} appears twice")
            elif keys is not None and key not in keys:
                self.problem(key_node, f"{what}: unknown key {key!r} (expected one of {', '.join(sorted(keys))})")
            else:
                found[key] = value_node
        return found

    def text(self, node: yaml.Node, what: str) -> str | None:
        """A non-empty scalar as written (leading zeros kept), or None with a problem."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.problem(node, f"{what} must be a single value")
            return None
        value = str(node.value).strip()
        if not value:
            self.problem(node, f"{what} must not be empty")
            return None
        return value

    def choice[T](self, node: yaml.Node, what: str, convert: Callable[[str], T], allowed: Collection[str]) -> T | None:
        """A scalar converted by `convert`, or None with a problem naming what is allowed."""
        value = self.text(node, what)
        if value is None:
            return None
        try:
            return convert(value)
        except (ValueError, KeyError):
            expected = allowed if isinstance(allowed, str) else f"one of: {', '.join(allowed)}"
            self.problem(node, f"{what} {value!r} is not {expected}")
            return None

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        """true/false (yes/no, on/off), or None with a problem."""
        return self.choice(node, what, lambda v: _BOOLEANS[v.lower()], ("true", "false"))

    def required(self, fields: dict[str, yaml.Node], key: str, parent: yaml.Node, what: str) -> yaml.Node | None:
        """The node under `key`, or None with a problem saying it is required."""
        if key not in fields:
            self.problem(parent, f"{what}: {key!r} is required")
            return None
        return fields[key]


def load_mapping(
    text: str,
    *,
    source: str = "<mapping>",
    known_protocols: Collection[str] | None = None,
    default_timezone: str = "UTC",
) -> InterfaceMapping:
    """Parse and check a whole mapping; MappingError lists every problem with its line."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise MappingError(source, [f"{source}:{line}: not valid YAML/JSON: {exc.problem}"]) from exc
    if root is None:
        raise MappingError(source, [f"{source}:1: the file is empty"])
    top = reader.mapping(root, "the mapping file", {"version", "senders"})
    if "version" in top and reader.text(top["version"], "version") not in (SCHEMA_VERSION, None):
        reader.problem(top["version"], f"version must be {SCHEMA_VERSION}")
    senders: list[SenderMapping] = []
    senders_node = reader.required(top, "senders", root, "the mapping file")
    if senders_node is not None:
        if not isinstance(senders_node, yaml.SequenceNode) or not senders_node.value:
            reader.problem(senders_node, "senders must be a non-empty list")
        else:
            for node in senders_node.value:
                sender = _sender(reader, node, known_protocols, default_timezone)
                if sender is not None:
                    senders.append(sender)
    _refuse_duplicate_senders(reader, senders)
    if reader.problems:
        raise MappingError(source, reader.problems)
    return InterfaceMapping(tuple(senders), source)


def load_mapping_file(
    path: Path, *, known_protocols: Collection[str] | None = None, default_timezone: str = "UTC"
) -> InterfaceMapping:
    """Read and check a mapping file (the command `radflow hl7 mapping load FILE`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(str(path), [f"{path}: cannot be read: {exc}"]) from exc
    return load_mapping(text, source=str(path), known_protocols=known_protocols, default_timezone=default_timezone)


def _refuse_duplicate_senders(reader: _Reader, senders: list[SenderMapping]) -> None:
    seen: dict[tuple[str, str], SenderMapping] = {}
    for sender in senders:
        key = (sender.sending_application.casefold(), sender.sending_facility.casefold())
        if key in seen:
            reader.problems.append(
                f"{reader.source}:{sender.line}: sender {sender.sending_application}/{sender.sending_facility} "
                f"is already mapped at line {seen[key].line}"
            )
        seen[key] = sender


def _sender(
    reader: _Reader, node: yaml.Node, known_protocols: Collection[str] | None, default_timezone: str
) -> SenderMapping | None:
    """One entry of `senders`; None (with problems recorded) when it is not usable."""
    before = len(reader.problems)
    fields = reader.mapping(node, "a sender", _SENDER_KEYS)
    values: dict[str, Any] = {"line": node.start_mark.line + 1}
    for key in ("name", "sending_application"):
        found = reader.required(fields, key, node, "a sender")
        values[key] = reader.text(found, key) if found is not None else None
    facility = fields.get("sending_facility")
    values["sending_facility"] = reader.text(facility, "sending_facility") if facility else ANY_FACILITY
    values["timezone"] = _zone(reader, fields.get("timezone"), default_timezone)
    mrn_node = reader.required(fields, "mrn", node, "a sender")
    values["mrn"] = _mrn(reader, mrn_node) if mrn_node is not None else None
    # A sender that only sends patients or reports (a dictation system) maps no procedures.
    procedures_node = fields.get("procedures")
    values["procedures"] = _procedures(reader, procedures_node, known_protocols) if procedures_node else {}
    values["priorities"] = (
        _table(reader, fields["priorities"], "priorities", Track)
        if "priorities" in fields
        else dict(DEFAULT_PRIORITIES)
    )
    if "default_priority" in fields:
        values["default_priority"] = reader.choice(fields["default_priority"], "default_priority", Track, list(Track))
    if "patient_classes" in fields:
        classes = _table(reader, fields["patient_classes"], "patient_classes", CareSetting)
        values["patient_classes"] = {**DEFAULT_PATIENT_CLASSES, **classes}
    if "default_setting" in fields:
        values["default_setting"] = reader.choice(
            fields["default_setting"], "default_setting", CareSetting, list(CareSetting)
        )
    if "providers" in fields:
        values["providers"] = _providers(reader, fields["providers"])
    if "diagnosis_sources" in fields:
        values["diagnosis_sources"] = _diagnosis_sources(reader, fields["diagnosis_sources"])
    if "placer_assigns_accession" in fields:
        values["placer_assigns_accession"] = reader.boolean(
            fields["placer_assigns_accession"], "placer_assigns_accession"
        )
    for key in ("outbound", "application_ack_destination"):
        if key in fields:
            values[key] = _destination(reader, fields[key], key)
    if len(reader.problems) > before:
        return None
    return SenderMapping(**{k: v for k, v in values.items() if v is not None})


def _zone(reader: _Reader, node: yaml.Node | None, default: str) -> ZoneInfo | None:
    name = reader.text(node, "timezone") if node is not None else default
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if node is not None:
            reader.problem(node, f"timezone {name!r} is not an IANA time zone (e.g. America/New_York)")
        return None


def _mrn(reader: _Reader, node: yaml.Node) -> MrnRule | None:
    fields = reader.mapping(node, "mrn", {"assigning_authority", "identifier_type"})
    authority_node = reader.required(fields, "assigning_authority", node, "mrn")
    authority = reader.text(authority_node, "mrn.assigning_authority") if authority_node else None
    type_node = fields.get("identifier_type")
    identifier_type = reader.text(type_node, "mrn.identifier_type") if type_node else ""
    if authority is None or identifier_type is None:
        return None
    return MrnRule(authority, identifier_type)


def _procedures(
    reader: _Reader, node: yaml.Node, known_protocols: Collection[str] | None
) -> dict[str, ProcedureMapping]:
    table: dict[str, ProcedureMapping] = {}
    entries = reader.mapping(node, "procedures")
    if not entries and isinstance(node, yaml.MappingNode):
        reader.problem(node, "procedures must map at least one local code")
    for code, entry in entries.items():
        where = f"procedure {code!r}"
        if isinstance(entry, yaml.ScalarNode):
            protocol, contrast, laterality = reader.text(entry, where), None, None
        else:
            fields = reader.mapping(entry, where, {"protocol", "contrast", "laterality"})
            protocol_node = reader.required(fields, "protocol", entry, where)
            protocol = reader.text(protocol_node, f"{where} protocol") if protocol_node else None
            contrast = (
                reader.choice(fields["contrast"], f"{where} contrast", ContrastPhase, list(ContrastPhase))
                if "contrast" in fields
                else None
            )
            laterality = (
                reader.choice(fields["laterality"], f"{where} laterality", Laterality, list(Laterality))
                if "laterality" in fields
                else None
            )
        if protocol is not None and known_protocols is not None and protocol not in known_protocols:
            reader.problem(entry, f"{where}: protocol {protocol!r} is not in the catalog")
        if protocol is not None:
            table[code] = ProcedureMapping(protocol, contrast, laterality)
    return table


def _table[T](reader: _Reader, node: yaml.Node, what: str, kind: Callable[[str], T]) -> dict[str, T]:
    allowed = [str(v) for v in cast(Any, kind)]
    table: dict[str, T] = {}
    for code, value in reader.mapping(node, what).items():
        converted = reader.choice(value, f"{what} {code!r}", kind, allowed)
        if converted is not None:
            table[code.upper()] = converted
    return table


def _providers(reader: _Reader, node: yaml.Node) -> dict[str, ProviderMapping]:
    table: dict[str, ProviderMapping] = {}
    for local_id, entry in reader.mapping(node, "providers").items():
        where = f"provider {local_id!r}"
        fields = reader.mapping(entry, where, {"npi", "name"})
        npi_node = reader.required(fields, "npi", entry, where)
        npi = reader.text(npi_node, f"{where} npi") if npi_node else None
        if npi is not None and npi_node is not None and not is_valid_npi(npi):
            reader.problem(npi_node, f"{where}: NPI {npi!r} is not ten digits with a valid check digit")
            continue
        name = reader.text(fields["name"], f"{where} name") if "name" in fields else ""
        if npi is not None and name is not None:
            table[local_id] = ProviderMapping(npi, name)
    return table


def _diagnosis_sources(reader: _Reader, node: yaml.Node) -> tuple[DiagnosisSource, ...] | None:
    if not isinstance(node, yaml.SequenceNode):
        reader.problem(node, "diagnosis_sources must be a list (DG1, OBR-31)")
        return None
    sources: list[DiagnosisSource] = []
    for item in node.value:
        value = reader.text(item, "diagnosis source")
        if value in ("DG1", "OBR-31"):
            sources.append(cast(DiagnosisSource, value))
        elif value is not None:
            reader.problem(item, f"diagnosis source {value!r} is not DG1 or OBR-31")
    return tuple(sources)


def _destination(reader: _Reader, node: yaml.Node, what: str) -> Destination | None:
    before = len(reader.problems)
    fields = reader.mapping(node, what, _DESTINATION_KEYS)
    host_node = reader.required(fields, "host", node, what)
    port_node = reader.required(fields, "port", node, what)
    host = reader.text(host_node, f"{what}.host") if host_node else None
    port = reader.choice(port_node, f"{what}.port", _port, "a port number from 1 to 65535") if port_node else None
    values: dict[str, Any] = {"host": host, "port": port}
    for key in ("receiving_application", "receiving_facility"):
        if key in fields:
            values[key] = reader.text(fields[key], f"{what}.{key}")
    if "status_message" in fields:
        values["status_message"] = reader.choice(
            fields["status_message"], f"{what}.status_message", _status_message, ("ORM", "OMI")
        )
    if "version" in fields:
        values["version"] = reader.choice(fields["version"], f"{what}.version", _version, SUPPORTED_VERSIONS)
    if "charset" in fields:
        values["charset"] = reader.choice(
            fields["charset"], f"{what}.charset", _charset, ("ASCII", "8859/1", "UNICODE UTF-8")
        )
    if "tls" in fields:
        values["tls"] = reader.boolean(fields["tls"], f"{what}.tls")
    if values.get("status_message") == "OMI" and values.get("version", "2.5.1") in ("2.3", "2.3.1", "2.4"):
        # OMI^O23 and its IPC segment first appear in HL7 2.5.
        reader.problem(fields["status_message"], f"{what}: OMI status messages need version 2.5 or 2.5.1")
    if len(reader.problems) > before:
        return None
    return Destination(**{k: v for k, v in values.items() if v is not None})


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError(value)
    return port


def _status_message(value: str) -> StatusMessage:
    if value.upper() not in ("ORM", "OMI"):
        raise ValueError(value)
    return cast(StatusMessage, value.upper())


def _version(value: str) -> str:
    if value not in SUPPORTED_VERSIONS:
        raise ValueError(value)
    return value


def _charset(value: str) -> str:
    if codec_for(value) is None or value.strip() == "":
        raise ValueError(value)
    return value
