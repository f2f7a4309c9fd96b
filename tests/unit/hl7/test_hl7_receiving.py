"""receive(): an ACK only after the application applied the message, and the right ACK for each failure."""

from __future__ import annotations

from pathlib import Path

from radflow.adapters.hl7.messages import InboundMessage, InboundOrder
from radflow.adapters.hl7.receiving import make_handler, receive
from radflow.domain.clock import FakeClock
from radflow.domain.errors import NotFound

DATA = Path(__file__).parents[2] / "data" / "hl7"
ORDER = (DATA / "epic_orm_o01_251_two_orders.hl7").read_bytes()
CLOCK = FakeClock()


def msa(ack: bytes) -> list[str]:
    line = next(s for s in ack.decode("latin-1").split("\r") if s.startswith("MSA"))
    return line.split("|")


def err(ack: bytes) -> list[str]:
    line = next(s for s in ack.decode("latin-1").split("\r") if s.startswith("ERR"))
    return line.split("|")


class Recorder:
    """An application that records what it applied, or fails the way it is told to."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.applied: list[tuple[InboundMessage, bytes]] = []
        self.failure = failure

    def __call__(self, message: InboundMessage, raw: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self.applied.append((message, raw))


def test_message_applied_gets_aa_echoing_its_control_id() -> None:
    application = Recorder()
    reception = receive(ORDER, application, clock=CLOCK)
    assert msa(reception.reply)[1:3] == ["AA", "EPIC000102"]
    ((message, raw),) = application.applied
    assert isinstance(message, InboundOrder) and raw == ORDER
    assert reception.application_ack is None


def test_application_refusal_gets_ae_with_its_message_and_code() -> None:
    reception = receive(ORDER, Recorder(NotFound("no order with placer number PL-5002 to cancel")), clock=CLOCK)
    assert msa(reception.reply)[1:3] == ["AE", "EPIC000102"]
    assert err(reception.reply)[3] == "204^Unknown key identifier^HL70357"
    assert err(reception.reply)[8] == "no order with placer number PL-5002 to cancel"


def test_unsupported_version_is_rejected_and_never_applied() -> None:
    application = Recorder()
    reception = receive((DATA / "error_unsupported_version.hl7").read_bytes(), application, clock=CLOCK)
    assert msa(reception.reply)[1:3] == ["AR", "EPIC-ERR-06"]
    assert application.applied == []


def test_content_error_is_ae_and_never_applied() -> None:
    application = Recorder()
    reception = receive((DATA / "error_bad_birth_date.hl7").read_bytes(), application, clock=CLOCK)
    assert msa(reception.reply)[1:3] == ["AE", "EPIC-ERR-02"]
    assert err(reception.reply)[2] == "PID^1^7^1"
    assert application.applied == []


def test_enhanced_mode_answers_ca_on_the_connection_and_returns_the_application_ack() -> None:
    raw = ORDER.replace(b"|P|2.5.1", b"|P|2.5.1|||AL|AL", 1)
    reception = receive(raw, Recorder(), clock=CLOCK)
    assert msa(reception.reply)[1:3] == ["CA", "EPIC000102"]
    assert reception.application_ack is not None
    assert msa(reception.application_ack)[1:3] == ["AA", "EPIC000102"]


def test_enhanced_mode_with_accept_ack_never_sends_nothing_on_the_connection() -> None:
    raw = ORDER.replace(b"|P|2.5.1", b"|P|2.5.1|||NE|AL", 1)
    reception = receive(raw, Recorder(), clock=CLOCK)
    assert reception.reply == b""
    assert reception.application_ack is not None


def test_enhanced_mode_failure_is_a_commit_error_without_application_ack() -> None:
    raw = ORDER.replace(b"|P|2.5.1", b"|P|2.5.1|||AL|AL", 1)
    reception = receive(raw, Recorder(NotFound("unknown order")), clock=CLOCK)
    assert msa(reception.reply)[1] == "CE"
    assert reception.application_ack is None


def test_handler_hands_application_acks_to_the_outbound_queue() -> None:
    queued: list[bytes] = []
    handler = make_handler(Recorder(), clock=CLOCK, on_application_ack=lambda header, ack: queued.append(ack))
    reply = handler(ORDER.replace(b"|P|2.5.1", b"|P|2.5.1|||AL|SU", 1), "10.0.0.7:50000")
    assert msa(reply)[1] == "CA"
    assert [msa(ack)[1] for ack in queued] == ["AA"]
