"""Managing capacity: sites, scanners and their calendars, closures, and the overbooking policy.

Every change is audited. Changing capacity never moves booked appointments: a closure over booked
time is refused with the appointments it would strand, so that they are moved first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from radflow.domain.capacity.calendar import local_day_bounds
from radflow.domain.capacity.model import Closure, ClosureKind, Scanner, Site
from radflow.domain.clock import ensure_utc
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.scheduling.capacity_document import read_scanner, read_site, scanner_document, site_document
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SaveSite:
    """Add or replace a site from its document (id, name, timezone, phone, address, supervision)."""

    actor: Principal
    document: dict[str, Any]


def save_site(cmd: SaveSite, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Validate and store a site."""
    guard(cmd.actor, Action.CAPACITY_MANAGE)
    site = read_site(cmd.document)
    with uow:
        capacity(uow).save_site(site)
        record_access(uow, ctx, cmd.actor, "capacity.site", object_type="site", object_id=site.id,
                      detail=str(site_document(site))[:900])
        uow.commit()
        return site.id


@dataclass(frozen=True)
class SaveScanner:
    """Add or replace a scanner from its document; the overbooking policy is kept as it was."""

    actor: Principal
    document: dict[str, Any]


def save_scanner(cmd: SaveScanner, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Validate and store a scanner (its site must exist)."""
    guard(cmd.actor, Action.CAPACITY_MANAGE)
    scanner = read_scanner(cmd.document)
    with uow:
        repo = capacity(uow)
        repo.site(scanner.site_id)
        existing = {s.id: s for s in repo.scanners()}.get(scanner.id)
        # Overbooking is changed only by its own audited command.
        scanner = replace(scanner, overbooking_lanes=existing.overbooking_lanes if existing else 0,
                          overbooking_reason=existing.overbooking_reason if existing else "")
        repo.save_scanner(scanner)
        record_access(uow, ctx, cmd.actor, "capacity.scanner", object_type="scanner", object_id=scanner.id,
                      detail=str(scanner_document(scanner))[:900])
        uow.commit()
        return scanner.id


@dataclass(frozen=True)
class SetOverbookingPolicy:
    """Allow `lanes` numbered overbooking lanes on a scanner (0 withdraws it), with the reason."""

    actor: Principal
    scanner_id: str
    lanes: int
    reason: str


def set_overbooking_policy(cmd: SetOverbookingPolicy, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Change a scanner's overbooking lanes; audited with the reason (issue 4: an explicit policy)."""
    guard(cmd.actor, Action.CAPACITY_MANAGE)
    if not 0 <= cmd.lanes <= 3:
        raise ValidationError("a scanner has 0 to 3 overbooking lanes", field="lanes")
    if cmd.lanes and not cmd.reason.strip():
        raise ValidationError("an overbooking policy states its reason (e.g. the no-show rate it answers)",
                              field="reason")
    with uow:
        repo = capacity(uow)
        scanner = repo.scanner(cmd.scanner_id)
        if cmd.lanes < scanner.overbooking_lanes:
            _refuse_stranding_lanes(uow, ctx, scanner, cmd.lanes)
        repo.save_scanner(replace(scanner, overbooking_lanes=cmd.lanes, overbooking_reason=cmd.reason.strip()))
        record_access(uow, ctx, cmd.actor, "capacity.overbooking_policy", object_type="scanner",
                      object_id=scanner.id,
                      detail=f"lanes {scanner.overbooking_lanes} -> {cmd.lanes}: {cmd.reason.strip()}")
        uow.commit()
        return scanner.id


def _refuse_stranding_lanes(uow: UnitOfWork, ctx: ServiceContext, scanner: Scanner, lanes: int) -> None:
    now = ctx.clock.now()
    future = appointments(uow).booked_on([scanner.id], now, now.replace(year=now.year + 2))
    stranded = [s for s in future if s.lane > lanes]
    if stranded:
        raise Conflict(f"{len(stranded)} booked appointment(s) use lanes above {lanes} on {scanner.name}: "
                       "move them first")


@dataclass(frozen=True)
class AddClosure:
    """Close a site for a holiday (a local date) or a scanner for maintenance/downtime (UTC start, end)."""

    actor: Principal
    kind: str
    reason: str
    site_id: str = ""
    scanner_id: str = ""
    day: date | None = None  # a holiday: the whole local day at the site
    start: datetime | None = None
    end: datetime | None = None


def _closure(cmd: AddClosure, site: Site | None) -> Closure:
    try:
        kind = ClosureKind(cmd.kind)
    except ValueError:
        raise ValidationError(f"closure kind '{cmd.kind}' is one of {', '.join(k.value for k in ClosureKind)}",
                              field="kind") from None
    if cmd.day is not None:
        if site is None:
            raise ValidationError("a closure for a whole day names its site", field="site_id")
        start, end = local_day_bounds(cmd.day, site.zone)
    elif cmd.start is not None and cmd.end is not None:
        start, end = ensure_utc(cmd.start), ensure_utc(cmd.end)
    else:
        raise ValidationError("give the local day, or the start and end of the closure", field="day")
    return Closure(id=new_id(), kind=kind, start=start, end=end, site_id=cmd.site_id, scanner_id=cmd.scanner_id,
                   reason=cmd.reason.strip())


def add_closure(cmd: AddClosure, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record a closure, refused when booked appointments would be stranded by it."""
    guard(cmd.actor, Action.CAPACITY_MANAGE)
    if not cmd.reason.strip():
        raise ValidationError("a closure states its reason", field="reason")
    with uow:
        repo = capacity(uow)
        site = repo.site(cmd.site_id) if cmd.site_id else None
        scanner = repo.scanner(cmd.scanner_id) if cmd.scanner_id else None
        closure = _closure(cmd, site)
        if closure.blocks_scanning:
            affected = [s.id for s in repo.scanners() if (scanner is not None and s.id == scanner.id)
                        or (site is not None and scanner is None and s.site_id == site.id)]
            booked = appointments(uow).booked_on(affected, closure.start, closure.end)
            if booked:
                raise Conflict(f"{len(booked)} booked appointment(s) fall in this closure; move them first "
                               f"(first: {booked[0].scanner_id} {booked[0].start.isoformat()})")
        repo.add_closure(closure, by=cmd.actor.user_id, at=ctx.clock.now())
        record_access(uow, ctx, cmd.actor, "capacity.closure", object_type="closure", object_id=closure.id,
                      detail=f"{closure.kind.value} {closure.site_id or closure.scanner_id} "
                             f"{closure.start.isoformat()}–{closure.end.isoformat()}: {closure.reason}")
        uow.commit()
        return closure.id


@dataclass(frozen=True)
class RemoveClosure:
    """Withdraw a closure (the capacity comes back)."""

    actor: Principal
    closure_id: str


def remove_closure(cmd: RemoveClosure, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Delete a closure; audited."""
    guard(cmd.actor, Action.CAPACITY_MANAGE)
    with uow:
        closure = capacity(uow).remove_closure(cmd.closure_id)
        record_access(uow, ctx, cmd.actor, "capacity.closure_removed", object_type="closure", object_id=closure.id,
                      detail=f"{closure.kind.value} {closure.start.isoformat()}: {closure.reason}")
        uow.commit()
        return closure.id


@dataclass(frozen=True)
class GetCapacity:
    """Sites, scanners and the closures touching a window."""

    actor: Principal
    start: datetime
    end: datetime


@dataclass(frozen=True)
class CapacityView:
    """The capacity model as stored."""

    sites: tuple[Site, ...]
    scanners: tuple[Scanner, ...]
    closures: tuple[Closure, ...]


def get_capacity(cmd: GetCapacity, uow: UnitOfWork, ctx: ServiceContext) -> CapacityView:
    """Read the capacity model (no patient data; recorded all the same, as every API read is)."""
    guard(cmd.actor, Action.CAPACITY_READ)
    with uow:
        repo = capacity(uow)
        view = CapacityView(tuple(repo.sites()), tuple(repo.scanners()),
                            tuple(repo.closures_between(ensure_utc(cmd.start), ensure_utc(cmd.end))))
        record_access(uow, ctx, cmd.actor, "capacity.read", object_type="capacity",
                      detail=f"{len(view.sites)} sites, {len(view.scanners)} scanners")
        uow.commit()
        return view
