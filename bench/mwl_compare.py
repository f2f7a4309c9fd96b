"""Worklist C-FIND latency and throughput: radflow beside dcmtk's wlmscpfs and Orthanc, one run, same findscu.

Uses the MWL benchmark kit in ../shared/bench/mwl (items, expected answers, the findscu driver
`mwlbench.py`, the table). For each N it generates the kit's items (cached under --workdir in the
kit's layout), starts wlmscpfs and Orthanc's worklist plugin on the `.wl` files, loads the same items
into radflow through its own interface (`radflow exam-day worklist import`), and times three query
shapes with the kit's driver against all three servers:

  station   the kit's query: ScheduledStationAETitle=CT3, date 20260204, Modality CT (48 answers)
  modality  a modality's day: any station, date 20260204, Modality CT
  all       match-all: every item (only for N <= --all-max, as every answer is sent)

radflow runs as a real `radflow serve --no-http --no-mllp` process on --database-url, with the station
from the calling AE off (so that an empty station key means every station, as for the peers) and the
answer cap raised to the largest N. Its own log gives the server-side time of each query (handler
entry to the last pending response sent), reported beside findscu's. Results (JSON per run, the table as
text and Markdown) go to --workdir/results/<timestamp>/.

    .venv/bin/python bench/mwl_compare.py --sizes 1000 10000 100000
    .venv/bin/python bench/mwl_compare.py --sizes 1000000 --targets radflow --shapes station \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mwl1m
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT.parent / "shared" / "bench" / "mwl"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PORTS = {"wlmscpfs": 21112, "orthanc": 21113, "radflow": 21114}
AETS = {"wlmscpfs": "MWL", "orthanc": "ORTHANC", "radflow": "RADFLOW"}
SHAPES = {"station": ("CT3", "20260204", "CT"), "modality": ("", "20260204", "CT"), "all": ("", "", "")}
_SERVED = re.compile(r"worklist query from \S+: (\d+) item\(s\) sent in ([\d.]+) ms")


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generate(n: int, workdir: Path) -> Path:
    """The kit's items for N (.wl files, expected.json, items.json), cached."""
    folder = workdir / "data" / f"n{n}"
    stamp = f"count={n} " + subprocess.run([sys.executable, str(KIT / "gen_items.py"), "--count", str(n),
                                            "--fingerprint"], capture_output=True, text=True, check=True).stdout
    if not (folder / ".stamp").exists() or (folder / ".stamp").read_text() != stamp:
        log(f"generating {n} items in {folder}")
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "MWL").mkdir(parents=True)
        subprocess.run([sys.executable, str(KIT / "gen_items.py"), "--count", str(n), "--wl-dir", str(folder / "MWL"),
                        "--expected", str(folder / "expected.json"), "--json", str(folder / "items.json")], check=True)
        (folder / "MWL" / "lockfile").write_text("")
        (folder / ".stamp").write_text(stamp)
    return folder


def expected_for(shape: str, folder: Path) -> Path:
    """The kit's expected-answer file for a query shape (station's day is the kit's own)."""
    if shape == "station":
        return folder / "expected.json"
    target = folder / f"expected-{shape}.json"
    if target.exists():
        return target
    station, day, modality = SHAPES[shape]
    items = json.loads((folder / "items.json").read_text())
    matched = [i for i in items if (not day or i["ScheduledProcedureStepSequence"][0][
        "ScheduledProcedureStepStartDate"] == day) and (not modality or i["ScheduledProcedureStepSequence"][0][
            "Modality"] == modality)]
    target.write_text(json.dumps({
        "count": len(items), "query": {"ScheduledStationAETitle": station, "ScheduledProcedureStepStartDate": day,
                                       "Modality": modality},
        "expected_matches": len(matched), "accession_numbers": [i["AccessionNumber"] for i in matched],
        "items": matched}))
    return target


def orthanc_plugin() -> str:
    """libModalityWorklists.so from Debian's orthanc package."""
    listing = subprocess.run(["dpkg", "-L", "orthanc"], capture_output=True, text=True, check=True).stdout
    return next(line for line in listing.splitlines() if line.endswith("libModalityWorklists.so"))


def wait_echo(port: int, aet: str, seconds: float) -> None:
    """Until the server answers C-ECHO (echoscu)."""
    deadline = time.monotonic() + seconds
    while subprocess.run(["echoscu", "-to", "2", "-aec", aet, "127.0.0.1", str(port)],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"no C-ECHO from {aet} on {port} within {seconds:.0f} s")
        time.sleep(0.5)


@contextmanager
def server(name: str, folder: Path, run: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start one server in its own process group; stopped (TERM, then KILL) on exit."""
    logfile = (run / f"{name}-{folder.name}.log").open("w")
    if name == "wlmscpfs":
        command = ["wlmscpfs", "-dfp", str(folder), str(PORTS[name])]
    elif name == "orthanc":
        state = run / f"orthanc-{folder.name}"
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir()
        (state / "orthanc.json").write_text(json.dumps({
            "Name": "MWLBENCH", "StorageDirectory": str(state / "storage"), "IndexDirectory": str(state / "index"),
            "HttpServerEnabled": False, "RemoteAccessAllowed": False, "DicomServerEnabled": True,
            "DicomAet": "ORTHANC", "DicomPort": PORTS[name], "DicomCheckCalledAet": False,
            "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowFindWorklist": True, "DicomModalities": {},
            "Plugins": [orthanc_plugin()],
            "Worklists": {"Enable": True, "Database": str(folder / "MWL"), "FilterIssuerAet": False,
                          "LimitAnswers": 0}}))
        command = ["Orthanc", str(state / "orthanc.json")]
    else:
        command = [str(VENV_PYTHON), "-m", "radflow.entrypoints.cli", "serve", "--no-http", "--no-mllp"]
    process = subprocess.Popen(command, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**env, "TCP_NODELAY": "1"} if name != "radflow" else env)
    try:
        wait_echo(PORTS[name], AETS[name], 180)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        logfile.close()


def measure(name: str, n: int, shape: str, expected: Path, out: Path, args: argparse.Namespace,
            pid: int) -> dict[str, Any]:
    """One configuration with the kit's driver; the result JSON."""
    subprocess.run([sys.executable, str(KIT / "mwlbench.py"), "run", "--port", str(PORTS[name]), "--aec", AETS[name],
                    "--aet", "CT3", "--expected", str(expected), "--label", f"{name}/{shape}", "--n", str(n),
                    "--queries", str(args.queries), "--budget-s", str(args.budget), "--concurrency", "4",
                    "--min-queries", str(args.min_queries), "--conc-queries", str(args.queries),
                    "--conc-budget-s", str(args.budget / 2), "--conc-grace-s", str(args.grace),
                    "--server-pid", str(pid), "--out", str(out)], check=False)
    result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    return result


def served_times(logfile: Path, offset: int) -> list[float]:
    """Server-side milliseconds of the queries radflow logged after `offset`."""
    with logfile.open(encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        return [float(m.group(2)) for m in _SERVED.finditer(handle.read())]


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--targets", nargs="+", default=["wlmscpfs", "orthanc", "radflow"])
    parser.add_argument("--shapes", nargs="+", default=["station", "modality", "all"])
    parser.add_argument("--all-max", type=int, default=10000, help="largest N for the match-all shape")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--budget", type=float, default=40.0, help="seconds per sequential phase")
    parser.add_argument("--min-queries", type=int, default=5, help="sequential queries at least, whatever the budget")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds the concurrent phase's last queries get")
    parser.add_argument("--database-url", default="", help="radflow's database (default: SQLite in the workdir)")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "mwl-bench")
    parser.add_argument("--data", type=Path, help="a folder already holding items.json and expected.json for the one "
                                                 "size given (radflow only: no .wl files are needed)")
    args = parser.parse_args()
    # A `timeout` or Ctrl-C still stops the servers started here (their process groups).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = args.workdir / "results" / time.strftime("%Y%m%d-%H%M%S")
    run.mkdir(parents=True)
    env = {**os.environ, "RADFLOW_DATA_DIR": str(args.workdir / "radflow"), "RADFLOW_DICOM_PORT": str(PORTS["radflow"]),
           "RADFLOW_DICOM_STATION_FROM_CALLING_AE": "false",
           "RADFLOW_DICOM_MAX_WORKLIST_ANSWERS": str(max(args.sizes)), "RADFLOW_AUDIT_KEY": "bench-" + "0" * 40}
    if args.database_url:
        env["RADFLOW_DATABASE_URL"] = args.database_url
    subprocess.run([str(VENV_PYTHON), "-m", "radflow.entrypoints.cli", "db", "upgrade"], env=env, check=True)
    (run / "env.txt").write_text(subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout
                                 + f"nproc {os.cpu_count()}\nload {os.getloadavg()}\nargs {vars(args)}\n")
    results: list[Path] = []
    server_side: dict[str, list[float]] = {}
    for n in args.sizes:
        folder = args.data if args.data else generate(n, args.workdir)
        if "radflow" in args.targets:
            log(f"loading {n} items into radflow")
            started = time.monotonic()
            subprocess.run([str(VENV_PYTHON), "-m", "radflow.entrypoints.cli", "exam-day", "worklist", "import",
                            str(folder / "items.json")], env=env, check=True)
            log(f"  loaded in {time.monotonic() - started:.0f} s")
        for name in args.targets:
            with server(name, folder, run, env) as process:
                logfile = run / f"{name}-{folder.name}.log"
                for shape in args.shapes:
                    if shape == "all" and n > args.all_max:
                        continue
                    offset = logfile.stat().st_size
                    out = run / f"{name}-{shape}-n{n}.json"
                    measure(name, n, shape, expected_for(shape, folder), out, args, process.pid)
                    results.append(out)
                    if name == "radflow":
                        server_side[f"{shape} N={n}"] = served_times(logfile, offset)
    table = subprocess.run([sys.executable, str(KIT / "mwlbench.py"), "table", "--markdown",
                            *[str(p) for p in results if p.exists()]], capture_output=True, text=True).stdout
    lines = ["", "radflow server-side (C-FIND handler entry to last pending response sent), ms:", ""]
    for label, values in server_side.items():
        if values:
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            lines.append(f"- {label}: p50 {statistics.median(values):.1f}, p95 {p95:.1f}, queries {len(values)}")
    report = table + "\n".join(lines) + "\n"
    (run / "table.md").write_text(report)
    print(report)
    log(f"results in {run}")


if __name__ == "__main__":
    main()
