"""A real MLLP listener on an ephemeral port, run in a thread, and a plain-socket peer for tests."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from radflow.adapters.hl7.messages import InboundMessage
from radflow.adapters.hl7.mllp import MessageHandler, MllpListener
from radflow.adapters.hl7.receiving import make_handler
from radflow.domain.clock import FakeClock

DATA = Path(__file__).parents[2] / "data" / "hl7"
# The reference framer the tests hold the listener to: <VT> content up to the first <FS><CR>.
FRAME = re.compile(rb"\x0b(.*?)\x1c\r", re.S)


def accept_everything(message: InboundMessage, raw: bytes) -> None:
    """A stub application that takes every message it is given."""


def stub_handler() -> MessageHandler:
    """The real parse-and-acknowledge path in front of an application that accepts everything."""
    return make_handler(accept_everything, clock=FakeClock())


@contextmanager
def running_listener(handler: MessageHandler, **options: Any) -> Iterator[MllpListener]:
    """Serve `handler` on 127.0.0.1:<ephemeral> in a background event loop until the block ends."""
    loop = asyncio.new_event_loop()
    listener = MllpListener(handler, host="127.0.0.1", port=0, **options)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(listener.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the MLLP listener did not start")
    try:
        yield listener
    finally:
        asyncio.run_coroutine_threadsafe(listener.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    """A plain TCP connection to the listener."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_replies(connection: socket.socket, count: int, timeout: float = 10.0) -> list[bytes]:
    """Read until `count` complete reply frames have arrived (or fail on timeout or close)."""
    buffer = b""
    deadline = time.monotonic() + timeout
    while len(FRAME.findall(buffer)) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"got {len(FRAME.findall(buffer))} of {count} replies: {buffer[-300:]!r}")
        connection.settimeout(remaining)
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(FRAME.findall(buffer))} of {count} replies")
        buffer += chunk
    return FRAME.findall(buffer)


def msa(reply: bytes) -> list[str]:
    """MSA fields of a reply, read with a plain split (MSA-n at index n)."""
    for line in reply.decode("latin-1").split("\r"):
        if line.startswith("MSA"):
            return line.split(reply[3:4].decode("latin-1"))
    raise AssertionError(f"no MSA in {reply!r}")


def sample(name: str) -> bytes:
    """A sample message's bytes."""
    return (DATA / name).read_bytes()
