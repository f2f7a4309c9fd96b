"""Channel adapters: email as MIME with the .ics and the PDF, the HTTP gateway's contract, the outbox sink."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar

from radflow.adapters.notify.calendar import ICalendarWriter
from radflow.adapters.notify.channels import ChannelGateway, NotifySettings, gateway_from_settings
from radflow.adapters.notify.http_gateway import HttpMessageGateway
from radflow.adapters.notify.letters import PdfLetterPrinter
from radflow.adapters.notify.mime import build_email, key_from_message_id, message_id
from radflow.adapters.notify.outbox import OutboxGateway
from radflow.services.ports import Attachment, OutboundMessage, RecordingGateway
from radflow.services.reminders.ports import CalendarEvent, Letter, LetterSection

START = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)


def invite(cancelled: bool = False, sequence: int = 1) -> bytes:
    event = CalendarEvent(uid="a1@radflow", sequence=sequence, start=START, end=START + timedelta(minutes=45),
                          summary="Appointment at Riverside", description="Arrive 9:00", location="100 Riverside Dr",
                          cancelled=cancelled)
    return ICalendarWriter().invite([event], stamp=START - timedelta(days=7), organizer="desk@example.org")


def email_message(key: str = "prep.p1.2026-03-10.abc.email") -> OutboundMessage:
    return OutboundMessage(key=key, channel="email", to="jo@example.org", subject="Your appointment",
                           body="Dear Jo,\nplease arrive at 9:00.",
                           attachments=(Attachment("appointment.ics", "text/calendar; method=REQUEST; charset=utf-8",
                                                   invite()),
                                        Attachment("letter.pdf", "application/pdf", b"%PDF-1.7 test")))


def test_the_invitation_is_a_request_with_utc_times_and_a_sequence_that_a_calendar_replaces_by() -> None:
    calendar = Calendar.from_ical(invite(sequence=3))
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert event["UID"] == "a1@radflow" and int(event["SEQUENCE"]) == 3
    assert event.decoded("DTSTART") == START and event["STATUS"] == "CONFIRMED"
    cancelled = Calendar.from_ical(invite(cancelled=True))
    assert cancelled["METHOD"] == "CANCEL" and cancelled.walk("VEVENT")[0]["STATUS"] == "CANCELLED"


def test_the_email_carries_the_key_as_message_id_the_text_and_both_attachments() -> None:
    built = build_email(email_message(), sender="Riverside <appointments@example.org>", domain="example.org")
    parsed = email.message_from_bytes(bytes(built), policy=policy.default)
    assert parsed["Message-ID"] == "<prep.p1.2026-03-10.abc.email@example.org>"
    assert key_from_message_id(parsed["Message-ID"]) == "prep.p1.2026-03-10.abc.email"
    parts = {part.get_content_type(): part for part in parsed.walk()}
    assert "please arrive at 9:00" in parts["text/plain"].get_content()
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert Calendar.from_ical(parts["text/calendar"].get_payload(decode=True))["METHOD"] == "REQUEST"
    assert parts["application/pdf"].get_payload(decode=True) == b"%PDF-1.7 test"


def test_a_key_with_characters_a_message_id_cannot_hold_survives_the_round_trip() -> None:
    key = "doc:req/42 a@b"
    assert key_from_message_id(message_id(key, "example.org")) == key


def test_the_letter_is_a_real_pdf() -> None:
    letter = Letter("Riverside", "100 Riverside Dr", "+1 555 010 2000", "Jo Doe", ("1 Main St",), "March 2, 2026",
                    "Your appointment", "Dear Jo,", (LetterSection("Before your visit", (), ("Do not eat",)),),
                    "See you")
    printer = PdfLetterPrinter()
    assert printer.pdf(letter).startswith(b"%PDF-")
    assert "Do not eat" in printer.html(letter) and "<script" not in printer.html(letter)


def test_the_http_gateway_sends_the_key_as_idempotency_key_and_reads_the_gateways_id() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "SM123"})

    gateway = HttpMessageGateway("https://gw.example/v1", "secret", transport=httpx.MockTransport(answer))
    receipt = gateway.send(OutboundMessage(key="rem.p1.d2.sms", channel="sms", to="+15550101234", subject="",
                                           body="Riverside: reminder"))
    assert receipt.accepted and receipt.gateway_reference == "SM123"
    assert seen[0].headers["Idempotency-Key"] == "rem.p1.d2.sms"
    assert seen[0].headers["Authorization"] == "Bearer secret"
    assert json.loads(seen[0].content) == {"channel": "sms", "to": "+15550101234", "body": "Riverside: reminder",
                                           "reference": "rem.p1.d2.sms"}


def test_the_http_gateway_retries_on_5xx_and_429_and_gives_up_on_a_bad_number() -> None:
    def status(code: int) -> HttpMessageGateway:
        return HttpMessageGateway("https://gw.example", transport=httpx.MockTransport(
            lambda request: httpx.Response(code, text="no")))

    message = OutboundMessage(key="k", channel="sms", to="+1", subject="", body="x")
    for code in (500, 503, 429):
        with pytest.raises(httpx.HTTPStatusError):
            status(code).send(message)
    refused = status(400).send(message)
    assert not refused.accepted and "400" in refused.detail


def test_the_outbox_keeps_each_key_once_with_the_full_email_and_its_attachments(tmp_path: Path) -> None:
    outbox = OutboxGateway(tmp_path)
    outbox.send(email_message())
    outbox.send(email_message())
    assert len(outbox.messages("email")) == 1
    files = outbox.rendered(email_message())
    assert set(files) == {"appointment.ics", "letter.pdf", "message.eml"}
    assert b"Message-ID: <prep.p1.2026-03-10.abc.email@radflow.invalid>" in files["message.eml"]


def test_each_channel_goes_to_its_gateway_and_unconfigured_ones_to_the_outbox(tmp_path: Path) -> None:
    assert isinstance(gateway_from_settings(tmp_path, NotifySettings()), OutboxGateway)
    routed = gateway_from_settings(tmp_path, NotifySettings(smtp_host="mail.example", messaging_gateway_url="https://gw"))
    assert isinstance(routed, ChannelGateway) and set(routed.routes) == {"email", "sms", "voice"}
    letters = RecordingGateway()
    ChannelGateway({"letter": letters}, RecordingGateway()).send(
        OutboundMessage(key="l", channel="letter", to="1 Main St", subject="", body=""))
    assert [m.key for m in letters.sent] == ["l"]
