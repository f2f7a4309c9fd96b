"""Messaging on the real database (SQLite, and PostgreSQL when configured): planned with the booking,
delivered by the worker, answered through the gateway's webhooks, missed visits sent back to scheduling."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from reminders_world import add_patient, add_ready_order, book, ny, seed_capacity
from sqlalchemy import select

from radflow.adapters.db import messaging_tables as mt
from radflow.adapters.db import tables as t
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.jobs import JobState
from radflow.entrypoints.api.app import create_app
from radflow.entrypoints.worker import work_once
from radflow.services.job_runner import run_claimed_job
from radflow.services.ports import RecordingGateway
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def message_rows(radflow: Radflow) -> list[tuple[str, str, str, str]]:
    m = mt.patient_messages
    with radflow.session_factory() as session:
        return [(k, c.value, p.value, s.value) for k, c, p, s in session.execute(
            select(m.c.key, m.c.channel, m.c.purpose, m.c.state).order_by(m.c.planned_for, m.c.key))]


def job_states(radflow: Radflow) -> dict[str, JobState]:
    with radflow.session_factory() as session:
        rows = session.execute(select(t.jobs.c.key, t.jobs.c.state).where(t.jobs.c.kind == "patient_message"))
        return {key: state for key, state in rows}


def test_the_booking_commits_its_messages_and_jobs_and_the_worker_delivers_the_preparation(
        radflow: Radflow, gateway: RecordingGateway) -> None:
    seed_capacity(radflow)
    order_id = add_ready_order(radflow, add_patient(radflow))
    book(radflow, order_id, ny(10, 9))
    planned = message_rows(radflow)
    assert [(c, p, s) for _, c, p, s in planned] == [("email", "preparation", "planned"),
                                                     ("sms", "preparation", "planned"),
                                                     ("sms", "reminder", "planned"), ("sms", "reminder", "planned")]
    assert set(job_states(radflow)) == {k for k, *_ in planned}
    while work_once(radflow, "w1"):
        pass
    assert sorted(m.channel for m in gateway.sent) == ["email", "sms"]
    email = next(m for m in gateway.sent if m.channel == "email")
    assert {a.filename for a in email.attachments} == {"appointment.ics", "appointment-letter.pdf"}
    assert next(a for a in email.attachments if a.filename.endswith(".pdf")).content.startswith(b"%PDF-")
    assert [s for *_, s in message_rows(radflow)] == ["sent", "sent", "planned", "planned"]


def test_the_gateways_webhooks_opt_out_confirm_and_report_delivery(radflow: Radflow, gateway: RecordingGateway,
                                                                    make_user: UserFactory) -> None:
    seed_capacity(radflow)
    order_id = add_ready_order(radflow, add_patient(radflow))
    book(radflow, order_id, ny(10, 9))
    while work_once(radflow, "w1"):
        pass
    client = TestClient(create_app(radflow))
    gateway_user, desk = make_user("integration"), make_user("front_desk")
    confirmed = client.post("/api/messaging/sms/inbound", headers=gateway_user.headers,
                            json={"from": "+1 (555) 010-1001", "text": "C", "reference": "SM-in-1"})
    assert confirmed.status_code == 200 and confirmed.json()["outcome"] == "visit of 2026-03-10 confirmed"
    stop = client.post("/api/messaging/sms/inbound", headers=gateway_user.headers,
                       json={"from": "5550101001", "text": "Stop", "reference": "SM-in-2"})
    assert stop.json()["intent"] == "opt_out"
    again = client.post("/api/messaging/sms/inbound", headers=gateway_user.headers,
                        json={"from": "5550101001", "text": "Stop", "reference": "SM-in-2"})
    assert again.json()["duplicate"] is True
    assert client.post("/api/messaging/sms/inbound", headers=desk.headers,
                       json={"from": "5550101001", "text": "C"}).status_code == 403
    view = client.get(f"/api/orders/{order_id}/messages", headers=desk.headers).json()
    states = [(m["purpose"], m["channel"], m["state"]) for m in view["messages"]]
    assert ("reminder", "sms", "suppressed") in states and [r["kind"] for r in view["responses"]] == ["confirmed"]
    email = next(m for m in view["messages"] if m["channel"] == "email")
    report = client.post("/api/messaging/delivery-reports", headers=gateway_user.headers,
                         json={"reference": email["key"], "status": "delivered"})
    assert report.json()["state"] == "delivered"


def test_a_reply_email_answering_our_message_confirms_the_receipt_of_the_preparation(
        radflow: Radflow, gateway: RecordingGateway, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    order_id = add_ready_order(radflow, add_patient(radflow))
    book(radflow, order_id, ny(10, 9))
    while work_once(radflow, "w1"):
        pass
    key = next(m.key for m in gateway.sent if m.channel == "email")
    raw = (f"From: Jo Doe <JO1@example.org>\r\nTo: appointments@radflow.invalid\r\nSubject: Re: Your appointment\r\n"
           f"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: <{key}@radflow.invalid>\r\n\r\n"
           "Received, thank you\r\n\r\nOn Mon, Mar 2, 2026 Riverside wrote:\r\n> Reply C to confirm\r\n").encode()
    client = TestClient(create_app(radflow))
    answer = client.post("/api/messaging/email/inbound", headers={**make_user("integration").headers,
                                                                  "Content-Type": "message/rfc822"}, content=raw)
    assert answer.status_code == 200 and answer.json()["intent"] == "received"
    view = client.get(f"/api/orders/{order_id}/messages", headers=make_user("scheduler").headers).json()
    assert [r["kind"] for r in view["responses"]] == ["preparation_received"]


def test_a_missed_appointment_goes_to_the_rescheduling_queue_and_back(radflow: Radflow, clock: FakeClock,
                                                                      make_user: UserFactory) -> None:
    seed_capacity(radflow)
    order_id = add_ready_order(radflow, add_patient(radflow))
    book(radflow, order_id, ny(10, 9))
    client = TestClient(create_app(radflow))
    desk = make_user("front_desk")
    early = client.post(f"/api/orders/{order_id}/no-show", headers=desk.headers, json={})
    assert early.status_code == 409 and "once it has begun" in early.json()["detail"]
    clock.set(ny(10, 9, 30))
    assert client.post(f"/api/orders/{order_id}/no-show", headers=desk.headers,
                       json={"note": "no answer by phone"}).json()["state"] == "no_show"
    queue = client.get("/api/orders", params={"state": "no_show"}, headers=desk.headers).json()
    assert [o["order_id"] for o in queue["orders"]] == [order_id]
    assert client.post(f"/api/orders/{order_id}/return-to-scheduling", headers=desk.headers,
                       json={}).json()["state"] == "ready_to_schedule"


def test_two_workers_delivering_two_notifications_to_one_patient_at_once_send_only_one_today(
        radflow: Radflow, gateway: RecordingGateway, clock: FakeClock) -> None:
    seed_capacity(radflow)
    patient_id = add_patient(radflow)
    first, second = add_ready_order(radflow, patient_id), add_ready_order(radflow, patient_id, "CT-HEAD")
    clock.set(ny(2, 23))  # booked at night: both visits' preparations are held until 08:00
    book(radflow, first, ny(10, 9))
    book(radflow, second, ny(12, 9), "CT1")
    while work_once(radflow, "w0"):
        pass
    clock.set(ny(3, 8))
    due = radflow.job_queue.claim("w1", clock.now(), timedelta(minutes=2), limit=10)
    assert len(due) == 4  # two visits' preparation, by email and text, released at 08:00
    threads = [threading.Thread(target=run_claimed_job, args=(job_id, "w1", radflow.bus.uow_factory, radflow.ctx,
                                                              radflow.jobs)) for job_id in due]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.advance(minutes=5)
    while work_once(radflow, "w1"):
        pass
    visits_told_today = {m.key.split(".")[2] for m in gateway.sent}
    assert len(visits_told_today) == 1, "one notification a day per patient, whichever worker ran first"
