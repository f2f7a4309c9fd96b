"""Sites and scanners as plain documents (JSON columns, the REST API, a center's YAML), both ways.

Weekly periods are written `{"day": "mon", "from": "07:00", "to": "19:00"}` in the site's local
wall-clock time; a wrong entry is refused with the scanner, the field and what is expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from radflow.domain.capacity.model import (
    ReservedBlock,
    Scanner,
    Shift,
    Site,
    SupervisionWindow,
    Weekday,
    WeeklyPeriod,
    format_clock,
    parse_clock,
)
from radflow.domain.errors import ValidationError
from radflow.domain.protocols import Modality


def _period_fields(entry: Mapping[str, Any], where: str) -> tuple[Weekday, int, int]:
    if not isinstance(entry, Mapping):
        raise ValidationError(f"{where}: each period is {{day, from, to}}", field=where)
    try:
        return (Weekday.parse(str(entry["day"])), parse_clock(str(entry["from"]), field_name=f"{where}.from"),
                parse_clock(str(entry["to"]), field_name=f"{where}.to"))
    except KeyError as missing:
        raise ValidationError(f"{where}: a period needs 'day', 'from' and 'to' (missing {missing})",
                              field=where) from None


def period_document(period: WeeklyPeriod) -> dict[str, Any]:
    """A weekly period (or shift, window, block) as a document."""
    out: dict[str, Any] = {"day": period.weekday.name.lower(), "from": format_clock(period.start),
                           "to": format_clock(period.end)}
    if isinstance(period, Shift) and period.technologist:
        out["technologist"] = period.technologist
    if isinstance(period, SupervisionWindow) and period.radiologist:
        out["radiologist"] = period.radiologist
    if isinstance(period, ReservedBlock):
        out.update(purpose=period.purpose, tracks=sorted(period.tracks), protocols=sorted(period.protocols),
                   release_hours_before=period.release_hours_before)
    return out


def read_periods(entries: Sequence[Mapping[str, Any]] | None, where: str) -> tuple[WeeklyPeriod, ...]:
    """Opening hours from documents."""
    return tuple(WeeklyPeriod(*_period_fields(e, where)) for e in entries or ())


def read_shifts(entries: Sequence[Mapping[str, Any]] | None, where: str) -> tuple[Shift, ...]:
    """Technologist shifts from documents."""
    return tuple(Shift(*_period_fields(e, where), technologist=str(e.get("technologist", ""))) for e in entries or ())


def read_supervision(entries: Sequence[Mapping[str, Any]] | None, where: str) -> tuple[SupervisionWindow, ...]:
    """Supervision windows from documents."""
    return tuple(SupervisionWindow(*_period_fields(e, where), radiologist=str(e.get("radiologist", "")))
                 for e in entries or ())


def read_reserved(entries: Sequence[Mapping[str, Any]] | None, where: str) -> tuple[ReservedBlock, ...]:
    """Slot-template blocks from documents."""
    blocks = []
    for entry in entries or ():
        release = entry.get("release_hours_before", 0)
        if not isinstance(release, int) or release < 0:
            raise ValidationError(f"{where}: release_hours_before is a whole number of hours ≥ 0", field=where)
        if not entry.get("purpose"):
            raise ValidationError(f"{where}: a reserved block names its purpose", field=where)
        blocks.append(ReservedBlock(*_period_fields(entry, where), purpose=str(entry["purpose"]),
                                    tracks=frozenset(entry.get("tracks") or ()),
                                    protocols=frozenset(entry.get("protocols") or ()), release_hours_before=release))
    return tuple(blocks)


def site_document(site: Site) -> dict[str, Any]:
    """A site as a document."""
    return {"id": site.id, "name": site.name, "timezone": site.timezone, "phone": site.phone,
            "address": site.address, "supervision": [period_document(w) for w in site.supervision]}


def read_site(document: Mapping[str, Any]) -> Site:
    """A site from a document."""
    site_id = str(document.get("id", ""))
    return Site(id=site_id, name=str(document.get("name", site_id)),
                timezone=str(document.get("timezone", "")), phone=str(document.get("phone", "")),
                address=str(document.get("address", "")),
                supervision=read_supervision(document.get("supervision"), f"site {site_id} supervision"))


def scanner_document(scanner: Scanner) -> dict[str, Any]:
    """A scanner as a document."""
    return {"id": scanner.id, "site_id": scanner.site_id, "name": scanner.name, "modality": scanner.modality.value,
            "capabilities": sorted(scanner.capabilities), "informative": sorted(scanner.informative),
            "table_limit_kg": scanner.table_limit_kg,
            "opening": [period_document(p) for p in scanner.opening],
            "shifts": [period_document(p) for p in scanner.shifts],
            "reserved": [period_document(p) for p in scanner.reserved],
            "overbooking_lanes": scanner.overbooking_lanes, "overbooking_reason": scanner.overbooking_reason,
            "active": scanner.active}


def read_scanner(document: Mapping[str, Any]) -> Scanner:
    """A scanner from a document; the message names the scanner and the field."""
    scanner_id = str(document.get("id", ""))
    try:
        modality = Modality(str(document.get("modality", "")))
    except ValueError:
        raise ValidationError(f"scanner {scanner_id}: modality must be a DICOM code "
                              f"({', '.join(m.value for m in Modality)})", field="modality") from None
    limit = document.get("table_limit_kg")
    return Scanner(
        id=scanner_id, site_id=str(document.get("site_id", "")), name=str(document.get("name", scanner_id)),
        modality=modality, capabilities=frozenset(document.get("capabilities") or ()),
        informative=frozenset(document.get("informative") or ()),
        table_limit_kg=int(limit) if limit is not None else None,
        opening=read_periods(document.get("opening"), f"scanner {scanner_id} opening"),
        shifts=read_shifts(document.get("shifts"), f"scanner {scanner_id} shifts"),
        reserved=read_reserved(document.get("reserved"), f"scanner {scanner_id} reserved"),
        overbooking_lanes=int(document.get("overbooking_lanes", 0)),
        overbooking_reason=str(document.get("overbooking_reason", "")),
        active=bool(document.get("active", True)),
    )
