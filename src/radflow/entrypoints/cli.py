"""`radflow ...`: serve, worker, db, demo, users, audit — and each area's own commands."""

from __future__ import annotations

import getpass
import importlib

import typer
from rich.console import Console

from radflow.config import Settings

app = typer.Typer(help="radflow: the imaging patient pipeline (RIS).", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail: link, verify.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
console = Console()

#: Sub-apps of other areas: (module, attribute, command name). Imported when the CLI is built.
AREA_APPS = (
    ("radflow.entrypoints.cli_schedule", "schedule_app", "schedule"),
    ("radflow.entrypoints.cli_screening", "screening_app", "screening"),
    ("radflow.entrypoints.cli_rads", "rads_app", "rads"),
    ("radflow.entrypoints.cli_hl7", "hl7_app", "hl7"),
    ("radflow.entrypoints.cli_exam_day", "exam_day_app", "exam-day"),
)


def _add_area_apps() -> None:
    for module_name, attribute, name in AREA_APPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if not missing.name or not module_name.startswith(missing.name):
                raise
            continue
        app.add_typer(getattr(module, attribute), name=name)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from radflow.adapters.db.engine import make_engine
    from radflow.adapters.db.migrate import upgrade

    settings = Settings()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    upgrade(engine, schema=settings.database_schema)
    console.print(f"database at newest schema: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    http: bool = typer.Option(True, help="Serve the web screens, REST API and FHIR."),
    mllp: bool = typer.Option(True, help="Listen for HL7 v2 over MLLP."),
    dicom: bool = typer.Option(True, help="Serve DICOM worklist, MPPS and echo."),
    http_workers: int = typer.Option(1, "--http-workers", min=1, help="HTTP worker processes."),
) -> None:
    """Run the HTTP, MLLP and DICOM listeners (each can be switched off)."""
    from radflow.entrypoints.server import run_server

    run_server(Settings(), http=http, mllp=mllp, dicom=dicom, http_workers=http_workers)


@app.command()
def worker(
    once: bool = typer.Option(False, help="Run what is due now, then exit."),
    name: str = typer.Option("", help="Worker name in leases (default: host:pid)."),
) -> None:
    """Run due jobs and deadlines; any number of workers may run against PostgreSQL."""
    from radflow.entrypoints.worker import run_worker

    run_worker(Settings(), once=once, name=name)


@app.command()
def demo() -> None:
    """Seed a demo center (safe to run again) and print the logins."""
    from radflow.entrypoints.demo import seed_demo

    seed_demo(Settings(), console)


@users_app.command("add")
def users_add(
    username: str,
    role: str = typer.Option(..., help="intake, authorization, scheduler, front_desk, technologist, radiologist, "
                                       "referring_provider, patient, manager, integration, admin"),
    display_name: str = typer.Option("", help="Name shown on screens."),
    npi: str = typer.Option("", help="NPI (referring providers, radiologists)."),
    password: str = typer.Option("", help="Password (prompted when not given)."),
    section_chief: bool = typer.Option(False, help="Radiologist who is a section chief."),
    lead_technologist: bool = typer.Option(False, help="Technologist who may protocol exams."),
) -> None:
    """Create a user account."""
    from radflow.bootstrap import bootstrap
    from radflow.domain.errors import RadflowError
    from radflow.domain.users import Principal, Role
    from radflow.services.accounts import CreateUser, create_user

    radflow = bootstrap(Settings())
    secret = password or getpass.getpass("password: ")
    try:
        user_id = create_user(CreateUser(actor=Principal.system("cli", role=Role.ADMIN), username=username,
                                         display_name=display_name, role=role, password=secret, npi=npi,
                                         is_section_chief=section_chief, is_lead_technologist=lead_technologist),
                              radflow.uow(), radflow.ctx, radflow.hasher)
    except RadflowError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    console.print(f"user {username} created ({user_id})")


@users_app.command("token")
def users_token(username: str, name: str = typer.Option("cli", help="What the token is for.")) -> None:
    """Print a new API bearer token for USERNAME (shown once)."""
    from radflow.bootstrap import bootstrap
    from radflow.domain.errors import RadflowError
    from radflow.domain.users import Principal, Role
    from radflow.services.accounts import issue_api_token

    radflow = bootstrap(Settings())
    try:
        token = issue_api_token(radflow.bus.uow_factory, radflow.ctx, Principal.system("cli", role=Role.ADMIN),
                                username, name)
    except RadflowError as error:
        console.print(f"[red]{error.message}[/red]", highlight=False)
        raise typer.Exit(2) from None
    print(token)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every audit record, the HMAC chain and the anchored head; non-zero exit on any break."""
    from radflow.adapters.db.audit_chain import verify
    from radflow.bootstrap import bootstrap

    radflow = bootstrap(Settings())
    report = verify(radflow.session_factory, radflow.ctx.audit_key, radflow.settings.audit_anchor_path)
    for problem in report.problems[:50]:
        console.print(f"[red]BROKEN[/red] at {problem.position}: {problem.problem}", highlight=False)
    head = f"seq {report.head.seq}" if report.head else "empty"
    summary = f"{report.checked} chained records, {report.unsequenced} not yet linked, head {head}"
    if not report.ok:
        console.print(f"[red]audit trail FAILED verification[/red]: {len(report.problems)} problem(s); {summary}")
        raise typer.Exit(1)
    console.print(f"audit trail verified: {summary}")


@audit_app.command("link")
def audit_link() -> None:
    """Link unsequenced audit records into the chain now and anchor the head (the worker does this too)."""
    from radflow.adapters.db.audit_chain import link_pending
    from radflow.bootstrap import bootstrap

    radflow = bootstrap(Settings())
    total = 0
    while linked := link_pending(radflow.engine, radflow.session_factory, radflow.ctx.audit_key,
                                 radflow.settings.audit_anchor_path):
        total += linked
    console.print(f"linked {total} record(s)")


def main() -> None:
    """Console entry point."""
    _add_area_apps()
    app(prog_name="radflow")


if __name__ == "__main__":
    main()
