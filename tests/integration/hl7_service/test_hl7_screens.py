"""The interface monitor's screens: search, detail, reprocess, dismiss, resend, mapping; markup from a
message (a patient name, clinical text, a sender's name) is shown as text on every screen."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hl7_service_support import DATA, count, load_mapping_text, sample

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow_test_support import ApiUser, UserFactory

SCRIPT = '<script>alert("rf-xss")</script>'
IMAGE = '"><img src=x onerror=alert(2)>'
PEER = "10.0.0.7:41000"


def hostile(raw: bytes) -> bytes:
    """An order whose patient name and clinical text are markup (no HL7 delimiter in it)."""
    text = raw.decode("utf-8")
    text = text.replace("Doe^Jane", f"{SCRIPT}^{IMAGE}")
    return text.replace("OBR|1|PL-5003||IMG2001^CT head w/o contrast^EPICPROC",
                        f"OBR|1|PL-5003||IMG2001^CT head w/o contrast^EPICPROC|||||||||{SCRIPT}").encode()


@pytest.fixture
def client(radflow: Radflow) -> TestClient:
    return TestClient(create_app(radflow), base_url="http://testserver")


def get(client: TestClient, user: ApiUser, url: str) -> str:
    response = client.get(url, headers=user.headers, follow_redirects=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.text


def assert_escaped(url: str, html: str) -> None:
    lowered = html.lower()
    assert 'alert("rf-xss")</script>' not in lowered, url
    assert "<img src=x" not in lowered, url
    assert "&lt;script&gt;" in lowered, f"{url} does not show the hostile value at all"


def message_ids(html: str) -> list[str]:
    return re.findall(r'href="/hl7/messages/([0-9a-f]{32})"', html)


def test_markup_in_an_hl7_message_is_shown_as_text_on_every_screen(
        radflow: Radflow, inbound: Hl7Inbound, client: TestClient, make_user: UserFactory) -> None:
    inbound.handle(hostile(sample("epic_orm_o01_251_two_orders.hl7")), PEER)
    refused = sample("epic_orm_o01_251_two_orders.hl7").replace(b"|EPIC|MAINHOSP|", f"|{SCRIPT}|X|".encode(), 1)
    inbound.handle(refused, PEER)
    admin = make_user("admin")
    with radflow.uow() as uow:
        (order,) = uow.orders.by_placer("EPIC^MAINHOSP", "PL-5003")
    screens = ["/hl7", "/hl7/messages", f"/orders/{order.id}", f"/patients/{order.patient_id}", "/orders",
               "/intake"]
    log = get(client, admin, "/hl7/messages")
    screens += [f"/hl7/messages/{message_id}" for message_id in message_ids(log)]
    for url in screens:
        assert_escaped(url, get(client, admin, url))


def test_staff_find_a_message_by_mrn_accession_and_control_id(
        radflow: Radflow, inbound: Hl7Inbound, client: TestClient, make_user: UserFactory) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    inbound.handle(sample("cerner_adt_a04_231.hl7"), PEER)
    manager = make_user("manager")
    with radflow.uow() as uow:
        (order,) = uow.orders.by_placer("EPIC^MAINHOSP", "PL-5002")
    for kind, value in (("mrn", "884422"), ("accession", order.accession_number), ("control_id", "EPIC000102")):
        html = get(client, manager, f"/hl7/messages?kind={kind}&q={value}")
        assert "EPIC000102" in html and "CRN-778801" not in html, kind
    assert "CRN-778801" in get(client, manager, "/hl7/messages?kind=mrn&q=0099123")


def test_a_refused_message_is_reprocessed_from_its_page_after_the_mapping_is_fixed(
        radflow: Radflow, inbound: Hl7Inbound, client: TestClient, make_user: UserFactory) -> None:
    inbound.handle(sample("error_unknown_procedure.hl7"), PEER)
    admin, manager = make_user("admin"), make_user("manager")
    (message_id,) = message_ids(get(client, admin, "/hl7/messages?status=rejected"))
    page = get(client, admin, f"/hl7/messages/{message_id}")
    assert "IMG9999" in page and "Reprocess" in page
    # A manager watches the interface but may not change it.
    assert client.post(f"/hl7/messages/{message_id}/reprocess", headers=manager.headers).status_code == 403
    still = client.post(f"/hl7/messages/{message_id}/reprocess", headers=admin.headers)
    assert still.status_code == 422 and "Still refused" in still.text
    load_mapping_text(radflow, (DATA / "mapping.yaml").read_text().replace(
        "      IMG3001: {protocol: DX-KNEE, laterality: L}",
        "      IMG3001: {protocol: DX-KNEE, laterality: L}\n      IMG9999: {protocol: PT-FDG, contrast: tracer}"))
    done = client.post(f"/hl7/messages/{message_id}/reprocess", headers=admin.headers, follow_redirects=False)
    assert done.status_code == 303
    assert "Reprocessed: the message is applied." in get(client, admin, done.headers["location"])
    assert count(radflow, "orders") == 1


def test_a_held_message_is_dismissed_with_a_reason(
        radflow: Radflow, inbound: Hl7Inbound, client: TestClient, make_user: UserFactory) -> None:
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7"), PEER)
    inbound.handle(sample("epic_orm_o01_251_two_orders.hl7").replace(b"PL-5003", b"PL-7777"), PEER)
    admin = make_user("admin")
    (held,) = message_ids(get(client, admin, "/hl7/messages?status=held_for_review"))
    missing = client.post(f"/hl7/messages/{held}/dismiss", data={"reason": ""}, headers=admin.headers)
    assert missing.status_code == 422
    done = client.post(f"/hl7/messages/{held}/dismiss", data={"reason": "EHR resent an edited order"},
                       headers=admin.headers, follow_redirects=False)
    assert done.status_code == 303
    assert "EHR resent an edited order" in get(client, admin, f"/hl7/messages/{held}")


def test_the_mapping_screen_refuses_a_bad_mapping_naming_its_lines_and_keeps_the_text(
        radflow: Radflow, inbound: Hl7Inbound, client: TestClient, make_user: UserFactory) -> None:
    admin = make_user("admin")
    page = get(client, admin, "/hl7/mapping")
    assert "Main Hospital (Epic, 2.5.1)" in page and "IMG1234 → MR-LSPINE" in page
    bad = f"senders:\n  - name: {SCRIPT}\n    sending_application: A\n    mrn: {{assigning_authority: H}}\n" \
          "    procedures: {X: NOT-A-PROTOCOL}\n"
    refused = client.post("/hl7/mapping", data={"content": bad}, headers=admin.headers)
    assert refused.status_code == 422
    assert "settings screen:5: procedure &#39;X&#39;: protocol &#39;NOT-A-PROTOCOL&#39; is not in the catalog" \
        in refused.text
    assert_escaped("/hl7/mapping (refused)", refused.text)
    assert "version 1" in get(client, admin, "/hl7/mapping")
