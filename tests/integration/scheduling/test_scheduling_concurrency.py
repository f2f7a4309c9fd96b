"""Many schedulers booking the same slots at once: zero overlaps, exactly one winner, every loser a clear conflict.

Real threads call the booking service through the bus, each round released together by a barrier.
Even rounds: every client books a different patient into the same slot of one scanner. Odd rounds:
every client books the same patient, half on the CT and half on the MR ten minutes later. The
short variant runs in the default suite; 50 clients × 200 rounds under `make test-long`.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta

import pytest
from scheduling_world import SCHEDULER, add_patients, add_ready_orders, ny, seed_capacity
from sqlalchemy import text

from radflow.bootstrap import Radflow
from radflow.domain.errors import Conflict
from radflow.services.scheduling.booking import BookAppointment
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)

CLEAR = ("is already booked", "has another exam", "already has an exam booked", "already has a booked appointment",
         "at the same moment")
SLOT = timedelta(minutes=40)  # MR-LSPINE: 30 min + 10 turnover; CT-HEAD fits inside it too

OVERLAPS = text("""
    SELECT COUNT(*) FROM scheduling_appointments a JOIN scheduling_appointments b
      ON a.id < b.id AND a.state = 'booked' AND b.state = 'booked'
     AND a.start < b."end" AND b.start < a."end"
     AND ((a.scanner_id = b.scanner_id AND a.lane = b.lane) OR a.patient_id = b.patient_id)""")


def _contest(radflow: Radflow, clients: int, rounds: int) -> list[list[str]]:
    seed_capacity(radflow)
    patients = add_patients(radflow, clients + rounds)
    shared = patients[clients:]
    plans: list[list[tuple[str, str, datetime]]] = []
    mr_orders = add_ready_orders(radflow, [patients[k] if r % 2 == 0 else shared[r]
                                           for r in range(rounds) for k in range(clients)])
    ct_orders = add_ready_orders(radflow, [shared[r] for r in range(rounds) for _ in range(clients)], "CT-HEAD")
    base = ny(4, 0)
    for r in range(rounds):
        start = base + r * SLOT
        line = []
        for k in range(clients):
            index = r * clients + k
            if r % 2 == 0 or k % 2 == 0:
                line.append((mr_orders[index], "MR2", start))
            else:
                line.append((ct_orders[index], "CT1", start - timedelta(minutes=10)))
        plans.append(line)
    outcomes = [["" for _ in range(clients)] for _ in range(rounds)]
    barrier = threading.Barrier(clients)
    failures: list[BaseException] = []

    def client(k: int) -> None:
        try:
            for r in range(rounds):
                order_id, scanner_id, start = plans[r][k]
                barrier.wait(timeout=120)
                try:
                    radflow.bus.handle(BookAppointment(actor=SCHEDULER, order_id=order_id, scanner_id=scanner_id,
                                                       start=start))
                    outcomes[r][k] = "booked"
                except Conflict as refused:
                    outcomes[r][k] = refused.message
        except BaseException as error:  # a thread's failure must fail the test, not vanish
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    return outcomes


def _check(radflow: Radflow, outcomes: list[list[str]]) -> None:
    for number, results in enumerate(outcomes):
        assert results.count("booked") == 1, f"round {number}: {results}"
        losers = [r for r in results if r != "booked"]
        assert all(any(phrase in r for phrase in CLEAR) for r in losers), f"round {number}: {losers}"
    with radflow.engine.connect() as connection:
        assert connection.execute(OVERLAPS).scalar_one() == 0
        booked = connection.execute(text("SELECT COUNT(*) FROM scheduling_appointments WHERE state = 'booked'"))
        assert booked.scalar_one() == len(outcomes)
        scheduled = connection.execute(text("SELECT COUNT(*) FROM orders WHERE state = 'scheduled'"))
        assert scheduled.scalar_one() == len(outcomes)


def test_concurrent_schedulers_never_double_book(radflow: Radflow) -> None:
    _check(radflow, _contest(radflow, clients=8, rounds=20))


@pytest.mark.slow
def test_fifty_concurrent_schedulers_for_two_hundred_rounds_never_double_book(radflow: Radflow) -> None:
    # RADFLOW_SLOW_ROUNDS shortens the run by hand (e.g. 20 on a busy machine); make test-long runs 200.
    _check(radflow, _contest(radflow, clients=50, rounds=int(os.environ.get("RADFLOW_SLOW_ROUNDS", "200"))))
