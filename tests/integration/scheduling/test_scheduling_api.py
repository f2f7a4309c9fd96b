"""Scheduling through the REST API on SQLite and PostgreSQL: search, book, conflict, reschedule, cancel, plan."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from scheduling_world import add_patients, add_ready_orders, ny, seed_capacity

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_scheduler_searches_books_and_a_second_booking_of_the_slot_gets_409(radflow: Radflow,
                                                                              make_user: UserFactory) -> None:
    seed_capacity(radflow)
    first, second = add_ready_orders(radflow, add_patients(radflow, 2))
    client, scheduler = TestClient(create_app(radflow)), make_user("scheduler")
    found = _ok(client.post("/api/slot-searches", headers=scheduler.headers, json={"order_ids": [first]}))
    offer = found["offers"][0]
    assert found["slot_minutes"] == 40 and offer["scanner_id"] in ("MR1", "MR2")
    booked = _ok(client.post("/api/appointments", headers=scheduler.headers, json={
        "order_id": first, "scanner_id": offer["scanner_id"], "start": offer["start"]}), 201)
    assert booked["state"] == "booked" and booked["start"] == offer["start"]
    clash = client.post("/api/appointments", headers=scheduler.headers, json={
        "order_id": second, "scanner_id": offer["scanner_id"], "start": offer["start"]})
    assert clash.status_code == 409 and "already booked" in clash.text
    order = _ok(client.get(f"/api/orders/{first}", headers=scheduler.headers))
    assert order["state"] == "scheduled"


def test_rescheduling_and_cancelling_through_the_api(radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    (order,) = add_ready_orders(radflow, add_patients(radflow, 1))
    client, scheduler = TestClient(create_app(radflow)), make_user("scheduler")
    made = _ok(client.post("/api/appointments", headers=scheduler.headers, json={
        "order_id": order, "scanner_id": "MR1", "start": ny(3, 9).isoformat()}), 201)
    moved = _ok(client.post(f"/api/appointments/{made['id']}/reschedule", headers=scheduler.headers, json={
        "scanner_id": "MR2", "start": ny(4, 21).isoformat(), "reason": "evening suits the patient"}))
    assert (moved["scanner_id"], moved["start"]) == ("MR2", ny(4, 21).isoformat())
    refused = client.post(f"/api/appointments/{made['id']}/reschedule", headers=scheduler.headers, json={
        "scanner_id": "MR1", "start": ny(4, 21).isoformat(), "reason": "try MR1 at night"})
    assert refused.status_code == 422 and "closed" in refused.json()["detail"]
    cancelled = _ok(client.post(f"/api/appointments/{made['id']}/cancel", headers=scheduler.headers,
                                json={"reason": "patient moved away"}))
    assert cancelled["state"] == "cancelled"
    listed = _ok(client.get("/api/appointments", headers=scheduler.headers, params={"order_id": order}))
    assert [a["state"] for a in listed["appointments"]] == ["cancelled"]


def test_a_manager_sees_the_dashboard_and_the_day_sheet(radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    (order,) = add_ready_orders(radflow, add_patients(radflow, 1))
    client, scheduler, manager = TestClient(create_app(radflow)), make_user("scheduler"), make_user("manager")
    _ok(client.post("/api/appointments", headers=scheduler.headers, json={
        "order_id": order, "scanner_id": "MR1", "start": ny(3, 9).isoformat()}), 201)
    board = _ok(client.get("/api/capacity/dashboard", headers=manager.headers, params={"days": 7}))
    mr1_tuesday = next(x for x in board["loads"] if x["scanner_id"] == "MR1" and x["day"] == "2026-03-03")
    assert (mr1_tuesday["open_minutes"], mr1_tuesday["booked_minutes"]) == (720, 40)
    sheet = _ok(client.get("/api/schedule/2026-03-03", headers=manager.headers))
    mr1 = next(row for row in sheet["scanners"] if row["scanner_id"] == "MR1")
    assert [a["order_id"] for a in mr1["appointments"]] == [order]


def test_the_backlog_plan_is_proposed_and_accepted_through_the_api(radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    orders = add_ready_orders(radflow, add_patients(radflow, 3))
    client, scheduler = TestClient(create_app(radflow)), make_user("scheduler")
    plan = _ok(client.post("/api/backlog/plans", headers=scheduler.headers,
                           json={"days": 3, "seconds": 2, "policy": "optimize"}), 201)
    assert {line["order_id"] for line in plan["lines"]} == set(orders)
    assert all(line["status"] == "proposed" for line in plan["lines"])
    result = _ok(client.post(f"/api/backlog/plans/{plan['id']}/accept", headers=scheduler.headers, json={}))
    assert (result["booked"], result["failed"]) == (3, 0)
    for order in orders:
        assert _ok(client.get(f"/api/orders/{order}", headers=scheduler.headers))["state"] == "scheduled"


def test_a_referrer_cannot_book_and_a_front_desk_cannot_change_capacity(radflow: Radflow,
                                                                         make_user: UserFactory) -> None:
    seed_capacity(radflow)
    (order,) = add_ready_orders(radflow, add_patients(radflow, 1))
    client = TestClient(create_app(radflow))
    referrer, desk = make_user("referring_provider", npi="1234567893"), make_user("front_desk")
    assert client.post("/api/appointments", headers=referrer.headers, json={
        "order_id": order, "scanner_id": "MR1", "start": ny(3, 9).isoformat()}).status_code == 403
    assert client.post("/api/capacity/closures", headers=desk.headers, json={
        "kind": "downtime", "reason": "x", "scanner_id": "MR1", "start": ny(3, 9).isoformat(),
        "end": ny(3, 10).isoformat()}).status_code == 403
