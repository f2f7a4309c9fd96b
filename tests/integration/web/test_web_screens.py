"""What the queues, the board, the fax inbox and the order detail show, in the center's time."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from web_support import Browser, BrowserFactory, add_coverage, refer, register_patient, table_rows

from radflow.adapters.passwords import Argon2Hasher
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services.documents import IngestFax
from radflow.services.views import GetOrder, GetPatient, OrderDetail, PatientDetail
from radflow_test_support import UserFactory

ADMIN = Principal.system("t", role=Role.ADMIN)


def test_intake_queue_lists_what_is_missing_with_age_and_target(radflow: Radflow, browser_for: BrowserFactory,
                                                               clock: FakeClock) -> None:
    patient_id = register_patient(radflow)
    refer(radflow, patient_id, None, codes=())  # no diagnosis code, no coverage
    clock.advance(timedelta(days=3, hours=4))
    page = browser_for("intake").get("/intake").text
    rows = table_rows(page, "orders")  # waiting for documentation
    assert rows, page
    state_cell = rows[0][3]
    assert "ICD-10-CM diagnosis code" in state_cell and "insurance details" in state_cell
    assert rows[0][5] == "3 d 4 h"  # waiting since received
    assert rows[0][6] == "due in 6 d 20 h"  # routine track: 10 days


def test_an_order_past_its_target_is_marked_overdue(radflow: Radflow, browser_for: BrowserFactory,
                                                   clock: FakeClock) -> None:
    patient_id = register_patient(radflow)
    refer(radflow, patient_id, None, codes=())
    clock.advance(timedelta(days=11))
    page = browser_for("intake").get("/intake").text
    assert re.search(r'<span class="overdue"[^>]*>overdue by 1 d 0 h</span>', page)


def test_board_counts_orders_per_state_and_modality_with_the_oldest_age(radflow: Radflow,
                                                                       browser_for: BrowserFactory,
                                                                       clock: FakeClock) -> None:
    patient_id = register_patient(radflow)
    coverage = add_coverage(radflow, patient_id)
    refer(radflow, patient_id, coverage)  # MR, awaiting protocol
    clock.advance(timedelta(days=2))
    refer(radflow, patient_id, coverage)
    refer(radflow, patient_id, coverage, protocol="CT-STONE", codes=())  # CT, awaiting documentation
    page = browser_for("manager").get("/board").text
    rows = {row[0]: row[1:] for row in table_rows(page, "board")}
    # columns: CT, MR, All; each cell is "count oldest-age"
    assert rows["Awaiting protocol"] == ["·", "2 2 d 0 h", "2 2 d 0 h"]
    assert rows["Awaiting documentation"] == ["1 0 min", "·", "1 0 min"]


def test_board_refresh_is_a_click_that_returns_the_table_alone(browser_for: BrowserFactory) -> None:
    manager = browser_for("manager")
    page = manager.get("/board").text
    assert "every" not in re.findall(r'<div id="board"[^>]*>', page)[0]  # no polling: idle sign-out must work
    fragment = manager.client.get("/board", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<div id=\"board\"") and "<html" not in fragment


def test_a_faxed_referral_waits_in_the_inbox_until_filed_to_its_patient_and_order(
        radflow: Radflow, browser_for: BrowserFactory) -> None:
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    order: OrderDetail = radflow.bus.handle(GetOrder(actor=ADMIN, order_id=order_id))
    document_id: str = radflow.bus.handle(IngestFax(actor=Principal.system("fax-watcher", role=Role.INTAKE),
                                                    filename="fax-0412.pdf", content_type="application/pdf",
                                                    content=b"%PDF-1.4 faxed pages"))
    intake = browser_for("intake")
    assert "fax-0412.pdf" in intake.get("/intake").text
    wrong = intake.post(f"/intake/inbox/{document_id}/file", {"mrn": "RF9999999"})
    assert wrong.status_code == 422
    assert f'id="mrn-{document_id}"' in wrong.text and "no patient has MRN &#39;RF9999999&#39;" in wrong.text
    filed = intake.post(f"/intake/inbox/{document_id}/file", {"mrn": order.patient.mrn,
                                                              "accession": order.order.accession_number})
    assert filed.status_code == 303, filed.text
    assert "fax-0412.pdf" not in intake.get("/intake").text
    detail = intake.get(f"/orders/{order_id}").text
    assert "fax-0412.pdf" in detail
    assert intake.get(f"/documents/{document_id}").content == b"%PDF-1.4 faxed pages"


def test_a_pdf_on_an_order_is_shown_in_the_browser_and_can_be_downloaded(radflow: Radflow,
                                                                         browser_for: BrowserFactory) -> None:
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    intake = browser_for("intake")
    intake.post(f"/orders/{order_id}/documents", {"kind": "payer_letter", "description": "approval letter"},
                files={"file": ("letter.pdf", b"%PDF-1.4 approval", "application/pdf")})
    page = intake.get(f"/orders/{order_id}").text
    document_id = page.split('href="/documents/')[1].split('"')[0]
    shown = intake.get(f"/documents/{document_id}")
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"] == 'inline; filename="letter.pdf"'
    downloaded = intake.get(f"/documents/{document_id}?download=1")
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    assert "approval letter" in page and "Payer letter" in page


def test_an_empty_upload_is_refused_beside_the_file_field(radflow: Radflow, browser_for: BrowserFactory) -> None:
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    response = browser_for("intake").post(f"/orders/{order_id}/documents", {"kind": "other"},
                                          files={"file": ("empty.pdf", b"", "application/pdf")})
    assert response.status_code == 422 and "the file is empty" in response.text


def test_times_are_shown_in_the_centers_timezone(test_settings: Settings, clock: FakeClock,
                                                 make_user: UserFactory, radflow: Radflow) -> None:
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    user = make_user("intake", username="berlin.intake")
    berlin = bootstrap(test_settings.model_copy(update={"timezone": "Europe/Berlin"}), clock=clock,
                       hasher=Argon2Hasher(time_cost=1, memory_cost=256))

    browser = Browser(TestClient(create_app(berlin)), user.principal, user.password).sign_in()
    page = browser.get(f"/orders/{order_id}").text
    assert "2026-03-02 15:00 CET" in page  # 14:00 UTC
    assert "Times in Europe/Berlin" in page


def test_adding_an_exam_to_the_referral_form_numbers_the_next_one(browser_for: BrowserFactory) -> None:
    intake = browser_for("intake")
    fragment = intake.client.get("/intake/referrals/line?index=1", headers={"HX-Request": "true"}).text
    assert 'name="lines-1-protocol_code"' in fragment
    assert ('hx-swap-oob="true"' in fragment and "&#34;index&#34;: 2" in fragment) or '"index": 2' in fragment


def test_a_referral_with_two_exams_creates_two_orders(radflow: Radflow, browser_for: BrowserFactory) -> None:
    patient_id = register_patient(radflow)
    intake = browser_for("intake")
    response = intake.post("/intake/referrals/new", {
        "patient_id": patient_id, "channel": "portal", "ordering_provider_name": "Dr. Robin Referrer",
        "ordering_provider_npi": "1234567893", "coverage_choice": "self_pay",
        "lines-0-protocol_code": "DX-CHEST", "lines-0-diagnosis_codes": "R05.9", "lines-0-reason_for_exam": "cough",
        "lines-1-protocol_code": "US-RENAL", "lines-1-diagnosis_codes": "N18.3",
        "lines-1-reason_for_exam": "chronic kidney disease stage 3"})
    assert response.status_code == 303 and response.headers["location"] == f"/patients/{patient_id}"
    detail: PatientDetail = radflow.bus.handle(GetPatient(actor=ADMIN, patient_id=patient_id))
    assert sorted(o.protocol_code for o in detail.orders) == ["DX-CHEST", "US-RENAL"]
    assert {o.state.value for o in detail.orders} == {"ready_to_schedule"}  # self-pay: nothing to authorize


def test_choosing_another_protocol_shows_its_variants_and_changes_the_study(radflow: Radflow,
                                                                           browser_for: BrowserFactory) -> None:
    patient_id = register_patient(radflow)
    order_id = refer(radflow, patient_id, add_coverage(radflow, patient_id)).order_ids[0]
    radiologist = browser_for("radiologist")
    variants = radiologist.client.get(f"/orders/{order_id}/protocol/variants?protocol_code=CT-LSPINE",
                                      headers={"HX-Request": "true"}).text
    assert "CPT 72131, 15 min" in variants and "CPT 72148" not in variants
    missing = radiologist.post(f"/orders/{order_id}/protocol", {"protocol_code": "CT-LSPINE"})
    assert missing.status_code == 422 and "choose the contrast variant" in missing.text
    response = radiologist.post(f"/orders/{order_id}/protocol", {"protocol_code": "CT-LSPINE", "contrast": "without"})
    assert response.status_code == 303
    order: OrderDetail = radflow.bus.handle(GetOrder(actor=ADMIN, order_id=order_id))
    assert order.order.protocol_code == "CT-LSPINE"
    assert "protocol changed from MR-LSPINE to CT-LSPINE" in radiologist.get(f"/orders/{order_id}").text


def test_a_provider_copied_on_the_referral_sees_the_order(radflow: Radflow, browser_for: BrowserFactory) -> None:
    patient_id = register_patient(radflow)
    intake = browser_for("intake")
    form = {"patient_id": patient_id, "channel": "fax", "ordering_provider_name": "Dr. Robin Referrer",
            "ordering_provider_npi": "1234567893", "coverage_choice": "self_pay", "copy_to_name": "Dr. Pat Primary",
            "copy_to_npi": "1245319598", "lines-0-protocol_code": "DX-CHEST", "lines-0-diagnosis_codes": "R05.9",
            "lines-0-reason_for_exam": "cough for three weeks"}
    wrong = intake.post("/intake/referrals/new", form)
    assert wrong.status_code == 422
    assert 'id="copy_to_npi-error">copy-to provider: NPI &#39;1245319598&#39; fails its check digit' in wrong.text
    response = intake.post("/intake/referrals/new", {**form, "copy_to_npi": "1245319599"})
    order_id = response.headers["location"].rsplit("/", 1)[1]
    copied = browser_for("referring_provider", npi="1245319599")
    page = copied.get(f"/orders/{order_id}")
    assert page.status_code == 200 and "Dr. Pat Primary (NPI 1245319599)" in page.text
