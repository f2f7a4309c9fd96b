"""`radflow hl7 ...`: the HL7 interface from the command line.

    radflow hl7 mapping load FILE          validate the whole file, then make it the mapping in use
    radflow hl7 mapping show               the mapping in use, sender by sender
    radflow hl7 messages search [...]      the message log (by MRN, accession, control id, status)
    radflow hl7 messages show ID           one message: raw text, ACK, history
    radflow hl7 messages reprocess ID      apply a refused or held message again
    radflow hl7 outbound list [--dead]     messages waiting to go out, or the dead letters
    radflow hl7 outbound resend JOB        send a dead message again (same MSH-10)

A refused mapping or request prints the reason on stderr and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.errors import RadflowError
from radflow.domain.hl7_message import MessageStatus, ReferenceKind
from radflow.domain.jobs import JobState
from radflow.domain.users import Principal, Role
from radflow.services.interfaces.mappings import LoadMapping, MappingLoaded, MappingView, ShowMapping
from radflow.services.interfaces.monitor import (
    GetMessage,
    ListOutbound,
    MessageDetail,
    MessagePage,
    OutboundRow,
    Reprocessed,
    ReprocessMessage,
    ResendOutbound,
    SearchMessages,
)
from radflow.services.interfaces.store import MessageSearch

hl7_app = typer.Typer(help="The HL7 v2 interface: sender mapping, message log, outbound queue.",
                      no_args_is_help=True)
mapping_app = typer.Typer(help="The per-sender mapping (docs/hl7-mapping.md).", no_args_is_help=True)
messages_app = typer.Typer(help="Received messages: search, show, reprocess.", no_args_is_help=True)
outbound_app = typer.Typer(help="Messages radflow sends: the queue and the dead letters.", no_args_is_help=True)
hl7_app.add_typer(mapping_app, name="mapping")
hl7_app.add_typer(messages_app, name="messages")
hl7_app.add_typer(outbound_app, name="outbound")

EXIT_REFUSED = 2
console = Console()
CLI = Principal.system("cli", role=Role.ADMIN, source="cli")


def _wired() -> Radflow:
    return bootstrap(Settings())


def _refused(error: RadflowError) -> typer.Exit:
    typer.echo(error.message, err=True)
    return typer.Exit(code=EXIT_REFUSED)


@mapping_app.command("load")
def mapping_load(file: Path) -> None:
    """Check FILE whole (every problem is named with its line) and make it the mapping in use."""
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as unreadable:
        typer.echo(f"{file}: cannot be read: {unreadable}", err=True)
        raise typer.Exit(code=EXIT_REFUSED) from None
    try:
        loaded: MappingLoaded = _wired().bus.handle(LoadMapping(actor=CLI, content=content, source=str(file)))
    except RadflowError as error:
        raise _refused(error) from None
    console.print(f"HL7 mapping version {loaded.version} in use, {len(loaded.senders)} sender(s):", highlight=False)
    for sender in loaded.senders:
        console.print(f"  {sender}", highlight=False)


@mapping_app.command("show")
def mapping_show() -> None:
    """Print the mapping in use: each sender, its MRN rule, procedures and destinations."""
    view: MappingView = _wired().bus.handle(ShowMapping(actor=CLI))
    if view.current is None or view.parsed is None:
        console.print("no HL7 mapping loaded yet: every sender is refused (radflow hl7 mapping load FILE)")
        return
    console.print(f"version {view.current.id}, loaded {view.current.loaded_at:%Y-%m-%d %H:%M} UTC by "
                  f"{view.current.loaded_by} from {view.current.source or 'an upload'}", highlight=False)
    table = Table("sender", "MSH-3 / MSH-4", "MRN", "procedures", "status to", "application ACKs to")
    for s in view.parsed.senders:
        mrn = s.mrn.assigning_authority + (f" ({s.mrn.identifier_type})" if s.mrn.identifier_type else "")
        out = s.outbound
        ack = s.application_ack_destination
        table.add_row(s.name, f"{s.sending_application} / {s.sending_facility}", mrn, str(len(s.procedures)),
                      f"{out.host}:{out.port} {out.status_message} {out.version}" if out else "-",
                      f"{ack.host}:{ack.port}" if ack else "-")
    console.print(table)


@messages_app.command("search")
def messages_search(
    mrn: Annotated[str, typer.Option(help="Patient MRN (as the sender sent it).")] = "",
    accession: Annotated[str, typer.Option(help="Accession number.")] = "",
    control_id: Annotated[str, typer.Option("--control-id", help="MSH-10.")] = "",
    status: Annotated[str, typer.Option(help="received, applied, rejected, held_for_review, dismissed.")] = "",
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List received messages, newest first."""
    try:
        reference_kind, reference = (ReferenceKind.MRN, mrn) if mrn else (ReferenceKind.ACCESSION, accession)
        query = MessageSearch(status=MessageStatus(status) if status else None,
                              reference_kind=reference_kind if reference else None, reference=reference,
                              control_id=control_id, limit=limit)
        page: MessagePage = _wired().bus.handle(SearchMessages(actor=CLI, query=query))
    except ValueError:
        typer.echo(f"status {status!r} is not one of: {', '.join(s.value for s in MessageStatus)}", err=True)
        raise typer.Exit(code=EXIT_REFUSED) from None
    except RadflowError as error:
        raise _refused(error) from None
    table = Table("received (UTC)", "id", "sender", "type", "control id", "status", "ACK", "error")
    for row in page.rows:
        table.add_row(f"{row.received_at:%Y-%m-%d %H:%M:%S}", row.id, row.sender_name or row.sending_application,
                      row.message_type, row.control_id or "?", row.status.value, row.ack_code, row.error_text[:60])
    console.print(table)
    console.print(f"{page.total} message(s) matched", highlight=False)


@messages_app.command("show")
def messages_show(message_id: str) -> None:
    """Print one message: the raw text (segments on lines), its ACK and its history."""
    try:
        detail: MessageDetail = _wired().bus.handle(GetMessage(actor=CLI, message_id=message_id))
    except RadflowError as error:
        raise _refused(error) from None
    message = detail.message
    console.print(f"{message.message_type} {message.control_id} from {message.sending_application}/"
                  f"{message.sending_facility} ({message.peer}): {message.status.value}", highlight=False)
    if message.error_text:
        console.print(f"error {message.error_code} at {message.error_location}: {message.error_text}",
                      highlight=False)
    console.print(message.raw.decode("latin-1").replace("\r", "\n"), markup=False, highlight=False)
    console.print("ACK:\n" + message.ack.decode("latin-1").replace("\r", "\n"), markup=False, highlight=False)
    for entry in message.log:
        console.print(f"  {entry['at']} {entry['event']} {entry['from']} -> {entry['to']} by {entry['by']}",
                      markup=False, highlight=False)


@messages_app.command("reprocess")
def messages_reprocess(message_id: str) -> None:
    """Apply a refused or held message again with the mapping in use now."""
    try:
        result: Reprocessed = _wired().bus.handle(ReprocessMessage(actor=CLI, message_id=message_id))
    except RadflowError as error:
        raise _refused(error) from None
    if result.status is MessageStatus.APPLIED:
        console.print(f"message {message_id} applied")
        return
    typer.echo(f"message {message_id} refused again: {result.error}", err=True)
    raise typer.Exit(code=EXIT_REFUSED)


@outbound_app.command("list")
def outbound_list(dead: Annotated[bool, typer.Option(help="Only the dead letters.")] = False) -> None:
    """Messages waiting or being sent, and the dead letters (or only those)."""
    states = (JobState.DEAD,) if dead else (JobState.PENDING, JobState.RUNNING, JobState.DEAD)
    rows: list[OutboundRow] = _wired().bus.handle(ListOutbound(actor=CLI, states=states))
    table = Table("job", "destination", "what", "state", "attempts", "due (UTC)", "last error")
    for row in rows:
        table.add_row(row.job_id, row.destination, row.detail, row.state.value, f"{row.attempts}/{row.max_attempts}",
                      f"{row.due_at:%Y-%m-%d %H:%M:%S}", row.last_error[:60])
    console.print(table)


@outbound_app.command("resend")
def outbound_resend(job_id: str) -> None:
    """Put a dead outbound message back in its queue (the worker sends it, same MSH-10)."""
    try:
        state: JobState = _wired().bus.handle(ResendOutbound(actor=CLI, job_id=job_id))
    except RadflowError as error:
        raise _refused(error) from None
    console.print(f"job {job_id} is {state.value} again; the worker sends it next")
