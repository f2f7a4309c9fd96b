"""Run the three policies and the TI-LP bound on benchmark instances and print the comparison table.

    .venv/bin/python bench/schedule/generate.py bench/out/schedule          # the generated instances
    .venv/bin/python bench/schedule/run.py [INSTANCE.json ...] [--time-limit S] [--bound-limit S] [--markdown FILE]

Without instance arguments it runs the public instances (../shared/bench/schedule/public) and every
instance in bench/out/schedule. Each policy runs in this process with the time limit the CLI would
use (`--time-limit` overrides it); its plan is checked with validate.py from
../shared/bench/schedule (imported from there, never copied). The bound is the TI-LP of bound.py,
started from the columns of the optimized plan.

Columns: on-time score of optimize, greedy, first-available and the bound; optimize/bound and
greedy/bound in %; stat and urgent on-time rates (optimize vs greedy); mean visit days of
patients with several exams (optimize vs greedy); optimize's seconds; valid (all three plans).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bound import time_indexed_bound

from radflow.adapters.clock import SystemClock
from radflow.entrypoints.cli_schedule import default_time_limit
from radflow.scheduling.optimizer.benchmark_format import read_instance, write_plan
from radflow.scheduling.optimizer.engine import Policy, solve_schedule
from radflow.scheduling.optimizer.problem import SchedulingProblem
from radflow.scheduling.optimizer.schedule import Schedule

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "bench" / "schedule"
GENERATED = REPO / "bench" / "out" / "schedule"


def _validator() -> ModuleType:
    path = SHARED / "validate.py"
    if not path.is_file():
        raise SystemExit(f"the shared benchmark is missing: expected {path} beside the clone")
    spec = importlib.util.spec_from_file_location("shared_schedule_validate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_instance(
    path: Path, time_limit: float | None, bound_limit: float, plans_dir: Path | None = None
) -> dict[str, Any]:
    """Every figure of one table row."""
    validate = _validator()
    raw = json.loads(path.read_text(encoding="utf-8"))
    judged = validate.load_instance(raw)
    began = time.monotonic()
    snapshot, calendar = read_instance(raw)
    limit = time_limit if time_limit is not None else default_time_limit(len(snapshot.orders))
    row: dict[str, Any] = {
        "instance": judged.name,
        "orders": len(snapshot.orders),
        "scanners": len(snapshot.scanners),
        "sites": len({s.site for s in snapshot.scanners}),
        "days": snapshot.horizon_end // 1440,
        "limit": limit,
    }
    plans = {}
    for policy in (Policy.OPTIMIZE, Policy.GREEDY, Policy.FIRST_AVAILABLE):
        started = time.monotonic() if policy is not Policy.OPTIMIZE else began
        plan = solve_schedule(snapshot, policy, clock=SystemClock(), seconds=limit - (time.monotonic() - started) - 1)
        document = write_plan(plan, calendar)
        seconds = time.monotonic() - started
        report = validate.evaluate(judged, document)
        row[policy.value] = {"metrics": report["metrics"], "valid": report["valid"], "seconds": seconds}
        plans[policy] = plan
        if plans_dir is not None:
            plans_dir.mkdir(parents=True, exist_ok=True)
            (plans_dir / f"{judged.name}.{policy.value}.json").write_text(json.dumps(document))
    problem = SchedulingProblem(snapshot)
    bound = time_indexed_bound(problem, Schedule.from_plan(problem, plans[Policy.OPTIMIZE]), bound_limit)
    row["bound"] = bound.value
    row["bound_converged"] = bound.converged
    row["bound_seconds"] = bound.seconds
    return row


def _rate(metrics: dict[str, Any], priority: str) -> str:
    value = metrics["by_priority"][priority]["on_time_rate"]
    return "-" if value is None else f"{value:.3f}"


def format_row(row: dict[str, Any]) -> str:
    """One markdown table row."""
    opt, gre, fa = (row[p]["metrics"] for p in ("optimize", "greedy", "first-available"))
    bound = row["bound"]
    mark = "" if row["bound_converged"] else "*"
    valid = all(row[p]["valid"] for p in ("optimize", "greedy", "first-available"))
    visits = [m["multi_order_patients"]["mean_visit_days"] for m in (opt, gre)]
    return (
        f"| {row['instance']} | {row['orders']} | {row['scanners']}/{row['sites']}/{row['days']} "
        f"| {opt['on_time_score']} | {gre['on_time_score']} | {fa['on_time_score']} | {bound:.1f}{mark} "
        f"| {100 * opt['on_time_score'] / bound:.2f} | {100 * gre['on_time_score'] / bound:.2f} "
        f"| {_rate(opt, 'stat')} / {_rate(gre, 'stat')} | {_rate(opt, 'urgent')} / {_rate(gre, 'urgent')} "
        f"| {visits[0]} / {visits[1]} | {row['optimize']['seconds']:.1f} | {'yes' if valid else 'NO'} |"
    )


HEADER = (
    "| instance | orders | scanners/sites/days | optimize | greedy | first-available | TI-LP bound "
    "| optimize/bound % | greedy/bound % | stat on-time opt / greedy | urgent on-time opt / greedy "
    "| visit days opt / greedy | optimize s | valid |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str]) -> int:
    """Run the benchmark and print (and optionally write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="*", type=Path)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--bound-limit", type=float, default=900.0)
    parser.add_argument("--markdown", type=Path, default=None, help="append the table rows to this file")
    parser.add_argument("--json", type=Path, default=None, help="append every figure as JSON lines")
    parser.add_argument("--plans", type=Path, default=None, help="write each plan into this folder")
    args = parser.parse_args(argv)
    paths = args.instances or sorted((SHARED / "public").glob("*.json")) + sorted(GENERATED.glob("*.json"))
    print(HEADER, flush=True)
    for path in paths:
        row = run_instance(path, args.time_limit, args.bound_limit, args.plans)
        line = format_row(row)
        print(line, flush=True)
        if args.markdown is not None:
            with args.markdown.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        if args.json is not None:
            with args.json.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
