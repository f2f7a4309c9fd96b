"""Reading ACKs and the database in the HL7 service tests."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from radflow.adapters.db import hl7_tables as h
from radflow.adapters.db import tables as t
from radflow.adapters.hl7.acks import AckCode, AckError, build_ack
from radflow.adapters.hl7.errors import ErrorCode
from radflow.adapters.hl7.mllp import MllpListener
from radflow.adapters.hl7.parsing import read_header_best_effort
from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.entrypoints.worker import work_once
from radflow.services.interfaces.mappings import LoadMapping

DATA = Path(__file__).parents[2] / "data" / "hl7"
ADMIN = Principal.system("test-admin", role=Role.ADMIN)


def load_mapping_text(radflow: Radflow, text: str) -> int:
    """Load a mapping through the service, as `radflow hl7 mapping load` does."""
    return int(radflow.bus.handle(LoadMapping(actor=ADMIN, content=text, source="mapping.yaml")).version)


def sample(name: str) -> bytes:
    """A sample message's bytes."""
    return (DATA / name).read_bytes()


def segment(reply: bytes, name: str) -> list[str]:
    """The fields of the first segment `name` of a reply (field n at index n)."""
    for line in reply.decode("latin-1").split("\r"):
        if line.startswith(name):
            return line.split("|")
    raise AssertionError(f"no {name} in {reply!r}")


def ack_code(reply: bytes) -> str:
    """MSA-1."""
    return segment(reply, "MSA")[1]


def count(radflow: Radflow, table: str) -> int:
    """Rows in a table."""
    tables = {"orders": t.orders, "patients": t.patients, "messages": h.hl7_messages, "jobs": t.jobs,
              "documents": t.documents, "referrals": t.referrals}
    with radflow.session_factory() as session:
        return int(session.execute(select(func.count()).select_from(tables[table])).scalar_one())


class Partner:
    """A partner system's MLLP endpoint (an EHR's inbound interface): records what it gets, answers as told."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.answer_code = "AA"
        self.echo_control_id = True
        self._loop = asyncio.new_event_loop()
        self.listener = MllpListener(self._handle, host="127.0.0.1", port=0, idle_timeout_s=30)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _handle(self, raw: bytes, peer: str) -> bytes:
        self.received.append(raw)
        header = read_header_best_effort(raw)
        assert header is not None
        if not self.echo_control_id:
            header = replace(header, control_id="SOMETHING-ELSE")
        error = None if self.answer_code in ("AA", "CA") else AckError(ErrorCode.APPLICATION_INTERNAL_ERROR,
                                                                      "partner database unavailable")
        return build_ack(header, AckCode(self.answer_code), at=datetime.now(UTC), error=error)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.listener.start())
        self._loop.run_forever()

    def __enter__(self) -> Partner:
        self._thread.start()
        deadline = time.monotonic() + 10
        while self.listener.port == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def port(self) -> int:
        """The bound port."""
        return self.listener.port

    def segments(self, index: int, name: str) -> list[list[str]]:
        """Every segment `name` of the index-th message received, split into fields."""
        text = self.received[index].decode("utf-8", "replace")
        return [line.split("|") for line in text.split("\r") if line.startswith(name)]


def drain(radflow: Radflow, owner: str = "test-worker", rounds: int = 50) -> int:
    """Run the worker until nothing is due (one job per queue per round); returns how many jobs ran."""
    total = 0
    for _ in range(rounds):
        ran = work_once(radflow, owner)
        if ran == 0:
            return total
        total += ran
    return total
