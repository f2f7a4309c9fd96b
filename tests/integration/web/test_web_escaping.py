"""Every value from the database is escaped on every screen: markup typed into a name, a reason or a
file name is shown as text, never run."""

from __future__ import annotations

from datetime import date

from web_support import NPI, BrowserFactory, add_coverage, refer

from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.services.authorizations import DenyAuthorization, SubmitAuthorization
from radflow.services.documents import IngestFax
from radflow.services.order_changes import AssignProtocol
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.patients import RegisteredPatient, RegisterPatient

SCRIPT = '<script>alert("rf-xss")</script>'
IMAGE = '"><img src=x onerror=alert(2)>'


def _hostile_world(radflow: Radflow) -> dict[str, str]:
    """A patient whose name is markup, with orders in every queue and a faxed file with a hostile name."""
    staff = Principal.system("seed", role=Role.ADMIN)
    radiologist = Principal.system("seed-rad", role=Role.RADIOLOGIST)
    registered: RegisteredPatient = radflow.bus.handle(RegisterPatient(
        actor=staff, family_name=SCRIPT, given_name=IMAGE, birth_date=date(1970, 1, 1), sex="F", phone="555-0100-999",
        city=SCRIPT))
    patient = registered.patient_id
    coverage = add_coverage(radflow, patient)
    protocol_order = refer(radflow, patient, coverage).order_ids[0]  # awaiting protocol
    missing: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
        actor=staff, patient_id=patient, channel="fax", source_organization=SCRIPT, lines=(OrderLine(
            protocol_code="CT-HEAD", contrast="without", reason_for_exam=SCRIPT, ordering_provider_npi=NPI,
            ordering_provider_name=SCRIPT, coverage_id=coverage, clinical_notes=IMAGE),)))
    denied = refer(radflow, patient, coverage).order_ids[0]
    radflow.bus.handle(AssignProtocol(actor=radiologist, order_id=denied, contrast="without",
                                      special_instructions=SCRIPT))
    radflow.bus.handle(SubmitAuthorization(actor=staff, order_id=denied, payer_reference=SCRIPT))
    radflow.bus.handle(DenyAuthorization(actor=staff, order_id=denied, reason=SCRIPT))
    radflow.bus.handle(IngestFax(actor=staff, filename=f"{SCRIPT}.pdf", content_type="application/pdf",
                                 content=b"%PDF-1.4 hostile"))
    return {"patient": patient, "protocol_order": protocol_order, "missing_order": missing.order_ids[0],
            "denied_order": denied}


def _assert_escaped(url: str, html: str) -> None:
    lowered = html.lower()
    assert 'alert("rf-xss")</script>' not in lowered, url
    assert "<img src=x" not in lowered, url
    assert "&lt;script&gt;" in lowered, f"{url} does not show the name at all"


def test_markup_in_names_reasons_and_file_names_is_shown_as_text_on_every_screen(
        radflow: Radflow, browser_for: BrowserFactory) -> None:
    world = _hostile_world(radflow)
    admin, radiologist, intake = browser_for("admin"), browser_for("radiologist"), browser_for("intake")
    screens = [
        (admin, "/intake"), (admin, "/authorization"), (admin, "/orders"), (admin, "/patients?birth_date=1970-01-01"),
        (admin, f"/patients/{world['patient']}"), (admin, f"/orders/{world['protocol_order']}"),
        (admin, f"/orders/{world['missing_order']}"), (admin, f"/orders/{world['denied_order']}"),
        (radiologist, "/protocoling"), (radiologist, f"/orders/{world['protocol_order']}/protocol"),
        (intake, f"/intake/referrals/new?patient_id={world['patient']}"),
    ]
    for browser, url in screens:
        response = browser.get(url)
        assert response.status_code == 200, url
        _assert_escaped(url, response.text)


def test_the_duplicate_warning_escapes_the_existing_record(radflow: Radflow, browser_for: BrowserFactory) -> None:
    _hostile_world(radflow)
    intake = browser_for("intake")
    response = intake.post("/patients/new", {"family_name": SCRIPT, "given_name": IMAGE, "birth_date": "1970-01-01",
                                             "sex": "F", "phone": "555-0100-999"})
    assert "Probably already registered" in response.text
    _assert_escaped("/patients/new", response.text)


def test_a_refused_form_escapes_what_was_typed(radflow: Radflow, browser_for: BrowserFactory) -> None:
    world = _hostile_world(radflow)
    intake = browser_for("intake")
    response = intake.post(f"/orders/{world['missing_order']}/documentation",
                           {"diagnosis_codes": "NOT-A-CODE", "reason_for_exam": SCRIPT, "note": IMAGE})
    assert response.status_code == 422
    _assert_escaped("documentation form", response.text)


def test_an_uploaded_html_file_is_downloaded_never_shown_as_a_page(radflow: Radflow,
                                                                 browser_for: BrowserFactory) -> None:
    world = _hostile_world(radflow)
    intake = browser_for("intake")
    response = intake.post(f"/orders/{world['protocol_order']}/documents", {"kind": "clinical_notes"},
                           files={"file": ("notes.html", f"<html>{SCRIPT}</html>".encode(), "text/html")})
    assert response.status_code == 303, response.text
    page = intake.get(f"/orders/{world['protocol_order']}").text
    document_id = page.split('href="/documents/')[1].split('"')[0]
    served = intake.get(f"/documents/{document_id}")
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
