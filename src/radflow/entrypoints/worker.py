"""`radflow worker`: runs due jobs and deadlines, links the audit chain, picks up faxed referrals."""

from __future__ import annotations

import logging
import mimetypes
import os
import signal
import socket
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType

from radflow.adapters.db.audit_chain import link_pending
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.errors import RadflowError
from radflow.domain.users import Principal
from radflow.services.documents import IngestFax
from radflow.services.job_runner import JobOutcome, run_claimed_job

log = logging.getLogger("radflow.worker")

FAX_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def pick_up_faxes(radflow: Radflow, inbox: Path) -> int:
    """File every new fax in `inbox` as an inbox document, then move it to `inbox/processed`."""
    if not inbox.is_dir():
        return 0
    done = inbox / "processed"
    actor = Principal.system("fax-inbox", source=f"folder:{inbox}")
    count = 0
    for path in sorted(inbox.iterdir()):
        if not path.is_file() or path.suffix.lower() not in FAX_SUFFIXES:
            continue
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        try:
            radflow.bus.handle(IngestFax(actor=actor, filename=path.name, content_type=content_type,
                                         content=path.read_bytes()))
        except RadflowError as error:
            log.warning("fax %s not taken: %s", path.name, error.message)
            continue
        # Moved only after the commit: a crash in between means the file is read again, and the
        # checksum makes the second reading a no-op.
        done.mkdir(exist_ok=True)
        path.replace(done / path.name)
        count += 1
    return count


def work_once(radflow: Radflow, owner: str, *, batch: int = 20) -> int:
    """Claim and run what is due now; returns how many jobs ran."""
    lease = timedelta(seconds=radflow.settings.worker_lease_seconds)
    ids = radflow.job_queue.claim(owner, radflow.ctx.clock.now(), lease, limit=batch)
    for job_id in ids:
        outcome = run_claimed_job(job_id, owner, radflow.bus.uow_factory, radflow.ctx, radflow.jobs)
        if outcome is not JobOutcome.DONE:
            log.info("job %s: %s", job_id, outcome.value)
    link_pending(radflow.engine, radflow.session_factory, radflow.ctx.audit_key, radflow.settings.audit_anchor_path)
    if radflow.settings.fax_inbox is not None:
        pick_up_faxes(radflow, radflow.settings.fax_inbox)
    return len(ids)


def run_worker(settings: Settings, *, once: bool = False, name: str = "") -> None:
    """Loop until SIGTERM/SIGINT: claim due jobs, run them, sleep when idle."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    radflow = bootstrap(settings)
    owner = name or f"{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker %s started", owner)
    while not stopping.is_set():
        ran = work_once(radflow, owner)
        if once and ran == 0:
            break
        if ran == 0:
            stopping.wait(settings.worker_poll_seconds)
    log.info("worker %s stopped", owner)
