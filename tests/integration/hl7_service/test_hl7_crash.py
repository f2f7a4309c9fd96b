"""Kill `radflow serve` with SIGKILL at random points of a stream of orders: after each restart every
message that was ACKed exists exactly once, and a resend of any message creates nothing new.

20 kill rounds by default; 200 under `make test-long` (RADFLOW_HL7_KILL_ROUNDS overrides both). The
figures (messages sent, ACKed, applied but never ACKed, resends answered with the stored ACK) are
printed at the end of each run.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hl7_process_support import Center, ServeProcess, center
from hl7_service_support import DATA
from sqlalchemy import select

from radflow.adapters.db import hl7_tables as h
from radflow.adapters.db import tables as t
from radflow.adapters.hl7.mllp import MllpClient, MllpDeliveryError
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("backend", backends())

ORDER = "\r".join((
    "MSH|^~\\&|EPIC|MAINHOSP|RADFLOW|RIVERSIDE|20260302081500-0500||ORM^O01^ORM_O01|{control}|P|2.5.1",
    "PID|1||{mrn}^^^MAINHOSP^MR||Kill{round}x{number}^Pat||{birth}|F",
    "ORC|NW|{placer}|||||||20260302081400|||1234567893^Welby^Marcus^^^^^^NPI^^^^NPI",
    "OBR|1|{placer}||IMG2001^CT head w/o contrast^EPICPROC|||||||||Headache",
    "DG1|1||R51.9^Headache^I10",
)) + "\r"


def order(round_number: int, number: int) -> tuple[str, bytes]:
    """A new order with its own control id, placer number and patient."""
    control = f"K{round_number:03d}-{number:04d}"
    # Distinct people (name, birth date): the duplicate check at registration has nobody to compare.
    birth = f"{1940 + (round_number * 7 + number) % 60}{1 + number % 12:02d}{1 + round_number % 28:02d}"
    return control, ORDER.format(control=control, mrn=f"M{round_number:03d}{number:04d}", birth=birth,
                                 placer=f"PK{round_number:03d}-{number:04d}", round=round_number,
                                 number=number).encode()


@dataclass
class Tally:
    """What the stream saw, over all rounds."""

    sent: dict[str, bytes] = field(default_factory=dict)
    acked: dict[str, bytes] = field(default_factory=dict)
    applied_not_acked: int = 0
    resends_with_stored_ack: int = 0


def stream(port: int, round_number: int, tally: Tally, stop: threading.Event) -> None:
    """Send new orders one after another until the connection breaks (the server was killed)."""
    client = MllpClient("127.0.0.1", port, connect_timeout_s=5, ack_timeout_s=30)
    number = 0
    while not stop.is_set():
        control, raw = order(round_number, number)
        tally.sent[control] = raw
        try:
            reply = client.send(raw)
        except MllpDeliveryError:
            return
        assert b"MSA|AA|" + control.encode() in reply, reply
        tally.acked[control] = reply
        number += 1


def check_database(center_: Center, tally: Tally) -> None:
    """Every ACKed message: one stored row, applied, and one order with its placer number."""
    with center_.engine.connect() as connection:
        rows = connection.execute(select(h.hl7_messages.c.control_id, h.hl7_messages.c.status)).all()
        placers = Counter(p for (p,) in connection.execute(select(t.orders.c.placer_order_number)))
    stored = Counter(control for control, _ in rows)
    status = {control: state for control, state in rows}
    for control in tally.acked:
        assert stored[control] == 1, f"{control} was ACKed but is stored {stored[control]} times"
        assert status[control].value == "applied"
        assert placers["PK" + control[1:]] == 1, f"{control} was ACKed; its order exists {placers['PK' + control[1:]]}x"
    assert all(n == 1 for n in placers.values()), "an order was created twice"


def resend_everything(port: int, tally: Tally) -> None:
    """Send every message again: an ACKed one gets its original ACK, nothing is created twice."""
    with MllpClient("127.0.0.1", port, connect_timeout_s=5, ack_timeout_s=60) as client:
        for control, raw in tally.sent.items():
            reply = client.send(raw)
            assert b"MSA|AA|" + control.encode() in reply, reply
            if control in tally.acked:
                assert reply == tally.acked[control], f"{control}: the resend got a new ACK"
                tally.resends_with_stored_ack += 1
            else:
                tally.acked[control] = reply


def count_applied_not_acked(center_: Center, tally: Tally) -> int:
    with center_.engine.connect() as connection:
        stored = {c for (c,) in connection.execute(select(h.hl7_messages.c.control_id))}
    return len((stored & set(tally.sent)) - set(tally.acked))


# Servers starting ahead of their round: a restart then costs no waiting (start-up is mostly imports).
SPARES = 2


def run_rounds(center_: Center, rounds: int, seed: int) -> Tally:
    """Round i streams to server i and kills it; server i+1 (started meanwhile) checks and resends."""
    chance = random.Random(seed)
    tally = Tally()
    queue: list[ServeProcess] = [center_.serve() for _ in range(min(SPARES, rounds) + 1)]
    servers = list(queue)
    try:
        for round_number in range(rounds):
            active = queue.pop(0)
            active.wait_until_listening()
            if len(servers) < rounds + 1:
                servers.append(center_.serve())
                queue.append(servers[-1])
            spare = queue[0]
            stop = threading.Event()
            sender = threading.Thread(target=stream, args=(active.port, round_number, tally, stop), daemon=True)
            sender.start()
            time.sleep(chance.uniform(0.2, 2.5))
            active.kill()
            stop.set()
            sender.join(60)
            assert not sender.is_alive(), "the sender hung on a killed server"
            check_database(center_, tally)
            tally.applied_not_acked += count_applied_not_acked(center_, tally)
            spare.wait_until_listening()
            resend_everything(spare.port, tally)
            check_database(center_, tally)
    finally:
        for server in servers:
            server.stop()
    return tally


def kill_rounds(default: int) -> int:
    return int(os.environ.get("RADFLOW_HL7_KILL_ROUNDS", default))


def _report(backend: str, rounds: int, tally: Tally, seconds: float) -> None:
    print(f"\nhl7 kill test [{backend}]: {rounds} SIGKILLs, {len(tally.sent)} orders sent, "
          f"{len(tally.acked)} ACKed in the end, {tally.applied_not_acked} committed but killed before the ACK "
          f"(answered on resend with the stored ACK), {tally.resends_with_stored_ack} resends answered with the "
          f"original ACK, 0 lost, 0 duplicated, {seconds:.0f} s")


def test_sigkill_mid_stream_loses_no_acked_message_and_a_resend_creates_nothing(
        backend: str, tmp_path: Path) -> None:
    rounds = kill_rounds(20)
    started = time.monotonic()
    with center(tmp_path, backend, (DATA / "mapping.yaml").read_text()) as center_:
        tally = run_rounds(center_, rounds, seed=20260302)
    assert tally.acked and len(tally.acked) == len(tally.sent)
    _report(backend, rounds, tally, time.monotonic() - started)


@pytest.mark.slow
def test_two_hundred_sigkills_lose_no_acked_message(backend: str, tmp_path: Path) -> None:
    rounds = kill_rounds(200)
    started = time.monotonic()
    with center(tmp_path, backend, (DATA / "mapping.yaml").read_text()) as center_:
        tally = run_rounds(center_, rounds, seed=1234)
    assert len(tally.acked) == len(tally.sent)
    _report(backend, rounds, tally, time.monotonic() - started)
