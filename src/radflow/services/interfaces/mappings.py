"""The HL7 sender mapping as a stored setting: load (validated whole), show, and the one in use.

A mapping file is checked against the catalog's protocols before it is stored; a bad one is refused
whole with every problem named by line (`adapters.hl7.mapping_file`). Stored in the database, the
newest version is the one every process uses (DESIGN §4): a process reads the current version's id
on each message and parses a version's text once (its content never changes).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from radflow.adapters.hl7.mapping import InterfaceMapping
from radflow.adapters.hl7.mapping_file import load_mapping
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.interfaces.store import StoredMapping, mappings
from radflow.services.unit_of_work import UnitOfWork

# Parsed versions by (id, digest). Immutable data keyed by an immutable version: safe to keep per
# process; bounded so that a long-running process does not keep every version it ever saw.
_PARSED: dict[tuple[int, str], InterfaceMapping] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_KEEP = 4


def known_protocols(ctx: ServiceContext) -> frozenset[str]:
    """The catalog's protocol codes, which a mapping's procedures must name."""
    catalog = ctx.catalog
    codes = getattr(catalog, "protocols", None)
    if isinstance(codes, Mapping):
        return frozenset(str(code) for code in codes)
    raise TypeError("the catalog lists no protocols")


def parse_stored(stored: StoredMapping) -> InterfaceMapping:
    """The parsed form of a stored version (parsed once per process)."""
    assert stored.id is not None
    key = (stored.id, stored.sha256)
    with _PARSED_LOCK:
        found = _PARSED.get(key)
    if found is not None:
        return found
    parsed = load_mapping(stored.content, source=stored.source or f"mapping version {stored.id}",
                          default_timezone=stored.default_timezone)
    with _PARSED_LOCK:
        _PARSED[key] = parsed
        while len(_PARSED) > _PARSED_KEEP:
            _PARSED.pop(next(iter(_PARSED)))
    return parsed


_IN_THIS_TRANSACTION = "hl7.mapping"


def current_mapping(uow: UnitOfWork) -> InterfaceMapping | None:
    """The mapping in use now (None until one is loaded); call inside an open unit of work.

    Read once per transaction (a message and the status messages its changes queue see one version).
    """
    if _IN_THIS_TRANSACTION in uow.extras:
        kept: InterfaceMapping | None = uow.extras[_IN_THIS_TRANSACTION]
        return kept
    store = mappings(uow)
    current = store.current_version()
    found: InterfaceMapping | None = None
    if current is not None:
        with _PARSED_LOCK:
            found = _PARSED.get(current)
        if found is None:
            found = parse_stored(store.get(current[0]))
    uow.extras[_IN_THIS_TRANSACTION] = found
    return found


@dataclass(frozen=True)
class LoadMapping:
    """Replace the HL7 mapping with a new file's content (refused whole when anything is wrong)."""

    actor: Principal
    content: str
    source: str = ""


@dataclass(frozen=True)
class MappingLoaded:
    """Result: the new version and what it maps."""

    version: int
    senders: tuple[str, ...]


def load_mapping_version(cmd: LoadMapping, uow: UnitOfWork, ctx: ServiceContext) -> MappingLoaded:
    """Validate the whole file against the catalog, then store it as the version in use."""
    guard(cmd.actor, Action.HL7_MAPPING_MANAGE)
    parsed = load_mapping(cmd.content, source=cmd.source or "<mapping>", known_protocols=known_protocols(ctx),
                          default_timezone=ctx.settings.timezone)
    with uow:
        store = mappings(uow)
        store.add(StoredMapping(id=None, loaded_at=ctx.clock.now(), loaded_by=cmd.actor.username,
                                source=cmd.source, content=cmd.content,
                                sha256=hashlib.sha256(cmd.content.encode()).hexdigest(),
                                default_timezone=ctx.settings.timezone))
        current = store.current_version()
        assert current is not None
        version = current[0]
        names = tuple(f"{s.name} ({s.sending_application}/{s.sending_facility})" for s in parsed.senders)
        record_access(uow, ctx, cmd.actor, "hl7.mapping.load", object_type="hl7-mapping", object_id=str(version),
                      detail=f"{cmd.source}: {len(names)} sender(s)")
        uow.commit()
        return MappingLoaded(version=version, senders=names)


@dataclass(frozen=True)
class ShowMapping:
    """The mapping in use and the earlier versions (for the settings screen and `hl7 mapping show`)."""

    actor: Principal
    history: int = 10


@dataclass(frozen=True)
class MappingView:
    """The current version (parsed and as written) and the versions before it."""

    current: StoredMapping | None
    parsed: InterfaceMapping | None
    versions: tuple[StoredMapping, ...]


def show_mapping(cmd: ShowMapping, uow: UnitOfWork, ctx: ServiceContext) -> MappingView:
    """Read the mapping versions (no patient data; the read is audited like any setting)."""
    guard(cmd.actor, Action.HL7_MONITOR)
    with uow:
        versions = mappings(uow).history(max(1, cmd.history))
        current = versions[0] if versions else None
        record_access(uow, ctx, cmd.actor, "hl7.mapping.read", object_type="hl7-mapping",
                      object_id=str(current.id) if current else "")
        uow.commit()
    return MappingView(current=current, parsed=parse_stored(current) if current else None,
                       versions=tuple(versions))
