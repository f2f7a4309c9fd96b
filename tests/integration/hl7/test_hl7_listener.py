"""The MLLP listener over real sockets, with the real parse-and-ACK path and a stub application."""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hl7_harness import connect, msa, read_replies, running_listener, sample, stub_handler

from radflow.adapters.hl7.framing import END_BLOCK, START_BLOCK, frame
from radflow.adapters.hl7.mllp import MllpClient, MllpDeliveryError

VALID = {
    "epic_orm_o01_251_new.hl7": ("CA", "EPIC000101"),  # enhanced mode: MSH-15 AL
    "epic_orm_o01_251_two_orders.hl7": ("AA", "EPIC000102"),
    "epic_orm_o01_251_cancel.hl7": ("AA", "EPIC000103"),
    "epic_orm_o01_251_discontinue.hl7": ("AA", "EPIC000104"),
    "epic_orm_o01_251_change.hl7": ("AA", "EPIC000105"),
    "cerner_orm_o01_23_latin1.hl7": ("AA", "CRN-778812"),
    "meditech_orm_o01_24_crlf.hl7": ("AA", "MT20260302-0042"),
    "meditech_orm_o01_24_custom_delimiters.hl7": ("AA", "MT20260302-0043"),
    "partner_omi_o23_25.hl7": ("AA", "PRT-000981"),
    "cerner_adt_a04_231.hl7": ("AA", "CRN-778801"),
    "epic_adt_a08_25.hl7": ("AA", "EPIC000201"),
    "epic_adt_a40_251.hl7": ("AA", "EPIC000202"),
    "dictation_oru_r01_251_final.hl7": ("AA", "PS-2026-000441"),
    "dictation_oru_r01_24_corrected.hl7": ("AA", "DCT-88120"),
}
REFUSED = {
    "error_missing_patient_identifier.hl7": ("AE", "EPIC-ERR-01", "101"),
    "error_bad_birth_date.hl7": ("AE", "EPIC-ERR-02", "102"),
    "error_unsupported_type.hl7": ("AR", "EPIC-ERR-04", "200"),
    "error_unsupported_event.hl7": ("AR", "EPIC-ERR-05", "201"),
    "error_unsupported_version.hl7": ("AR", "EPIC-ERR-06", "203"),
    "error_unsupported_version_22.hl7": ("AR", "OLD-0001", "203"),
}


@pytest.fixture(scope="module")
def listener_port() -> Iterator[int]:
    with running_listener(stub_handler(), idle_timeout_s=30) as listener:
        yield listener.port


def exchange(port: int, *messages: bytes) -> list[bytes]:
    with connect(port) as connection:
        connection.sendall(b"".join(frame(m) for m in messages))
        return read_replies(connection, len(messages))


@pytest.mark.parametrize(("name", "expected"), VALID.items())
def test_each_accepted_message_type_is_acknowledged_over_the_wire(
    name: str, expected: tuple[str, str], listener_port: int
) -> None:
    (reply,) = exchange(listener_port, sample(name))
    assert msa(reply)[1:3] == list(expected)


@pytest.mark.parametrize(("name", "expected"), REFUSED.items())
def test_each_failure_is_answered_with_ae_or_ar_and_its_err_code(
    name: str, expected: tuple[str, str, str], listener_port: int
) -> None:
    (reply,) = exchange(listener_port, sample(name))
    code, control_id, err_code = expected
    assert msa(reply)[1:3] == [code, control_id]
    assert f"|{err_code}^" in reply.decode("latin-1")


def test_several_messages_on_one_connection_are_answered_in_order(listener_port: int) -> None:
    names = list(VALID)[1:8]
    replies = exchange(listener_port, *(sample(n) for n in names))
    assert [msa(r)[2] for r in replies] == [VALID[n][1] for n in names]


def test_a_message_sent_one_byte_at_a_time_is_answered(listener_port: int) -> None:
    with connect(listener_port) as connection:
        for byte in frame(sample("epic_orm_o01_251_two_orders.hl7")):
            connection.send(bytes([byte]))
        (reply,) = read_replies(connection, 1)
    assert msa(reply)[1:3] == ["AA", "EPIC000102"]


def test_bytes_outside_frames_are_ignored(listener_port: int) -> None:
    with connect(listener_port) as connection:
        connection.sendall(b"\r\n\x00noise" + frame(sample("epic_adt_a08_25.hl7")) + b"\r\n")
        (reply,) = read_replies(connection, 1)
    assert msa(reply)[1:3] == ["AA", "EPIC000201"]


def test_oversize_frame_gets_ar_and_the_next_message_on_the_connection_is_served() -> None:
    big = sample("epic_orm_o01_251_two_orders.hl7") + b"NTE|1||" + b"x" * 5000 + b"\r"
    with running_listener(stub_handler(), max_frame_bytes=2048) as listener, connect(listener.port) as connection:
        connection.sendall(frame(big) + frame(sample("epic_adt_a08_25.hl7")))
        rejected, accepted = read_replies(connection, 2)
        assert msa(rejected)[1:3] == ["AR", "EPIC000102"]
        assert msa(accepted)[1:3] == ["AA", "EPIC000201"]
        assert listener.counters.frames_oversize == 1


def test_idle_connection_is_closed_after_the_timeout() -> None:
    with running_listener(stub_handler(), idle_timeout_s=0.3) as listener, connect(listener.port) as connection:
        started = time.monotonic()
        connection.settimeout(5)
        assert connection.recv(10) == b""
        assert 0.2 < time.monotonic() - started < 5  # generous: the test machine may be busy
        deadline = time.monotonic() + 2
        while listener.counters.connections_timed_out == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.counters.connections_timed_out == 1


def test_many_concurrent_connections_each_get_their_own_answers(listener_port: int) -> None:
    names = list(VALID)

    def converse(client: int) -> list[str]:
        chosen = [names[(client + i) % len(names)] for i in range(5)]
        replies = exchange(listener_port, *(sample(n) for n in chosen))
        return [msa(r)[2] for r in replies]

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(converse, range(80)))
    for client, got in enumerate(results):
        assert got == [VALID[names[(client + i) % len(names)]][1] for i in range(5)]


def test_a_slow_commit_on_one_connection_does_not_hold_up_another() -> None:
    release = threading.Event()
    inner = stub_handler()

    def handler(raw: bytes, peer: str) -> bytes:
        if b"EPIC000102" in raw:
            release.wait(10)  # a database commit that takes its time
        return inner(raw, peer)

    with running_listener(handler) as listener, connect(listener.port) as slow, connect(listener.port) as fast:
        slow.sendall(frame(sample("epic_orm_o01_251_two_orders.hl7")))
        time.sleep(0.1)
        fast.sendall(frame(sample("epic_adt_a08_25.hl7")))
        (fast_reply,) = read_replies(fast, 1, timeout=5)
        assert msa(fast_reply)[2] == "EPIC000201"
        release.set()
        (slow_reply,) = read_replies(slow, 1)
        assert msa(slow_reply)[2] == "EPIC000102"


def test_a_failing_handler_answers_ae_and_the_listener_keeps_serving() -> None:
    inner = stub_handler()

    def handler(raw: bytes, peer: str) -> bytes:
        if b"EPIC000102" in raw:
            raise RuntimeError("database is down")
        return inner(raw, peer)

    with running_listener(handler) as listener:
        failed, served = exchange(
            listener.port, sample("epic_orm_o01_251_two_orders.hl7"), sample("epic_adt_a08_25.hl7")
        )
        assert msa(failed)[1:3] == ["AE", "EPIC000102"]
        assert "|207^" in failed.decode()
        assert msa(served)[1:3] == ["AA", "EPIC000201"]
        assert listener.counters.handler_errors == 1


def test_a_connection_closed_mid_frame_is_counted_and_does_not_disturb_the_next() -> None:
    with running_listener(stub_handler()) as listener:
        with connect(listener.port) as connection:
            connection.sendall(START_BLOCK + sample("epic_adt_a08_25.hl7")[:40])
        (reply,) = exchange(listener.port, sample("epic_adt_a08_25.hl7"))
        assert msa(reply)[1] == "AA"
        deadline = time.monotonic() + 2
        while listener.counters.frames_cut_off == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.counters.frames_cut_off == 1


def test_client_sends_and_reads_the_ack(listener_port: int) -> None:
    with MllpClient("127.0.0.1", listener_port) as client:
        first = client.send(sample("epic_orm_o01_251_two_orders.hl7"))
        second = client.send(sample("epic_adt_a08_25.hl7"))
    assert (msa(first)[2], msa(second)[2]) == ("EPIC000102", "EPIC000201")


def test_client_gives_up_after_its_ack_timeout() -> None:
    release = threading.Event()

    def never_in_time(raw: bytes, peer: str) -> bytes:
        release.wait(5)
        return b""

    with running_listener(never_in_time) as listener:
        client = MllpClient("127.0.0.1", listener.port, ack_timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(MllpDeliveryError, match="no ACK"):
            client.send(sample("epic_adt_a08_25.hl7"))
        assert time.monotonic() - started < 5
        release.set()


def test_client_reports_a_refused_connection_as_a_delivery_error() -> None:
    with running_listener(stub_handler()) as listener:
        port = listener.port
    with pytest.raises(MllpDeliveryError):
        MllpClient("127.0.0.1", port, connect_timeout_s=1).send(b"MSH|^~\\&|")


def test_tls_listener_serves_a_tls_client(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    with running_listener(stub_handler(), ssl_context=server) as listener:
        with MllpClient("127.0.0.1", listener.port, ssl_context=client_context, server_hostname="localhost") as client:
            reply = client.send(sample("epic_adt_a40_251.hl7"))
        assert msa(reply)[1:3] == ["AA", "EPIC000202"]
        with connect(listener.port) as plain:  # a peer speaking plain MLLP to a TLS port gets nowhere
            plain.sendall(frame(sample("epic_adt_a40_251.hl7")))
            plain.settimeout(5)
            try:
                answer = plain.recv(100)
            except ConnectionResetError:
                answer = b""
            assert END_BLOCK not in answer
        with MllpClient("127.0.0.1", listener.port, ssl_context=client_context) as client:
            assert msa(client.send(sample("epic_adt_a08_25.hl7")))[1] == "AA"
