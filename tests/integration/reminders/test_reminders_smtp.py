"""Email over real SMTP to a receiver that deduplicates on Message-ID: rendered MIME, retries, bad addresses."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import timedelta
from email import policy

import pytest
from icalendar import Calendar
from reminders_world import add_patient, add_ready_order, book, ny, seed_capacity
from smtp_sink import SmtpSink
from sqlalchemy import select

from radflow.adapters.db import messaging_tables as mt
from radflow.adapters.notify.channels import ChannelGateway
from radflow.adapters.notify.smtp import SmtpGateway
from radflow.adapters.passwords import Argon2Hasher
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.entrypoints.worker import work_once
from radflow.services.ports import RecordingGateway
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def mailing(test_settings: Settings, clock: FakeClock, sink: SmtpSink) -> Iterator[Radflow]:
    """radflow with email going over SMTP to the sink (texts to a recording gateway)."""
    smtp = SmtpGateway("127.0.0.1", sink.port, sender="Riverside <appointments@example.org>", domain="example.org",
                       timeout=10)
    wired = bootstrap(test_settings, clock=clock, gateway=ChannelGateway({"email": smtp}, RecordingGateway()),
                      hasher=Argon2Hasher(time_cost=1, memory_cost=256))
    yield wired
    wired.engine.dispose()


def run_worker(radflow: Radflow) -> None:
    while work_once(radflow, "w1"):
        pass


def test_the_preparation_email_arrives_once_as_mime_with_its_invitation_and_letter(mailing: Radflow,
                                                                                    sink: SmtpSink) -> None:
    seed_capacity(mailing)
    book(mailing, add_ready_order(mailing, add_patient(mailing)), ny(10, 9))
    run_worker(mailing)
    (message_id, raw), = sink.mailbox.messages.items()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert message_id.startswith("<prep.") and message_id.endswith(".email@example.org>")
    assert parsed["To"] == "jo1@example.org" and "Main campus" not in parsed["Subject"]
    parts = {part.get_content_type(): part for part in parsed.walk()}
    invitation = Calendar.from_ical(parts["text/calendar"].get_payload(decode=True))
    (event,) = invitation.walk("VEVENT")
    assert event.decoded("DTSTART") == ny(10, 8, 30)  # arrival, 30 minutes before the 09:00 scan
    assert parts["application/pdf"].get_payload(decode=True).startswith(b"%PDF-")


def test_a_temporary_refusal_is_retried_with_the_same_message_id_and_kept_once(mailing: Radflow, sink: SmtpSink,
                                                                                clock: FakeClock) -> None:
    sink.mailbox.refuse_first_data = 1
    seed_capacity(mailing)
    book(mailing, add_ready_order(mailing, add_patient(mailing)), ny(10, 9))
    run_worker(mailing)
    assert sink.mailbox.messages == {}
    clock.advance(timedelta(seconds=20))
    run_worker(mailing)
    assert list(sink.mailbox.deliveries.values()) == [1]
    # The worker died after the hand-over but before its commit: the next one sends again.
    job_key = next(iter(sink.mailbox.messages))[1:].split("@")[0]
    with mailing.uow() as uow:
        job = uow.jobs.by_key(job_key)
        assert job is not None
        message = uow.messaging.message_by_key(job_key)  # type: ignore[attr-defined]
        outbound_again = mailing.ctx.gateway
    from radflow.services.ports import OutboundMessage

    outbound_again.send(OutboundMessage(key=job_key, channel="email", to=message.to, subject=message.subject,
                                        body=message.body))
    assert list(sink.mailbox.deliveries.values()) == [2] and len(sink.mailbox.messages) == 1


def test_an_address_the_receiver_refuses_fails_the_message_without_retrying(mailing: Radflow, sink: SmtpSink) -> None:
    seed_capacity(mailing)
    patient_id = add_patient(mailing, email="nobody@invalid.example")
    book(mailing, add_ready_order(mailing, patient_id), ny(10, 9))
    run_worker(mailing)
    m = mt.patient_messages
    with mailing.session_factory() as session:
        email_row = session.execute(select(m.c.state, m.c.detail).where(m.c.channel == "email")).one()
    assert email_row[0].value == "failed" and "550" in email_row[1]
    assert sink.mailbox.messages == {}
