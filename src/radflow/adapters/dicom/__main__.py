"""Serve a worklist from a JSON file, without a database: for benchmarks and scanner trials.

    python -m radflow.adapters.dicom --items items.json [--port 11112] [--aet RADFLOW]
        [--zone America/New_York] [--max-associations 10]

Items are in the MWL benchmark kit's keyword JSON (`gen_items.py --json`). MPPS is
accepted and kept in memory, every step going to the exception queue (no orders here).
Stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from radflow.adapters.clock import SystemClock
from radflow.adapters.dicom.mpps import MppsReceiver
from radflow.adapters.dicom.performed_step import InMemoryMppsStore, RecordingStepSink
from radflow.adapters.dicom.server import DicomServer, DicomServerConfig
from radflow.adapters.dicom.worklist import InMemoryWorklistSource
from radflow.adapters.dicom.worklist_json import load_keyword_json


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m radflow.adapters.dicom", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, required=True, help="worklist items, keyword JSON list")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11112)
    parser.add_argument("--aet", default="RADFLOW")
    parser.add_argument("--zone", default="America/New_York", help="the site's timezone (DA/TM are local)")
    parser.add_argument("--max-associations", type=int, default=10)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    zone = ZoneInfo(args.zone)
    worklist = InMemoryWorklistSource(load_keyword_json(args.items, zone))
    config = DicomServerConfig(
        ae_title=args.aet, host=args.host, port=args.port, zone=zone, max_associations=args.max_associations
    )
    mpps = MppsReceiver(InMemoryMppsStore(), RecordingStepSink(), SystemClock(), zone)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with DicomServer(config, worklist, mpps=mpps) as server:
        print(f"serving {len(worklist)} worklist items as {args.aet} on {args.host}:{server.port}", flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
