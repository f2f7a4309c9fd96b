"""`radflow exam-day ...`: the rooms' DICOM stations and the modality worklist.

    radflow exam-day stations                          every room's station AE title and worklist rule
    radflow exam-day station SCANNER AE [--on check_in] [--name N] [--location L]
    radflow exam-day worklist import ITEMS.json        replace the worklist with items in keyword JSON
    radflow exam-day worklist show [--station AE] [--day YYYY-MM-DD]

`worklist import` reads the MWL benchmark kit's keyword JSON (`gen_items.py --json`) one item at a time
(a million items stream), in one transaction (COPY on PostgreSQL); it is how the benchmark loads radflow
(`MWL_LOAD_CMD`) and how a center moves its open worklist from another RIS. Items loaded this way
belong to no order and are replaced by the next import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from radflow.config import Settings
from radflow.domain.errors import RadflowError
from radflow.domain.users import Principal, Role

exam_day_app = typer.Typer(name="exam-day", help="The day of the exam: rooms' DICOM stations and the worklist.",
                           no_args_is_help=True)
worklist_app = typer.Typer(help="The modality worklist.", no_args_is_help=True)
exam_day_app.add_typer(worklist_app, name="worklist")
console = Console()
ADMIN = Principal.system("cli", role=Role.ADMIN, source="cli")


def iter_json_list(path: Path, chunk_size: int = 1 << 20) -> Iterator[Any]:
    """The elements of a JSON list file, decoded one at a time (the file is never held whole)."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8") as handle:
        buffer = handle.read(chunk_size).lstrip()
        if not buffer.startswith("["):
            raise typer.BadParameter(f"{path}: expected a JSON list of worklist items")
        buffer = buffer[1:]
        while True:
            buffer = buffer.lstrip().removeprefix(",").lstrip()
            if buffer.startswith("]"):
                return
            try:
                element, end = decoder.raw_decode(buffer)
            except json.JSONDecodeError:
                more = handle.read(chunk_size)
                if not more:
                    raise typer.BadParameter(f"{path}: the JSON list ends early") from None
                buffer += more
                continue
            yield element
            buffer = buffer[end:]
            if len(buffer) < chunk_size // 4:
                buffer += handle.read(chunk_size)


def _wired() -> Any:
    from radflow.bootstrap import bootstrap

    return bootstrap(Settings())


@worklist_app.command("import")
def worklist_import(
        items: Annotated[Path, typer.Argument(help="Items in keyword JSON (gen_items.py --json).")]) -> None:
    """Replace the modality worklist with ITEMS (a JSON list); prints how many it now holds."""
    from radflow.services.exam_day.room import ImportWorklist

    radflow = _wired()
    try:
        count = radflow.bus.handle(ImportWorklist(actor=ADMIN, items=iter_json_list(items)))
    except RadflowError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"worklist holds {count} items")


@worklist_app.command("show")
def worklist_show(station: Annotated[str, typer.Option(help="Station AE title (all when empty).")] = "",
                  day: Annotated[str, typer.Option(help="YYYY-MM-DD (today when empty).")] = "") -> None:
    """A room's worklist for a day, as the scanner sees it."""
    from radflow.services.exam_day.room import RoomDay

    radflow = _wired()
    when = date.fromisoformat(day) if day else radflow.ctx.clock.now().astimezone(radflow.settings.zone).date()
    view = radflow.bus.handle(RoomDay(actor=ADMIN, day=when, station_ae_title=station))
    table = Table("start", "station", "accession", "patient", "status")
    for item in view.items:
        table.add_row(item.row.start.astimezone(radflow.settings.zone).strftime("%H:%M"), item.row.station_ae_title,
                      item.row.accession_number, item.row.patient_name, item.row.step_status)
    console.print(table)


@exam_day_app.command("stations")
def stations_list() -> None:
    """Every room's station AE title and when its exams appear on its worklist."""
    from radflow.services.exam_day.room import ListStations

    table = Table("scanner", "station AE title", "worklist on", "name", "location")
    for station in _wired().bus.handle(ListStations(actor=ADMIN)):
        table.add_row(station.scanner_id, station.station_ae_title, station.worklist_on, station.station_name,
                      station.location)
    console.print(table)


@exam_day_app.command("station")
def station_set(scanner: str, ae_title: str,
                on: Annotated[str, typer.Option("--on", help="scheduled or check_in")] = "scheduled",
                name: Annotated[str, typer.Option(help="Scheduled Station Name")] = "",
                location: Annotated[str, typer.Option(help="Scheduled Procedure Step Location")] = "") -> None:
    """Set SCANNER's station AE title and worklist rule."""
    from radflow.services.exam_day.room import SaveStation

    try:
        _wired().bus.handle(SaveStation(actor=ADMIN, scanner_id=scanner, station_ae_title=ae_title, worklist_on=on,
                                        station_name=name, location=location))
    except RadflowError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{scanner}: station {ae_title}, worklist on {on}")
