"""Edges a browser or a careless upload could abuse: stored files, unknown screen addresses, idle sessions."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from seed import seed_world

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow.services.documents import AttachDocument
from radflow.services.views import SearchPatients
from radflow_test_support import UserFactory


def test_an_uploaded_html_file_is_downloaded_sandboxed_never_rendered(radflow: Radflow,
                                                                      make_user: UserFactory) -> None:
    world = seed_world(radflow)
    intake = make_user("intake")
    client = TestClient(create_app(radflow, areas=False))
    upload = client.post(f"/api/orders/{world.own_order}/documents", headers=intake.headers,
                         files={"file": ("note.html", b"<script>alert(1)</script>", "text/html")})
    document_id = upload.json()["document_id"]
    response = client.get(f"/api/documents/{document_id}", headers=intake.headers)
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    pdf = radflow.bus.handle(AttachDocument(actor=intake.principal, patient_id=world.own_patient,
                                            order_id=world.own_order, filename="referral.pdf",
                                            content_type="application/pdf", content=b"%PDF-1.7"))
    shown = client.get(f"/api/documents/{pdf}", headers=intake.headers)
    assert shown.headers["content-disposition"].startswith("inline")
    assert shown.headers["x-content-sha256"] and shown.content == b"%PDF-1.7"


def test_an_unknown_screen_address_gets_an_html_page_and_the_api_a_problem(radflow: Radflow) -> None:
    client = TestClient(create_app(radflow, areas=False))
    screen = client.get("/no-such-screen")
    assert screen.status_code == 404 and screen.headers["content-type"].startswith("text/html")
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_patient_search_finds_a_phone_however_it_was_typed(radflow: Radflow, make_user: UserFactory) -> None:
    seed_world(radflow)  # phones stored as '555-773-1000' and '555-775-1000'
    intake = make_user("intake")
    for typed in ("5557731000", "(555) 773-1000", "+1 555.773.1000"):
        hits = radflow.bus.handle(SearchPatients(actor=intake.principal, text=typed))
        assert [h.name for h in hits] == ["OWN, Pat"], typed


def test_a_self_refreshing_board_does_not_keep_an_idle_session_alive(radflow: Radflow, clock: FakeClock,
                                                                     make_user: UserFactory) -> None:
    from radflow.services.accounts import sign_in

    manager = make_user("manager")
    signed = sign_in(radflow.bus.uow_factory, radflow.ctx, radflow.hasher, manager.principal.username,
                     manager.password, "test")
    client = TestClient(create_app(radflow, areas=False), cookies={"radflow_session": signed.session_token})
    for _ in range(6):  # 30 minutes of a board refreshing every 5 minutes, nobody at the keyboard
        clock.advance(timedelta(minutes=5))
        assert client.get("/api/board", headers={"X-Background-Refresh": "1"}).status_code == 200
    clock.advance(timedelta(minutes=1))  # 31 minutes since the last real activity: the session has ended
    assert client.get("/api/board", headers={"X-Background-Refresh": "1"}).status_code == 401
