"""FHIR Schedule, Slot and Appointment: an EHR finds a slot, books it, moves it and cancels it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot
from scheduling_world import add_patients, add_ready_orders, ny, seed_capacity

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import ApiUser, UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
FHIR = {"Content-Type": "application/fhir+json"}


def _get(client: TestClient, user: ApiUser, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_ehr_books_a_computed_slot_moves_it_and_cancels_it(radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    first, second = add_ready_orders(radflow, add_patients(radflow, 2))
    client, ehr = TestClient(create_app(radflow)), make_user("integration")
    schedules = _get(client, ehr, "/fhir/Schedule")
    Bundle.model_validate(schedules)
    assert {e["resource"]["id"] for e in schedules["entry"]} == {"MR1", "MR2", "CT1"}
    Schedule.model_validate(schedules["entry"][0]["resource"])
    slots = _get(client, ehr, "/fhir/Slot", **{"service-request": f"ServiceRequest/{first}"})
    slot = slots["entry"][0]["resource"]
    Slot.model_validate(slot)
    assert slot["status"] == "free"
    created = client.post("/fhir/Appointment", headers={**ehr.headers, **FHIR}, json={
        "resourceType": "Appointment", "status": "booked", "basedOn": [{"reference": f"ServiceRequest/{first}"}],
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [{"actor": {"reference": "Patient/x"}, "status": "accepted"}]})
    assert created.status_code == 201, created.text
    appointment = created.json()
    Appointment.model_validate(appointment)
    assert (appointment["status"], appointment["start"]) == ("booked", slot["start"])
    assert created.headers["Location"].startswith("http://testserver/fhir/Appointment/")
    now_busy = _get(client, ehr, f"/fhir/Slot/{slot['id']}")
    assert now_busy["status"] == "busy"
    clash = client.post("/fhir/Appointment", headers={**ehr.headers, **FHIR}, json={
        "resourceType": "Appointment", "status": "booked", "basedOn": [{"reference": f"ServiceRequest/{second}"}],
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [{"actor": {"reference": "Patient/y"}, "status": "accepted"}]})
    assert clash.status_code == 409 and clash.json()["resourceType"] == "OperationOutcome"
    moved = client.put(f"/fhir/Appointment/{appointment['id']}", headers={**ehr.headers, **FHIR}, json={
        **appointment, "slot": [], "start": ny(4, 21).isoformat(), "comment": "patient works days",
        "participant": [*appointment["participant"][:1], {"actor": {
            "identifier": {"system": "urn:radflow:scanner", "value": "MR2"}}, "status": "accepted"}]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"].startswith("2026-03-05T02:00")  # 21:00 New York
    cancelled = client.put(f"/fhir/Appointment/{appointment['id']}", headers={**ehr.headers, **FHIR}, json={
        **moved.json(), "status": "cancelled", "cancelationReason": {"text": "patient declined"}})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    found = _get(client, ehr, "/fhir/Appointment", **{"based-on": f"ServiceRequest/{first}"})
    assert [e["resource"]["status"] for e in found["entry"]] == ["cancelled"]


def test_a_scanner_s_free_and_busy_time_as_slots(radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    (order,) = add_ready_orders(radflow, add_patients(radflow, 1))
    client, scheduler = TestClient(create_app(radflow)), make_user("scheduler")
    booked = client.post("/api/appointments", headers=scheduler.headers, json={
        "order_id": order, "scanner_id": "MR1", "start": ny(3, 9).isoformat()})
    assert booked.status_code == 201, booked.text
    bundle = _get(client, scheduler, "/fhir/Slot", schedule="Schedule/MR1",
                  start=[f"ge{ny(3, 0).isoformat()}", f"lt{ny(4, 0).isoformat()}"])
    slots = [(e["resource"]["status"], e["resource"]["start"], e["resource"]["end"]) for e in bundle["entry"]]
    assert ("busy", "2026-03-03T14:00:00Z", "2026-03-03T14:40:00Z") in slots
    assert ("free", "2026-03-03T12:00:00Z", "2026-03-03T14:00:00Z") in slots
    unknown = client.get("/fhir/Schedule/NOPE", headers=scheduler.headers)
    assert unknown.status_code == 404 and unknown.json()["resourceType"] == "OperationOutcome"
