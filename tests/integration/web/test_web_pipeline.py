"""The two pipeline examples through the screens' forms, and what the forms do with bad input."""

from __future__ import annotations

import re

import pytest
from web_support import NPI, Browser, BrowserFactory, add_coverage, refer, register_patient, timeline_changes

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.services.views import GetOrder, OrderDetail
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def patient_links(html: str) -> set[str]:
    """Ids of the patients a page links to."""
    return set(re.findall(r'href="/patients/([0-9a-f]{32})"', html))


def order_of(radflow: Radflow, order_id: str) -> OrderDetail:
    detail: OrderDetail = radflow.bus.handle(GetOrder(actor=Principal.system("t", role=Role.ADMIN), order_id=order_id))
    return detail


def register_through_form(intake: Browser, family: str, given: str = "Maria", birth: str = "1968-04-12",
                          phone: str = "555-201-0001") -> str:
    """Register a patient on the form (step one of a new referral) and return their id."""
    response = intake.post("/patients/new", {"then": "referral", "family_name": family, "given_name": given,
                                              "birth_date": birth, "sex": "F", "phone": phone})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/intake/referrals/new?patient_id=")
    return location.rsplit("=", 1)[1]


def referral_form(patient_id: str, **line: str) -> dict[str, str]:
    """A referral with new Aetna coverage and one exam line."""
    form = {"patient_id": patient_id, "channel": "fax", "source_organization": "Riverside Family Practice",
            "ordering_provider_name": "Dr. Robin Referrer", "ordering_provider_npi": NPI, "reply_fax": "555-300-4000",
            "coverage_choice": "new", "payer_id": "aetna_commercial", "member_id": "W123456",
            "lines-0-priority": "routine", "lines-0-setting": "outpatient"}
    form.update({f"lines-0-{key}": value for key, value in line.items()})
    return form


def test_mri_lumbar_spine_referral_reaches_ready_to_schedule_through_the_screens(
        radflow: Radflow, browser_for: BrowserFactory, clock: FakeClock) -> None:
    intake, radiologist, coordinator = browser_for("intake"), browser_for("radiologist"), browser_for("authorization")
    patient_id = register_through_form(intake, "Rivera")
    response = intake.post("/intake/referrals/new", referral_form(
        patient_id, protocol_code="MR-LSPINE", diagnosis_codes="M54.16",
        reason_for_exam="Low back pain radiating to the left leg for 8 weeks"),
        files={"referral_file": ("referral.pdf", b"%PDF-1.4 faxed referral", "application/pdf")})
    assert response.status_code == 303, response.text
    order_id = response.headers["location"].rsplit("/", 1)[1]
    detail = intake.get(f"/orders/{order_id}").text
    assert "Awaiting protocol" in detail and "referral.pdf" in detail

    clock.advance(minutes=40)
    queue = radiologist.sign_in().get("/protocoling").text
    assert order_id in queue and "40 min" in queue  # waiting time since received
    form = radiologist.get(f"/orders/{order_id}/protocol").text
    assert "CPT 72148, 30 min" in form and "CPT 72158, 45 min" in form
    response = radiologist.post(f"/orders/{order_id}/protocol", {"protocol_code": "MR-LSPINE", "contrast": "without",
                                                                 "special_instructions": "Sagittal STIR"})
    assert response.status_code == 303, response.text

    clock.advance(hours=3)
    assert order_id in coordinator.sign_in().get("/authorization").text
    assert coordinator.post(f"/orders/{order_id}/authorization/submit",
                            {"payer_reference": "EVI-77120"}).status_code == 303
    clock.advance(hours=20)
    assert coordinator.sign_in().post(f"/orders/{order_id}/authorization/approve",
                            {"authorization_number": "A9981234"}).status_code == 303

    assert order_of(radflow, order_id).order.state.value == "ready_to_schedule"
    page = coordinator.get(f"/orders/{order_id}").text
    names = (intake.principal.display_name, radiologist.principal.display_name, coordinator.principal.display_name)
    assert timeline_changes(page) == [
        ("2026-03-02 09:00 EST", "Received", names[0]),
        ("2026-03-02 09:00 EST", "Awaiting protocol", names[0]),
        ("2026-03-02 09:40 EST", "Pending authorization", names[1]),
        ("2026-03-03 08:40 EST", "Ready to schedule", names[2]),
    ]
    assert "A9981234" in page and "aetna-high-tech-radiology" in page and "72148" in page


def test_ct_missing_diagnosis_code_waits_for_documentation_then_reaches_ready_to_schedule(
        radflow: Radflow, browser_for: BrowserFactory) -> None:
    intake, radiologist, coordinator = browser_for("intake"), browser_for("radiologist"), browser_for("authorization")
    patient_id = register_through_form(intake, "Chen")
    response = intake.post("/intake/referrals/new", referral_form(
        patient_id, protocol_code="CT-ABDPEL", contrast="with", reason_for_exam="Right lower quadrant pain"))
    order_id = response.headers["location"].rsplit("/", 1)[1]
    queue = intake.get("/intake").text
    assert order_id in queue and "ICD-10-CM diagnosis code" in queue  # what is missing, in the queue

    response = intake.post(f"/orders/{order_id}/documentation", {"diagnosis_codes": "R10.31",
                                                                 "note": "code phoned in by the office"})
    assert response.status_code == 303, response.text
    assert order_of(radflow, order_id).order.state.value == "awaiting_protocol"
    radiologist.post(f"/orders/{order_id}/protocol", {"protocol_code": "CT-ABDPEL", "contrast": "with"})
    coordinator.post(f"/orders/{order_id}/authorization/submit", {"payer_reference": "E2"})
    coordinator.post(f"/orders/{order_id}/authorization/approve", {"authorization_number": "A2"})

    page = intake.get(f"/orders/{order_id}").text
    steps = [(state, who) for _when, state, who in timeline_changes(page)]
    assert steps == [
        ("Received", intake.principal.display_name), ("Awaiting documentation", intake.principal.display_name),
        ("Received", intake.principal.display_name), ("Awaiting protocol", intake.principal.display_name),
        ("Pending authorization", radiologist.principal.display_name),
        ("Ready to schedule", coordinator.principal.display_name),
    ]
    assert "code phoned in by the office" in page


def test_a_malformed_icd10_code_is_shown_beside_its_field_and_what_was_typed_is_kept(
        radflow: Radflow, browser_for: BrowserFactory) -> None:
    intake = browser_for("intake")
    patient_id = register_patient(radflow)
    response = intake.post("/intake/referrals/new", referral_form(
        patient_id, protocol_code="CT-HEAD", contrast="without", diagnosis_codes="R51.X",
        reason_for_exam="Thunderclap headache"))
    assert response.status_code == 422
    beside_field = r'id="lines-0-diagnosis_codes-error">ICD-10 code &#39;R51.X&#39; is not well-formed'
    assert re.search(beside_field, response.text)
    assert 'value="Thunderclap headache"' in response.text or ">Thunderclap headache</textarea>" in response.text
    assert "Traceback" not in response.text
    assert "No orders here" in intake.get("/orders").text


def test_a_wrong_npi_check_digit_is_refused_with_the_expected_digit(radflow: Radflow,
                                                                    browser_for: BrowserFactory) -> None:
    intake = browser_for("intake")
    form = referral_form(register_patient(radflow), protocol_code="CT-HEAD", contrast="without",
                         diagnosis_codes="R51.9", reason_for_exam="headache for two weeks")
    form["ordering_provider_npi"] = "1234567890"
    response = intake.post("/intake/referrals/new", form)
    assert response.status_code == 422
    assert "fails its check digit (expected last digit 3)" in response.text
    assert 'aria-invalid="true"' in response.text


def test_an_approval_already_expired_is_refused_on_the_form(radflow: Radflow, browser_for: BrowserFactory) -> None:
    coordinator, radiologist = browser_for("authorization"), browser_for("radiologist")
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    radiologist.post(f"/orders/{order_id}/protocol", {"protocol_code": "MR-LSPINE", "contrast": "without"})
    coordinator.post(f"/orders/{order_id}/authorization/submit", {"payer_reference": "EVI-1"})
    response = coordinator.post(f"/orders/{order_id}/authorization/approve",
                                {"authorization_number": "A1", "valid_until": "2026-01-31"})
    assert response.status_code == 422
    assert "the approval&#39;s validity has already ended" in response.text
    assert 'value="A1"' in response.text
    assert order_of(radflow, order_id).order.state.value == "pending_authorization"


def test_an_action_the_state_does_not_allow_is_explained_not_crashed(radflow: Radflow,
                                                                     browser_for: BrowserFactory) -> None:
    coordinator = browser_for("authorization")
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]  # awaiting protocol
    response = coordinator.post(f"/orders/{order_id}/authorization/approve", {"authorization_number": "A1"})
    assert response.status_code == 409
    assert "awaiting_protocol" in response.text and "<h1>Order" in response.text


def test_detail_offers_only_the_actions_the_state_allows(radflow: Radflow, browser_for: BrowserFactory) -> None:
    coordinator = browser_for("authorization")
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]  # awaiting protocol
    page = coordinator.get(f"/orders/{order_id}").text
    assert "/authorization/approve" not in page and "/authorization/submit" not in page
    assert f"/orders/{order_id}/protocol" not in page  # a coordinator does not protocol


def test_denial_then_substitute_study_sends_the_order_through_the_checks_again(
        radflow: Radflow, browser_for: BrowserFactory) -> None:
    coordinator, radiologist = browser_for("authorization"), browser_for("radiologist")
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    radiologist.post(f"/orders/{order_id}/protocol", {"protocol_code": "MR-LSPINE", "contrast": "without"})
    coordinator.post(f"/orders/{order_id}/authorization/submit", {"payer_reference": "EVI-1"})
    coordinator.post(f"/orders/{order_id}/authorization/deny", {"reason": "conservative therapy not documented"})
    page = coordinator.get(f"/orders/{order_id}").text
    assert "conservative therapy not documented" in page and "/substitute" in page and "/authorization/resubmit" in page
    response = coordinator.post(f"/orders/{order_id}/substitute", {"protocol_code": "DX-LSPINE",
                                                                   "reason": "payer allows radiographs first"})
    assert response.status_code == 303, response.text
    assert order_of(radflow, order_id).order.protocol_code == "DX-LSPINE"


def test_probable_duplicates_are_shown_before_a_second_record_is_made(radflow: Radflow,
                                                                     browser_for: BrowserFactory) -> None:
    intake = browser_for("intake")
    existing = register_patient(radflow, "Okafor", "Maria", phone="555-201-0001")
    typed = {"then": "referral", "family_name": "OKAFOR", "given_name": "Maria", "birth_date": "1968-04-12",
             "sex": "F", "phone": "(555) 201-0001"}
    response = intake.post("/patients/new", typed)
    assert response.status_code == 200
    assert "Probably already registered" in response.text
    assert f"/intake/referrals/new?patient_id={existing}" in response.text  # "use this patient"
    assert len(patient_links(intake.get("/patients?q=Okafor").text)) == 1  # nothing created yet
    response = intake.post("/patients/new", {**typed, "confirmed_new": "1"})
    assert response.status_code == 303
    found = intake.get("/patients?q=Okafor").text
    assert found.count("Probable duplicate") == 1  # the new record is flagged


def test_merging_a_duplicate_moves_its_orders_to_the_surviving_record(radflow: Radflow,
                                                                      browser_for: BrowserFactory) -> None:
    intake = browser_for("intake")
    survivor = register_patient(radflow, "Okafor", "Maria")
    duplicate = register_patient(radflow, "Okafor", "Maria")
    order_id = refer(radflow, duplicate, add_coverage(radflow, duplicate)).order_ids[0]
    page = intake.get(f"/patients/{duplicate}").text
    assert "Probable duplicates" in page
    refused = intake.post(f"/patients/{survivor}/merge", {"merged_id": duplicate})
    assert refused.status_code == 422 and "same person" in refused.text
    response = intake.post(f"/patients/{survivor}/merge", {"merged_id": duplicate, "confirmed_same_person": "1"})
    assert response.status_code == 303
    assert order_of(radflow, order_id).order.patient_id == survivor
    assert order_id in intake.get(f"/patients/{survivor}").text
