"""Connection handling under pynetdicom that a misbehaving peer cannot wedge.

Stock pynetdicom (3.0) accepts sockets without a timeout: its upper-layer reader blocks
in recv() until a whole PDU has arrived, so a client that stops half-way through a PDU,
or trickles bytes, holds its thread and its association slot forever; a PDU header may
announce up to 4 GiB; and every connection, even one that never sends an A-ASSOCIATE-RQ
(a port scanner, an HTTP request), counts against the association limit until the ACSE
timeout. This module fixes that beneath pynetdicom's state machine:

- every accepted socket gets TCP_NODELAY (dcmtk and pynetdicom leave Nagle on, which adds
  a delayed-ACK wait to every C-FIND response train) and a send timeout;
- a PDU must arrive whole within `pdu_timeout` of its first byte, and may announce at
  most `max_pdu_length` bytes; otherwise the connection is shut (the upper layer then
  sees the transport close, PS3.8 9.2 event 17, and ends the association);
- only associations that sent an A-ASSOCIATE-RQ take one of `max_associations` slots;
  request N+1 gets A-ASSOCIATE-RJ, rejected-transient, service-provider (presentation),
  local-limit-exceeded (PS3.8 9.3.4);
- connections that have not yet associated are capped at `max_pending` (over that, the
  connection is closed at accept) and last at most the ACSE timeout (pynetdicom's ARTIM).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from pynetdicom import evt
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

if TYPE_CHECKING:
    from pynetdicom.association import Association

LOGGER = logging.getLogger(__name__)

# PS3.8 9.3.4 (A-ASSOCIATE-RJ): result 2 rejected-transient, source 3 service-provider
# (presentation related function), reason 2 local-limit-exceeded.
_REJECT_TRANSIENT, _SOURCE_PRESENTATION, _LOCAL_LIMIT_EXCEEDED = 0x02, 0x03, 0x02
_PDU_HEADER_LENGTH = 6


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long and how large a peer may be, and how many may be served at once."""

    pdu_timeout: float = 10.0
    max_pdu_length: int = 1 << 20
    max_associations: int = 10
    max_pending: int = 32


class GuardedAssociationSocket(AssociationSocket):
    """An AssociationSocket whose PDU reads end at a deadline and refuse oversized PDUs."""

    limits: ConnectionLimits
    _deadline: float
    _header_read: bool

    @classmethod
    def take_over(cls, original: AssociationSocket, limits: ConnectionLimits) -> GuardedAssociationSocket:
        """Replace a freshly built AssociationSocket, keeping its state (no second Evt5)."""
        guarded = cls.__new__(cls)
        guarded.__dict__.update(original.__dict__)
        guarded.limits = limits
        guarded._deadline = 0.0
        guarded._header_read = False
        if guarded.socket is not None:
            with contextlib.suppress(OSError):  # a peer gone already is seen at the first read
                guarded.socket.settimeout(limits.pdu_timeout)
        return guarded

    def recv(self, nr_bytes: int) -> bytearray:
        """Read `nr_bytes`, giving up at the PDU's deadline; a short result closes the transport.

        pynetdicom's reader asks for the 6-byte header, then for the announced length:
        the deadline starts with the header and covers the whole PDU.
        """
        sock = self.socket
        if sock is None:
            return bytearray()
        reading_body, self._header_read = self._header_read, False
        if not reading_body:
            self._deadline = time.monotonic() + self.limits.pdu_timeout
        elif nr_bytes > self.limits.max_pdu_length:
            LOGGER.warning(
                "DICOM peer %s announced a %d-byte PDU (limit %d): closing the connection",
                self._peer(),
                nr_bytes,
                self.limits.max_pdu_length,
            )
            self._cut()
            return bytearray()
        received = self._read_until_deadline(sock, nr_bytes)
        self._header_read = not reading_body and nr_bytes == len(received) == _PDU_HEADER_LENGTH
        return received

    def _read_until_deadline(self, sock: socket.socket, nr_bytes: int) -> bytearray:
        received = bytearray()
        while len(received) < nr_bytes:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                LOGGER.warning(
                    "DICOM peer %s sent %d of %d bytes within %.1f s: closing the connection",
                    self._peer(),
                    len(received),
                    nr_bytes,
                    self.limits.pdu_timeout,
                )
                self._cut()
                return received
            try:
                sock.settimeout(remaining)
                chunk = sock.recv(min(nr_bytes - len(received), 65536))
            except TimeoutError:
                self._deadline = 0.0  # loop once more: logs and closes
                continue
            except OSError:
                return received  # reset or closed: pynetdicom sees the transport close
            if not chunk:
                return received
            received.extend(chunk)
        return received

    def send(self, bytestream: bytes) -> None:
        """Send, waiting at most the PDU timeout for a peer that does not read."""
        if self.socket is not None:
            # A socket closed under us fails the send below, which pynetdicom turns into
            # "transport closed" (event 17); an error here would kill the reactor thread.
            with contextlib.suppress(OSError):
                self.socket.settimeout(self.limits.pdu_timeout)
        super().send(bytestream)

    def _peer(self) -> str:
        try:
            host, port = cast(tuple[str, int], self.socket.getpeername())[:2] if self.socket else ("?", 0)
        except OSError:
            return "?"
        return f"{host}:{port}"

    def _cut(self) -> None:
        # Shut the connection at once so the peer learns; pynetdicom closes the descriptor.
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)


class GuardedRequestHandler(RequestHandler):
    """Builds each association on a guarded socket with TCP_NODELAY."""

    server: GuardedAssociationServer

    def _create_association(self) -> Association:
        assoc = super()._create_association()
        sock = cast(AssociationSocket, assoc.dul.socket)
        if sock.socket is not None:
            # Nagle would hold each small C-FIND response for the peer's delayed ACK.
            sock.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assoc.dul.socket = GuardedAssociationSocket.take_over(sock, self.server.limits)
        return assoc


class GuardedAssociationServer(ThreadedAssociationServer):
    """pynetdicom's threaded server with the admission rules of this module."""

    # A burst of connections should queue in the kernel, not be dropped to SYN retries.
    request_queue_size = 128
    limits: ConnectionLimits

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        self.limits = limits
        self._admission = threading.Lock()
        self._admitted: weakref.WeakSet[Association] = weakref.WeakSet()
        kwargs["request_handler"] = GuardedRequestHandler
        super().__init__(*args, **kwargs)
        self.bind(evt.EVT_REQUESTED, self._admit)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Refuse a connection at accept while too many have not yet associated."""
        pending = sum(1 for a in self.active_associations if a not in self._admitted)
        if pending >= self.limits.max_pending:
            LOGGER.warning("DICOM: %d connections not yet associated; closing one from %s", pending, client_address)
            return False
        return True

    def _admit(self, event: evt.Event) -> None:
        """Give the association a slot, or answer A-ASSOCIATE-RJ local-limit-exceeded."""
        assoc = event.assoc
        with self._admission:
            in_use = sum(1 for a in self._admitted if a.is_alive() and a is not assoc)
            if in_use < self.limits.max_associations:
                self._admitted.add(assoc)
                return
        LOGGER.warning(
            "DICOM: association from %s (%s) refused: %d of %d in use",
            assoc.requestor.ae_title,
            assoc.requestor.address,
            in_use,
            self.limits.max_associations,
        )
        assoc.acse.send_reject(_REJECT_TRANSIENT, _SOURCE_PRESENTATION, _LOCAL_LIMIT_EXCEEDED)
        # As pynetdicom does after its own rejections: wait for the peer to close (or ARTIM).
        assoc.kill()

    def shutdown(self) -> None:
        """Stop accepting and close the listening socket."""
        # pynetdicom also drops the server from its AE's list, where it never was: ValueError.
        with contextlib.suppress(ValueError):
            super().shutdown()

    def is_admitted(self, assoc: Association) -> bool:
        """Tell whether the association was given a slot (sent an A-ASSOCIATE-RQ and was admitted)."""
        return assoc in self._admitted

    @property
    def associations_in_use(self) -> int:
        """How many admitted associations are alive now."""
        return sum(1 for a in self._admitted if a.is_alive())
