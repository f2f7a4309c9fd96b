"""Through the screens: the foundation's MRI lumbar spine order is booked on a suitable scanner."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from scheduling_world import seed_capacity

from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services import authorizations as auth
from radflow.services.order_changes import AssignProtocol
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.patients import AddCoverage, RegisterPatient
from radflow.services.scheduling.ports import appointments
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def mri_lumbar_spine_ready(radflow: Radflow) -> str:
    """The foundation's first example: MR lumbar spine, protocolled, authorized by the payer."""
    intake = Principal.system("seed", role=Role.INTAKE)
    patient = radflow.bus.handle(RegisterPatient(actor=intake, family_name="Rivera", given_name="Maria",
                                                 birth_date=date(1968, 4, 12), sex="F", phone="555-201-0001"))
    coverage = radflow.bus.handle(AddCoverage(actor=intake, patient_id=patient.patient_id,
                                              payer_id="aetna_commercial", member_id="W123456"))
    referral = radflow.bus.handle(ReceiveReferral(actor=intake, patient_id=patient.patient_id, channel="fax", lines=(
        OrderLine(protocol_code="MR-LSPINE", reason_for_exam="Low back pain radiating to the leg",
                  diagnosis_codes=("M54.16",), ordering_provider_npi="1234567893",
                  ordering_provider_name="Dr. Robin Referrer", coverage_id=coverage),)))
    order_id: str = referral.order_ids[0]
    radflow.bus.handle(AssignProtocol(actor=Principal.system("rad", role=Role.RADIOLOGIST), order_id=order_id,
                                      contrast="without"))
    coordinator = Principal.system("auth", role=Role.AUTHORIZATION)
    radflow.bus.handle(auth.SubmitAuthorization(actor=coordinator, order_id=order_id, payer_reference="EVI-1"))
    radflow.bus.handle(auth.ApproveAuthorization(actor=coordinator, order_id=order_id, authorization_number="A99"))
    return order_id


def test_the_mri_lumbar_spine_order_is_booked_on_a_suitable_scanner_through_the_screens(
        radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    order_id = mri_lumbar_spine_ready(radflow)
    scheduler = make_user("scheduler")
    browser = TestClient(create_app(radflow))
    login = browser.get("/login")
    signed = browser.post("/login", data={"username": scheduler.principal.username, "password": scheduler.password,
                                          "csrf_token": CSRF.search(login.text).group(1)}, follow_redirects=False)
    assert signed.status_code == 303
    queue = browser.get("/scheduling")
    assert queue.status_code == 200 and f"/scheduling/orders/{order_id}" in queue.text
    options = browser.get(f"/scheduling/orders/{order_id}")
    assert options.status_code == 200 and "Book" in options.text
    first_form = options.text.split(f'action="/scheduling/orders/{order_id}/book"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', first_form))
    booked = browser.post(f"/scheduling/orders/{order_id}/book", data=fields, follow_redirects=False)
    assert booked.status_code == 303, booked.text
    day = browser.get(booked.headers["location"])
    assert day.status_code == 200 and "booked" in day.text and "<svg" in day.text
    with radflow.uow() as uow:
        appointment = appointments(uow).live_for_order(order_id)
        assert appointment is not None and appointment.scanner_id in ("MR1", "MR2")
        assert uow.orders.get(order_id).state.value == "scheduled"
    capacity = browser.get("/scheduling/capacity")
    assert capacity.status_code == 200 and capacity.text.count("<svg") >= 3


def test_a_taken_slot_is_refused_on_the_form_with_the_reason(radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    order_id = mri_lumbar_spine_ready(radflow)
    scheduler = make_user("scheduler")
    browser = TestClient(create_app(radflow))
    login = browser.get("/login")
    browser.post("/login", data={"username": scheduler.principal.username, "password": scheduler.password,
                                 "csrf_token": CSRF.search(login.text).group(1)})
    page = browser.get(f"/scheduling/orders/{order_id}")
    token = CSRF.search(page.text).group(1)
    refused = browser.post(f"/scheduling/orders/{order_id}/book", data={
        "csrf_token": token, "scanner_id": "MR1", "start": "2026-03-03T03:00:00+00:00"}, follow_redirects=False)
    assert refused.status_code == 422 and "closed" in refused.text
