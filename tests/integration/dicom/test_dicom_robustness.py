"""Peers that misbehave never crash the SCP nor lock scanners out past the configured timeouts.

Raw sockets play the misbehaving peers (junk, half PDUs, trickled bytes, huge lengths,
PDUs out of order); pynetdicom plays the scanner that must still be served.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.dimse_messages import C_FIND_RQ
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.dsutils import decode
from pynetdicom.pdu import P_DATA_TF

VERIFICATION = "1.2.840.10008.1.1"
MWL_FIND = "1.2.840.10008.5.1.4.31"
IMPLICIT_LE = "1.2.840.10008.1.2"
# Margin over a configured timeout for thread scheduling on a small shared machine.
SLACK = 1.5


def _item(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(body)) + body


def associate_rq(calling: str = "JUNK", called: str = "RADFLOW", abstract: str = VERIFICATION) -> bytes:
    """An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2) proposing one context in Implicit VR Little Endian."""
    context = _item(0x20, bytes([1, 0, 0, 0]) + _item(0x30, abstract.encode()) + _item(0x40, IMPLICIT_LE.encode()))
    user = _item(0x50, _item(0x51, struct.pack(">I", 16384)) + _item(0x52, b"1.2.826.0.1.3680043.9.9"))
    body = (
        struct.pack(">HH", 1, 0)
        + called.ljust(16).encode()
        + calling.ljust(16).encode()
        + bytes(32)
        + _item(0x10, b"1.2.840.10008.3.1.1.1")
        + context
        + user
    )
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def seconds_until_closed(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Read until the server closes the connection; the time it took and what it sent."""
    start = time.monotonic()
    received = b""
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    else:
        pytest.fail(f"the server kept the connection open for more than {limit} s")
    return time.monotonic() - start, received


def echo(port: int, calling: str = "CT3") -> int:
    """C-ECHO as a scanner; the status, or -1 when no association."""
    ae = AE(ae_title=calling)
    ae.acse_timeout = 5
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADFLOW")
    if not assoc.is_established:
        return -1
    status = assoc.send_c_echo()
    assoc.release()
    return int(status.Status) if status is not None and "Status" in status else -1


@contextmanager
def scanner_association(port: int, calling: str = "CT3", abstract: str = VERIFICATION) -> Iterator[object]:
    ae = AE(ae_title=calling)
    ae.acse_timeout = 5
    ae.add_requested_context(abstract)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADFLOW")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


# -- junk and malformed PDUs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: radflow\r\n\r\n", id="http-request"),
        pytest.param(b"\x09\x00\x00\x00\x00\x04abcd", id="unknown-pdu-type"),
        pytest.param(b"\x01\x00\x00\x00\x00\x10" + b"\xff" * 16, id="garbled-associate-rq"),
        pytest.param(b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x02\x01\x03", id="p-data-before-association"),
        pytest.param(b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00", id="release-before-association"),
    ],
)
def test_junk_gets_the_connection_closed_and_scanners_are_still_served(start_server, junk: bytes) -> None:
    server = start_server()
    with connect(server.port) as sock:
        sock.sendall(junk)
        took, _ = seconds_until_closed(sock, server.config.acse_timeout + SLACK)
    assert took < server.config.acse_timeout + SLACK
    assert echo(server.port) == 0x0000


@pytest.mark.parametrize("pdu_type", [0x01, 0x04])
def test_a_huge_announced_length_is_refused_at_once(start_server, pdu_type: int) -> None:
    server = start_server(pdu_timeout=5.0)
    with connect(server.port) as sock:
        sock.sendall(struct.pack(">BBI", pdu_type, 0, 0xFFFFFFF0) + b"\x00" * 64)
        took, _ = seconds_until_closed(sock, 3.0)
    assert took < 1.0  # well before the 5 s PDU deadline: the length alone decides
    assert echo(server.port) == 0x0000


def test_a_second_associate_request_inside_an_association_aborts_it(start_server) -> None:
    server = start_server()
    with connect(server.port) as sock:
        sock.sendall(associate_rq())
        accepted = sock.recv(6)
        assert accepted[:1] == b"\x02"  # A-ASSOCIATE-AC
        sock.settimeout(2)
        remainder = struct.unpack(">I", accepted[2:6])[0]
        while remainder:
            remainder -= len(sock.recv(remainder))
        sock.sendall(associate_rq())
        _, sent = seconds_until_closed(sock, 3.0)
    assert sent[:1] == b"\x07"  # A-ABORT (PS3.8 9.2, AA-8)
    assert echo(server.port) == 0x0000


# -- malformed C-FIND identifiers -------------------------------------------------------------


def find_status(port: int, identifier: Dataset) -> Dataset:
    """The final status of a worklist C-FIND sent by a pynetdicom scanner."""
    with scanner_association(port, abstract=MWL_FIND) as assoc:
        assert assoc.is_established  # type: ignore[attr-defined]
        responses = list(assoc.send_c_find(identifier, MWL_FIND))  # type: ignore[attr-defined]
    status = responses[-1][0]
    assert status is not None
    return status


def read_pdu(sock: socket.socket) -> tuple[int, bytes]:
    header = b""
    while len(header) < 6:
        chunk = sock.recv(6 - len(header))
        assert chunk, "connection closed"
        header += chunk
    pdu_type, _, length = struct.unpack(">BBI", header)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        assert chunk, "connection closed"
        body += chunk
    return pdu_type, body


def raw_find_status(port: int, identifier: bytes) -> int:
    """Send a C-FIND whose identifier is the given bytes (Implicit VR LE); the first response status."""
    request = C_FIND()
    request.MessageID = 7
    request.AffectedSOPClassUID = MWL_FIND
    request.Priority = 2
    request.Identifier = BytesIO(identifier)
    message = C_FIND_RQ()
    message.primitive_to_message(request)
    with connect(port) as sock:
        sock.sendall(associate_rq(calling="CT3", abstract=MWL_FIND))
        assert read_pdu(sock)[0] == 0x02
        for fragment in message.encode_msg(1, 16382):
            pdu = P_DATA_TF()
            pdu.from_primitive(fragment)
            sock.sendall(pdu.encode())
        command = b""
        while True:
            pdu_type, body = read_pdu(sock)
            assert pdu_type == 0x04, f"expected P-DATA-TF, got PDU type {pdu_type}"
            pos = 0
            while pos < len(body):
                (length,) = struct.unpack_from(">I", body, pos)
                control = body[pos + 5]
                if control & 0x01:  # a command fragment (PS3.8 E.2)
                    command += body[pos + 6 : pos + 4 + length]
                    if control & 0x02:
                        return int(decode(BytesIO(command), True, True).Status)
                pos += 4 + length


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_malformed_identifiers_are_answered_0xa900_and_the_scp_carries_on(start_server) -> None:
    server = start_server()
    bad_date = Dataset()
    bad_date.ScheduledProcedureStepSequence = [Dataset()]
    bad_date.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate = "2026-02-04"
    status = find_status(server.port, bad_date)
    assert int(status.Status) == 0xA900
    assert int(status.OffendingElement) == 0x00400002  # (0040,0002), the start date key

    two_steps = Dataset()
    two_steps.ScheduledProcedureStepSequence = [Dataset(), Dataset()]
    assert int(find_status(server.port, two_steps).Status) == 0xA900

    # (0010,0010) announcing 2 GiB with 10 bytes behind it: pydicom alone would read it.
    assert raw_find_status(server.port, b"\x10\x00\x10\x00\xff\xff\xff\x7f" + b"\x01" * 10) == 0xA900
    # A sequence item announcing more than the sequence holds.
    nested = b"\x40\x00\x00\x01\x10\x00\x00\x00" + b"\xfe\xff\x00\xe0\x40\x00\x00\x00" + b"\x00" * 8
    assert raw_find_status(server.port, nested) == 0xA900

    good = Dataset()
    good.AccessionNumber = ""
    assert int(find_status(server.port, good).Status) == 0x0000


# -- idle, stalled and slow peers ------------------------------------------------------------


def test_an_idle_connection_is_closed_after_the_acse_timeout_while_scanners_are_served(start_server) -> None:
    server = start_server(acse_timeout=1.5)
    with connect(server.port) as idle:
        assert echo(server.port) == 0x0000  # served while the idle one waits
        took, _ = seconds_until_closed(idle, 1.5 + SLACK)
    assert took >= 1.0


@pytest.mark.parametrize("sent", [b"\x01\x00\x00", associate_rq()[:40]], ids=["half-header", "half-body"])
def test_a_client_stopping_half_way_through_a_pdu_is_cut_after_the_pdu_timeout(start_server, sent: bytes) -> None:
    server = start_server(pdu_timeout=1.0, acse_timeout=10.0)
    with connect(server.port) as stalled:
        stalled.sendall(sent)
        took, _ = seconds_until_closed(stalled, 1.0 + SLACK)
    assert took < 1.0 + SLACK  # the 10 s ACSE timeout is not what ended it
    assert echo(server.port) == 0x0000


def test_a_slow_sender_is_cut_at_the_pdu_deadline_though_bytes_keep_coming(start_server) -> None:
    server = start_server(pdu_timeout=1.0, acse_timeout=10.0)
    request = associate_rq()  # ~200 bytes: 20 s at one byte per 0.1 s
    with connect(server.port) as slow:
        start = time.monotonic()
        cut = False
        for byte in request:
            try:
                slow.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            time.sleep(0.1)
            if time.monotonic() - start > 1.0 + SLACK:
                break
        if not cut:
            seconds_until_closed(slow, 0.5)
    assert time.monotonic() - start < 1.0 + SLACK + 0.5
    assert echo(server.port) == 0x0000


def test_an_idle_association_is_aborted_after_the_network_timeout(start_server) -> None:
    server = start_server(network_timeout=1.0)
    with scanner_association(server.port) as assoc:
        assert assoc.is_established  # type: ignore[attr-defined]
        deadline = time.monotonic() + 1.0 + SLACK
        while assoc.is_established and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.1)
        assert assoc.is_aborted  # type: ignore[attr-defined]


def test_a_burst_of_junk_connections_does_not_lock_scanners_out(start_server) -> None:
    server = start_server(max_associations=2, acse_timeout=3.0)
    junk = [connect(server.port) for _ in range(25)]
    try:
        for sock in junk[::2]:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        start = time.monotonic()
        assert echo(server.port) == 0x0000
        assert echo(server.port, calling="CT4") == 0x0000
        assert time.monotonic() - start < 2.0  # not after the junk's 3 s timeout
    finally:
        for sock in junk:
            sock.close()


# -- association limit and calling AE allow-list ------------------------------------------------


def test_association_over_the_limit_is_rejected_and_a_freed_slot_is_reused(start_server) -> None:
    server = start_server(max_associations=2)
    with scanner_association(server.port, "CT3") as first, scanner_association(server.port, "CT4") as second:
        assert first.is_established and second.is_established  # type: ignore[attr-defined]
        with scanner_association(server.port, "MR1") as third:
            assert third.is_rejected  # type: ignore[attr-defined]
            rejection = third.acceptor.primitive  # type: ignore[attr-defined]
            # PS3.8 9.3.4: rejected-transient, service-provider (presentation), local-limit-exceeded
            assert (rejection.result, rejection.result_source, rejection.diagnostic) == (0x02, 0x03, 0x02)
    deadline = time.monotonic() + 2
    while server.associations_in_use and time.monotonic() < deadline:
        time.sleep(0.05)
    assert echo(server.port, "MR1") == 0x0000


def test_a_stalled_association_frees_its_slot_after_the_pdu_timeout(start_server) -> None:
    server = start_server(max_associations=1, pdu_timeout=1.0, network_timeout=30.0)
    with connect(server.port) as holder:
        holder.sendall(associate_rq(calling="STALLED"))
        assert holder.recv(1) == b"\x02"
        holder.sendall(b"\x04\x00\x00\x00\x01\x00" + b"\x00" * 10)  # a P-DATA-TF cut short
        assert echo(server.port) == -1  # the one slot is taken
        deadline = time.monotonic() + 1.0 + SLACK
        while echo(server.port) != 0x0000:
            assert time.monotonic() < deadline, "the stalled association kept its slot"
            time.sleep(0.2)


def test_unknown_calling_aes_are_refused_when_an_allow_list_is_configured(start_server) -> None:
    server = start_server(allowed_calling_aes=frozenset({"CT3"}))
    assert echo(server.port, "CT3") == 0x0000
    with scanner_association(server.port, "INTRUDER") as refused:
        assert refused.is_rejected  # type: ignore[attr-defined]
        rejection = refused.acceptor.primitive  # type: ignore[attr-defined]
        # PS3.8 9.3.4: rejected-permanent, service-user, calling-AE-title-not-recognized
        assert (rejection.result, rejection.result_source, rejection.diagnostic) == (0x01, 0x01, 0x03)


def test_the_server_stops_cleanly_with_associations_open(start_server) -> None:
    server = start_server()
    with scanner_association(server.port) as assoc:
        assert assoc.is_established  # type: ignore[attr-defined]
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(6)
        assert not stopper.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.config.port or 1), timeout=1).close()
