"""The MLLP listener inside `radflow serve`: the asyncio listener on its own thread, applying messages
through `services.interfaces.inbound` on a thread pool sized to the database connections.

`make_listener(radflow)` is what `radflow serve` looks for. Settings: RADFLOW_MLLP_HOST/PORT, TLS with
RADFLOW_MLLP_TLS_CERT and _KEY (and _CA to require client certificates), _IDLE_TIMEOUT_SECONDS,
_MAX_FRAME_BYTES, _WORKERS, _REUSE_PORT (several processes on one port). The listener's counters are
exported on /metrics as radflow_mllp_*.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.pool import QueuePool

from radflow.adapters.hl7.mllp import MllpCounters, MllpListener
from radflow.bootstrap import Radflow
from radflow.config import Settings
from radflow.services.interfaces.inbound import Hl7Inbound

log = logging.getLogger("radflow.mllp")

# SQLite has one writer (BEGIN IMMEDIATE): more threads would only queue on its lock.
SQLITE_WORKERS = 2
# Applying a message is mostly Python, which runs one thread at a time per process: a third thread
# covers the database round trips, more only contend for the interpreter lock. Measured with 8
# connections on PostgreSQL (bench/results/hl7.md): 1 thread 91 new orders/s, 2–3 threads 104–115,
# 10 threads 75. More cores are used by more processes (RADFLOW_MLLP_REUSE_PORT), not more threads.
POSTGRES_WORKERS = 3


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server TLS context from the certificate and key settings (client certificates when a CA is set)."""
    if settings.mllp_tls_cert is None and settings.mllp_tls_key is None:
        return None
    if settings.mllp_tls_cert is None or settings.mllp_tls_key is None:
        raise ValueError("MLLP over TLS needs both RADFLOW_MLLP_TLS_CERT and RADFLOW_MLLP_TLS_KEY")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.mllp_tls_cert, settings.mllp_tls_key)
    if settings.mllp_tls_ca is not None:
        context.load_verify_locations(cafile=str(settings.mllp_tls_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def worker_count(radflow: Radflow) -> int:
    """Threads applying messages: the setting, else 3 on PostgreSQL (within the pool) and 2 on SQLite."""
    if radflow.settings.mllp_workers > 0:
        return radflow.settings.mllp_workers
    pool = radflow.engine.pool
    if radflow.engine.dialect.name == "sqlite" or not isinstance(pool, QueuePool):
        return SQLITE_WORKERS
    return max(1, min(POSTGRES_WORKERS, pool.size()))


class LiveCounter:
    """One listener counter, read when /metrics is scraped (Gauge.set takes anything with __float__)."""

    def __init__(self, counters: MllpCounters, name: str) -> None:
        self.counters = counters
        self.name = name

    def __float__(self) -> float:
        return float(getattr(self.counters, self.name))


class MllpService:
    """The listener, its event loop thread and its thread pool, started and stopped by `radflow serve`."""

    def __init__(self, radflow: Radflow, *, host: str | None = None, port: int | None = None) -> None:
        settings = radflow.settings
        self.inbound = Hl7Inbound(radflow.bus.uow_factory, radflow.ctx)
        self.workers = worker_count(radflow)
        self.executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mllp")
        self.listener = MllpListener(
            self.inbound.handle, host=host or settings.mllp_host,
            port=settings.mllp_port if port is None else port, ssl_context=tls_context(settings),
            max_frame_bytes=settings.mllp_max_frame_bytes, idle_timeout_s=settings.mllp_idle_timeout_seconds,
            executor=self.executor, clock=radflow.ctx.clock, reuse_port=settings.mllp_reuse_port,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        metrics = radflow.extras.setdefault("metrics", {})
        for name in vars(self.listener.counters):
            metrics[f"mllp_{name}"] = LiveCounter(self.listener.counters, name)
        radflow.extras["mllp"] = self

    @property
    def port(self) -> int:
        """The bound port."""
        return self.listener.port

    def start(self) -> None:
        """Bind and serve on a background thread; returns once the port is bound (raises if it cannot be)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.listener.start())
            except BaseException as error:  # handed to the starting thread, which raises it
                failure.append(error)
                started.set()
                return
            started.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="mllp-listener", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        log.info("HL7 MLLP listener on %s:%s with %d workers", self.listener.host, self.port, self.workers)

    def stop(self) -> None:
        """Stop accepting, end open connections, finish what is being applied."""
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self.listener.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(30)
        self.executor.shutdown(wait=True)
        if loop is not None and not loop.is_running():
            loop.close()


def make_listener(radflow: Radflow) -> MllpService:
    """The MLLP listener `radflow serve` starts (RADFLOW_ENABLE_MLLP, `--no-mllp` to leave it off)."""
    return MllpService(radflow)
