"""`radflow schedule ...`: the batch scheduling optimizer on the benchmark format.

    radflow schedule solve INSTANCE.json -o PLAN.json [--time-limit SECONDS] [--policy optimize|greedy|first-available]

The time limit bounds the whole command, reading and writing included (measured from the start
of the process where the system tells it). Without `--time-limit` the budget follows the size of
the instance: 60 s up to 2,000 orders, then 24 s more per 1,000 orders, at most 300 s (the
acceptance budgets of issue 4); `optimize` stops sooner when its sweeps find nothing more.
An instance that cannot be read or breaks the format prints one message and exits with status 2;
a plan that cannot be written exits with status 1. No traceback either way.
"""

from __future__ import annotations

import json
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

schedule_app = typer.Typer(
    name="schedule",
    help="The batch scheduling optimizer (benchmark format: ../shared/bench/schedule/FORMAT.md).",
    no_args_is_help=True,
)


@schedule_app.callback()
def schedule() -> None:
    """Plans for the scheduling benchmark format."""


EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class PolicyChoice(StrEnum):
    """The policies a plan can be built with."""

    optimize = "optimize"
    greedy = "greedy"
    first_available = "first-available"


def default_time_limit(orders: int) -> float:
    """Seconds for an instance of `orders` orders: 60 up to 2,000, +24 per 1,000 more, at most 300."""
    return min(300.0, max(60.0, 60.0 + (orders - 2000) * 0.024))


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), or None where that cannot be told."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            return max(0.0, float(uptime.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _elapsed_since_start(command_began: float) -> float:
    """Seconds the command has used: from process start when this is the `radflow` program itself.

    Embedded elsewhere (a test runner, another program calling the Typer app) the process did not
    start for this command, so the count starts when the command did.
    """
    age = _process_age() if Path(sys.argv[0]).name == "radflow" else None
    return age if age is not None else time.monotonic() - command_began


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def _read_instance(path: Path) -> Any:
    def no_constants(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    try:
        with path.open(encoding="utf-8") as source:
            return json.load(source, parse_constant=no_constants)
    except FileNotFoundError:
        raise _fail(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(f"{path}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise _fail(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    except (ValueError, RecursionError) as error:
        raise _fail(f"{path}: not valid JSON ({error})") from None


@schedule_app.command("solve")
def solve(
    instance: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="a benchmark instance (FORMAT.md §2)")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="PLAN.json", help="where to write the plan")],
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", min=1.0, help="seconds for the whole command (default: by instance size)"),
    ] = None,
    policy: Annotated[PolicyChoice, typer.Option("--policy", help="how to build the plan")] = PolicyChoice.optimize,
) -> None:
    """Write a feasible plan for INSTANCE.json to PLAN.json and print its on-time score."""
    began = time.monotonic()
    from rich.console import Console

    from radflow.adapters.clock import SystemClock
    from radflow.domain.errors import RadflowError, ValidationError
    from radflow.scheduling.optimizer.benchmark_format import read_instance, write_plan
    from radflow.scheduling.optimizer.engine import Policy, solve_schedule

    document = _read_instance(instance)
    try:
        snapshot, calendar = read_instance(document)
    except ValidationError as error:
        raise _fail(f"{instance}: {error.message}") from None
    limit = time_limit if time_limit is not None else default_time_limit(len(snapshot.orders))
    # Keep back what writing the plan takes (about a second for 12,000 orders, with margin).
    budget = limit - _elapsed_since_start(began) - 1.0 - len(snapshot.orders) / 10_000
    console = Console(stderr=True)
    try:
        with console.status(f"{policy.value}: {len(snapshot.orders)} orders, {budget:.0f} s") as status:

            def progress(elapsed: float, message: str) -> None:
                status.update(f"{policy.value}: {message} after {elapsed:.0f} of {budget:.0f} s")

            plan = solve_schedule(
                snapshot, Policy(policy.value), clock=SystemClock(), seconds=budget, progress=progress
            )
    except RadflowError as error:
        raise _fail(error.message, EXIT_FAILED) from None
    meta = {"solver": "radflow", "policy": policy.value, "seconds": round(_elapsed_since_start(began), 1), **plan.notes}
    try:
        output.write_text(json.dumps(write_plan(plan, calendar, meta), separators=(",", ":")), encoding="utf-8")
    except OSError as error:
        raise _fail(f"{output}: cannot be written ({error})", EXIT_FAILED) from None
    typer.echo(
        f"{policy.value}: {len(plan.assignments)} of {len(snapshot.orders)} orders booked, "
        f"on-time score {plan.notes.get('on_time_score')}, plan written to {output}"
    )
