"""Run every benchmark in turn and rebuild bench/RESULTS.md (`make bench`; long: an hour or more).

    .venv/bin/python bench/run_all.py [--only fhir,slot_search,schedule,mwl,hl7,noshow,followup]

Each benchmark is its own script with its own docstring; this only runs them one after the other
(never in parallel: they would measure each other), keeps each one's output in bench/out/NAME.log and
gathers the sections of bench/results/ with collect_results.py.
A benchmark that fails is reported and the others still run; the exit status says whether all passed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PY = sys.executable

# name -> commands run in order; each prints its figures, kept in bench/out/NAME.log. The sections of
# bench/results/ are written from those logs by the scripts that have --write and by hand for the rest.
RUNS: dict[str, list[list[str]]] = {
    "fhir": [[PY, "bench/fhir_throughput.py", "--db", "postgres,sqlite", "--workers", "3", "--connections", "32",
              "--seconds", "20"]],
    "slot_search": [[PY, "bench/slot_search.py", "--searches", "300"]],
    "schedule": [[PY, "bench/schedule/generate.py", "bench/out/schedule"],
                 [PY, "bench/schedule/run.py", "--markdown", "bench/results/schedule.md"]],
    "mwl": [[PY, "bench/mwl_compare.py"]],
    "hl7": [[PY, "bench/hl7_ingest.py"]],
    "noshow": [[PY, "-m", "radflow.adapters.noshow_model", "evaluate"]],
    "followup": [[PY, "bench/followup_extraction.py", "--write"]],
}


def main() -> int:
    """Run the chosen benchmarks, then collect their sections."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated names")
    names = [n for n in parser.parse_args().only.split(",") if n]
    failed = []
    for name in names:
        for argv in RUNS[name]:
            started = time.monotonic()
            print(f"== {name}: {' '.join(argv[1:])}", flush=True)
            log = BENCH / "out" / f"{name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as sink:
                rc = subprocess.call(argv, cwd=BENCH.parent, stdout=sink, stderr=subprocess.STDOUT)
            print(f"== {name}: exit {rc} after {time.monotonic() - started:.0f} s", flush=True)
            if rc != 0:
                failed.append(name)
                break
    subprocess.call([PY, str(BENCH / "collect_results.py")])
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
