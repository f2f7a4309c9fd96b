"""The database itself refuses overlapping bookings (not only the check before the write), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from scheduling_world import add_patients, add_ready_orders, ny, seed_capacity
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from radflow.adapters.db.scheduling_tables import scheduling_appointments
from radflow.bootstrap import Radflow
from radflow.domain.ids import new_id
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def _row(order_id: str, patient_id: str, scanner: str, start: datetime, minutes: int = 40, lane: int = 0,
         state: str = "booked") -> dict[str, object]:
    return {"id": new_id(), "order_id": order_id, "patient_id": patient_id, "scanner_id": scanner, "site_id": "MAIN",
            "lane": lane, "start": start, "end": start + timedelta(minutes=minutes), "patient_from": start,
            "state": state, "booked_at": start, "booked_by": "test", "visit_id": "", "overbooking_policy": "",
            "cancel_reason": "", "version": 1, "log": []}


def _insert(radflow: Radflow, *rows: dict[str, object]) -> None:
    with radflow.engine.begin() as connection:
        connection.execute(insert(scheduling_appointments), list(rows))


@pytest.fixture
def world(radflow: Radflow) -> tuple[list[str], list[str]]:
    seed_capacity(radflow)
    patients = add_patients(radflow, 3)
    return patients, add_ready_orders(radflow, [*patients, patients[0]])


def test_an_overlap_on_one_scanner_lane_is_refused_by_the_database(radflow: Radflow, world: tuple[list[str], list[str]]
                                                                   ) -> None:
    patients, orders = world
    _insert(radflow, _row(orders[0], patients[0], "MR1", ny(3, 9)))
    with pytest.raises(IntegrityError, match="scheduling_no_lane_overlap"):
        _insert(radflow, _row(orders[1], patients[1], "MR1", ny(3, 9, 30)))
    _insert(radflow, _row(orders[1], patients[1], "MR1", ny(3, 9, 40)))  # back to back is fine
    _insert(radflow, _row(orders[2], patients[2], "MR1", ny(3, 9, 10), lane=1))  # another lane is another schedule


def test_one_patient_in_two_rooms_at_once_is_refused_by_the_database(radflow: Radflow,
                                                                      world: tuple[list[str], list[str]]) -> None:
    patients, orders = world
    _insert(radflow, _row(orders[0], patients[0], "MR1", ny(3, 9)))
    with pytest.raises(IntegrityError, match="scheduling_no_patient_overlap"):
        _insert(radflow, _row(orders[3], patients[0], "CT1", ny(3, 9, 20)))


def test_a_second_live_appointment_for_one_order_is_refused(radflow: Radflow,
                                                             world: tuple[list[str], list[str]]) -> None:
    patients, orders = world
    _insert(radflow, _row(orders[0], patients[0], "MR1", ny(3, 9)))
    with pytest.raises(IntegrityError, match=r"uq_scheduling_live_appointment_per_order|appointments\.order_id"):
        _insert(radflow, _row(orders[0], patients[0], "MR2", ny(4, 9)))


def test_cancelled_appointments_hold_no_time(radflow: Radflow, world: tuple[list[str], list[str]]) -> None:
    patients, orders = world
    _insert(radflow, _row(orders[0], patients[0], "MR1", ny(3, 9), state="cancelled"))
    _insert(radflow, _row(orders[1], patients[1], "MR1", ny(3, 9)))


def test_moving_a_booking_onto_another_is_refused_too(radflow: Radflow, world: tuple[list[str], list[str]]) -> None:
    patients, orders = world
    first, second = _row(orders[0], patients[0], "MR1", ny(3, 9)), _row(orders[1], patients[1], "MR1", ny(3, 11))
    _insert(radflow, first, second)
    with pytest.raises(IntegrityError, match="scheduling_no_lane_overlap"), radflow.engine.begin() as connection:
        connection.execute(update(scheduling_appointments).where(scheduling_appointments.c.id == second["id"])
                           .values(start=ny(3, 9, 20), end=ny(3, 10)))
