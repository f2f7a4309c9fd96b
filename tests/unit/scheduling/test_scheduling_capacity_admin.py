"""Managing capacity: closures never strand booked patients, overbooking changes only by its own audited command."""

from __future__ import annotations

from datetime import date

import pytest
from scheduling_center import SchedulingCenter, ny, scanner

from radflow.domain.errors import Conflict, Forbidden, ValidationError
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import (
    AddClosure,
    GetCapacity,
    RemoveClosure,
    SaveScanner,
    SetOverbookingPolicy,
)


def test_a_closure_over_booked_time_is_refused_until_the_appointments_move(center: SchedulingCenter) -> None:
    center.bus.handle(BookAppointment(actor=center.scheduler, order_id=center.order("MR-LSPINE"), scanner_id="MR1",
                                      start=ny(3, 9)))
    with pytest.raises(Conflict, match="1 booked appointment"):
        center.bus.handle(AddClosure(actor=center.manager, kind="downtime", scanner_id="MR1", reason="gradient coil",
                                     start=ny(3, 8), end=ny(3, 12)))
    with pytest.raises(Conflict, match="booked appointment"):
        center.bus.handle(AddClosure(actor=center.manager, kind="holiday", site_id="MAIN", day=date(2026, 3, 3),
                                     reason="storm"))
    # Another scanner, or a supervision gap (contrast stops, the MRI without contrast goes on), is fine.
    center.bus.handle(AddClosure(actor=center.manager, kind="downtime", scanner_id="MR2", reason="software update",
                                 start=ny(3, 8), end=ny(3, 12)))
    center.bus.handle(AddClosure(actor=center.manager, kind="no_supervision", site_id="MAIN",
                                 reason="radiologist at tumour board", start=ny(3, 8), end=ny(3, 12)))


def test_a_closure_can_be_withdrawn_and_the_capacity_comes_back(center: SchedulingCenter) -> None:
    closure = center.bus.handle(AddClosure(actor=center.manager, kind="maintenance", scanner_id="CT1",
                                           reason="tube", start=ny(3, 7), end=ny(3, 19)))
    view = center.bus.handle(GetCapacity(actor=center.manager, start=ny(3, 0), end=ny(4, 0)))
    assert [c.id for c in view.closures] == [closure]
    center.bus.handle(RemoveClosure(actor=center.manager, closure_id=closure))
    assert center.bus.handle(GetCapacity(actor=center.manager, start=ny(3, 0), end=ny(4, 0))).closures == ()


def test_saving_a_scanner_keeps_its_overbooking_policy(center: SchedulingCenter) -> None:
    center.bus.handle(SetOverbookingPolicy(actor=center.manager, scanner_id="MR1", lanes=1, reason="no-shows 14%"))
    center.bus.handle(SaveScanner(actor=center.manager, document={**scanner("MR1", "MR", capabilities=("1.5T",)),
                                                                  "overbooking_lanes": 3}))
    view = center.bus.handle(GetCapacity(actor=center.manager, start=ny(3, 0), end=ny(4, 0)))
    assert next(s for s in view.scanners if s.id == "MR1").overbooking_lanes == 1


def test_withdrawing_a_lane_in_use_is_refused(center: SchedulingCenter) -> None:
    center.bus.handle(SetOverbookingPolicy(actor=center.manager, scanner_id="MR1", lanes=1, reason="no-shows 14%"))
    center.bus.handle(BookAppointment(actor=center.scheduler, order_id=center.order("MR-LSPINE"), scanner_id="MR1",
                                      start=ny(3, 9), lane=1))
    with pytest.raises(Conflict, match="lanes above 0"):
        center.bus.handle(SetOverbookingPolicy(actor=center.manager, scanner_id="MR1", lanes=0, reason=""))


def test_an_overbooking_policy_needs_a_reason_and_a_manager(center: SchedulingCenter) -> None:
    with pytest.raises(ValidationError, match="reason"):
        center.bus.handle(SetOverbookingPolicy(actor=center.manager, scanner_id="MR1", lanes=1, reason=" "))
    with pytest.raises(Forbidden):
        center.bus.handle(SetOverbookingPolicy(actor=center.scheduler, scanner_id="MR1", lanes=1, reason="busy"))
