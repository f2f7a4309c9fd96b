"""A stand-in for a partner system's MLLP endpoint (an EHR's inbound interface), shipped beside the
outbound transport it answers: tests and demos point a sender's `outbound` at it.

It runs its own event loop in a thread, keeps every message it receives, and answers each with the
ACK it is told to give (AA by default; AE or AR with an ERR segment; a wrong MSA-2 to test the
sender's check that the answer is for its message).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

from radflow.adapters.clock import SystemClock
from radflow.adapters.hl7.acks import AckCode, AckError, build_ack
from radflow.adapters.hl7.errors import ErrorCode
from radflow.adapters.hl7.mllp import MllpListener
from radflow.adapters.hl7.parsing import read_header_best_effort
from radflow.domain.clock import Clock


class FakePartner:
    """An MLLP endpoint that records what it gets and answers as told; a context manager."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.received: list[bytes] = []
        self.answer_code = "AA"
        self.echo_control_id = True
        self._clock = clock or SystemClock()
        self._loop = asyncio.new_event_loop()
        self.listener = MllpListener(self._handle, host="127.0.0.1", port=0, idle_timeout_s=30)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _handle(self, raw: bytes, peer: str) -> bytes:
        self.received.append(raw)
        header = read_header_best_effort(raw)
        if header is None:
            raise ValueError("the partner got a message without a readable MSH")
        if not self.echo_control_id:
            header = replace(header, control_id="SOMETHING-ELSE")
        error = None if self.answer_code in ("AA", "CA") else AckError(ErrorCode.APPLICATION_INTERNAL_ERROR,
                                                                      "partner database unavailable")
        return build_ack(header, AckCode(self.answer_code), at=self._clock.now(), error=error)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.listener.start())
        self._loop.run_forever()

    def __enter__(self) -> FakePartner:
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

    def message_types(self) -> list[str]:
        """MSH-9 of every message received, in order."""
        return [raw.split(b"\r", 1)[0].decode("latin-1").split("|")[8] for raw in self.received]
