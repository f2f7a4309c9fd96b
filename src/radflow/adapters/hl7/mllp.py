"""The MLLP listener (asyncio) and the MLLP client used by the outbound queue.

Each connection is served by its own task; its messages are answered strictly in order. The
handler — `(raw message, peer) -> ACK bytes` — runs in a thread executor so that a blocking
database commit never stalls the event loop; an empty answer sends nothing (enhanced mode, NE).
Nothing a peer sends can stop the listener: every failure is contained to its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from types import TracebackType

from radflow.adapters.clock import SystemClock
from radflow.adapters.hl7.acks import AckError, best_effort_ack
from radflow.adapters.hl7.errors import ErrorCode
from radflow.adapters.hl7.framing import (
    DEFAULT_MAX_FRAME_BYTES,
    Frame,
    FrameDecoder,
    FrameEvent,
    OversizeFrame,
    frame,
)
from radflow.domain.clock import Clock
from radflow.domain.errors import RadflowError

log = logging.getLogger(__name__)

MessageHandler = Callable[[bytes, str], bytes]
READ_CHUNK_BYTES = 65_536


@dataclass
class MllpCounters:
    """What the listener has seen since it started; plain integers for the metrics exporter."""

    connections_opened: int = 0
    connections_active: int = 0
    connections_timed_out: int = 0
    connections_failed: int = 0
    messages_received: int = 0
    acks_sent: int = 0
    frames_oversize: int = 0
    frames_cut_off: int = 0
    handler_errors: int = 0
    bytes_outside_frames: int = 0


class MllpListener:
    """An MLLP server on host:port (TLS when an SSLContext is given) answering with `handler`."""

    def __init__(
        self,
        handler: MessageHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        ssl_context: ssl.SSLContext | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        idle_timeout_s: float = 300.0,
        executor: Executor | None = None,
        clock: Clock | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.handler = handler
        # SO_REUSEPORT: several processes listen on one port and the kernel spreads connections.
        self.reuse_port = reuse_port
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout_s = idle_timeout_s
        self.executor = executor
        self.clock: Clock = clock or SystemClock()
        self.counters = MllpCounters()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 asked for an ephemeral port)."""
        if self._server is None or not self._server.sockets:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self.requested_port, ssl=self.ssl_context,
            reuse_port=self.reuse_port or None,
        )
        log.info("MLLP listening on %s:%s%s", self.host, self.port, " (TLS)" if self.ssl_context else "")

    async def serve_forever(self) -> None:
        """Start if needed and serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop accepting, end open connections, and wait until they are gone."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MllpListener:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        peer = _peer_name(writer)
        self.counters.connections_opened += 1
        self.counters.connections_active += 1
        decoder = FrameDecoder(self.max_frame_bytes)
        try:
            await self._converse(reader, writer, decoder, peer)
        except asyncio.CancelledError:
            # stop() ends connections by cancelling them; the task ends here, quietly, as its owner.
            log.info("MLLP connection from %s closed by shutdown", peer)
        except Exception:
            # Process boundary: a peer (or a bug) must never take the listener down with it.
            self.counters.connections_failed += 1
            log.exception("MLLP connection from %s failed", peer)
        finally:
            if decoder.in_frame:
                self.counters.frames_cut_off += 1
            self.counters.bytes_outside_frames += decoder.bytes_outside_frames
            self.counters.connections_active -= 1
            if task is not None:
                self._connections.discard(task)
            await _close(writer)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, decoder: FrameDecoder, peer: str
    ) -> None:
        while True:
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK_BYTES), self.idle_timeout_s)
            except TimeoutError:
                self.counters.connections_timed_out += 1
                log.info("MLLP connection from %s idle for %.0f s: closed", peer, self.idle_timeout_s)
                return
            except (ConnectionError, ssl.SSLError) as exc:
                log.info("MLLP connection from %s dropped: %s", peer, exc)
                return
            if not data:
                return
            for event in decoder.feed(data):
                answer = await self._answer(event, peer)
                if not answer:
                    continue
                writer.write(frame(answer))
                try:
                    # A peer that stops reading its ACKs counts as idle too.
                    await asyncio.wait_for(writer.drain(), self.idle_timeout_s)
                except (TimeoutError, ConnectionError, ssl.SSLError) as exc:
                    log.info("MLLP connection from %s not taking ACKs (%r): closed", peer, exc)
                    return
                self.counters.acks_sent += 1

    async def _answer(self, event: FrameEvent, peer: str) -> bytes:
        if isinstance(event, OversizeFrame):
            self.counters.frames_oversize += 1
            log.warning("MLLP frame from %s over %d bytes: rejected", peer, self.max_frame_bytes)
            return best_effort_ack(
                event.prefix,
                at=self.clock.now(),
                error=AckError(
                    ErrorCode.APPLICATION_INTERNAL_ERROR,
                    f"message longer than {self.max_frame_bytes} bytes refused; send it in smaller messages",
                    is_reject=True,
                ),
            )
        assert isinstance(event, Frame)
        self.counters.messages_received += 1
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, self.handler, event.content, peer)
        except Exception:
            # The handler is the application's boundary; log, and let the sender retry.
            self.counters.handler_errors += 1
            log.exception("MLLP handler failed on a message from %s", peer)
            return best_effort_ack(
                event.content,
                at=self.clock.now(),
                error=AckError(
                    ErrorCode.APPLICATION_INTERNAL_ERROR,
                    "the message could not be processed and was not stored; send it again",
                ),
            )


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 5.0)


class MllpDeliveryError(RadflowError):
    """A message could not be delivered, or no ACK came back in time; the outbound job retries."""

    code = "mllp-delivery"


class MllpClient:
    """A blocking MLLP client: send one message, get its ACK; reconnects after any failure."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        connect_timeout_s: float = 10.0,
        ack_timeout_s: float = 30.0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or host
        self.connect_timeout_s = connect_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.max_frame_bytes = max_frame_bytes
        self._socket: socket.socket | None = None
        self._decoder = FrameDecoder(max_frame_bytes)

    def send(self, message: bytes) -> bytes:
        """Send one message and return the ACK's bytes; MllpDeliveryError on timeout or broken link."""
        try:
            connection = self._connect()
            connection.sendall(frame(message))
            return self._read_answer(connection)
        except (OSError, MllpDeliveryError) as exc:
            self.close()
            if isinstance(exc, MllpDeliveryError):
                raise
            raise MllpDeliveryError(f"MLLP delivery to {self.host}:{self.port} failed: {exc}") from exc

    def close(self) -> None:
        """Close the connection (the next send opens a new one)."""
        if self._socket is not None:
            try:
                self._socket.close()
            finally:
                self._socket = None
                self._decoder = FrameDecoder(self.max_frame_bytes)

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        if self._socket is None:
            connection = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
            if self.ssl_context is not None:
                connection = self.ssl_context.wrap_socket(connection, server_hostname=self.server_hostname)
            self._socket = connection
        return self._socket

    def _read_answer(self, connection: socket.socket) -> bytes:
        deadline = time.monotonic() + self.ack_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MllpDeliveryError(f"no ACK from {self.host}:{self.port} within {self.ack_timeout_s:.0f} s")
            connection.settimeout(remaining)
            try:
                data = connection.recv(READ_CHUNK_BYTES)
            except TimeoutError:
                continue
            if not data:
                raise MllpDeliveryError(f"{self.host}:{self.port} closed the connection before answering")
            for event in self._decoder.feed(data):
                if isinstance(event, Frame):
                    return event.content
                raise MllpDeliveryError(f"the answer from {self.host}:{self.port} exceeds the frame limit")
