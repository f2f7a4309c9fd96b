"""The stored HL7 message's one-table state machine, every status × event pair, and its content digest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.errors import InvalidTransition
from radflow.domain.hl7_message import (
    TRANSITIONS,
    Hl7Message,
    MessageEvent,
    MessageStatus,
    Outcome,
    ReferenceKind,
    content_digest,
)

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ALL_PAIRS = [(status, event) for status in MessageStatus for event in MessageEvent]
OUTCOME = Outcome(b"MSH|...", "AE", "103", "OBR-4", "procedure code not mapped")


def message_in(status: MessageStatus) -> Hl7Message:
    message = Hl7Message(id="m1", sending_application="EPIC", sending_facility="MAINHOSP", control_id="C1",
                         message_type="ORM^O01", version="2.5.1", received_at=AT, peer="p", raw=b"MSH|",
                         content_sha256="x")
    message.status = status  # test set-up only: put the message where the pair starts
    return message


def apply(message: Hl7Message, event: MessageEvent) -> None:
    if event is MessageEvent.APPLY:
        message.applied(Outcome(b"ack", "AA"), by="u", at=AT)
    elif event is MessageEvent.REJECT:
        message.rejected(OUTCOME, by="u", at=AT)
    elif event is MessageEvent.HOLD:
        message.held(OUTCOME, original_id="m0", by="u", at=AT)
    else:
        message.dismissed(by="u", at=AT, reason="sent by mistake")


@pytest.mark.parametrize(("status", "event"), ALL_PAIRS, ids=[f"{s.value}-{e.value}" for s, e in ALL_PAIRS])
def test_every_status_event_pair(status: MessageStatus, event: MessageEvent) -> None:
    message = message_in(status)
    target = TRANSITIONS.get((status, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            apply(message, event)
        assert (message.status, message.log, message.ack) == (status, [], b"")
    else:
        apply(message, event)
        assert message.status is target
        assert message.log[-1]["event"] == event.value and message.log[-1]["to"] == target.value


def test_an_applied_message_can_never_be_applied_again() -> None:
    assert [e for (s, e) in TRANSITIONS if s is MessageStatus.APPLIED] == []


def test_a_refusal_keeps_its_err_content_and_counts_the_processing() -> None:
    message = message_in(MessageStatus.RECEIVED)
    message.rejected(OUTCOME, by="listener", at=AT)
    assert (message.error_code, message.error_location, message.error_text) == (
        "103", "OBR-4", "procedure code not mapped")
    assert message.processings == 1 and message.is_reviewable


def test_references_are_kept_once_each() -> None:
    message = message_in(MessageStatus.RECEIVED)
    for _ in range(3):
        message.refer_to(ReferenceKind.MRN, " 884422 ")
    message.refer_to(ReferenceKind.ACCESSION, "A00000001")
    assert [(r.kind, r.value) for r in message.references] == [
        (ReferenceKind.MRN, "884422"), (ReferenceKind.ACCESSION, "A00000001")]


segments = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                                   min_size=1, max_size=30),
                    min_size=1, max_size=6)


@given(segments, st.sampled_from(["\r", "\n", "\r\n"]))
def test_segment_endings_do_not_change_the_digest(lines: list[str], ending: str) -> None:
    body = "\r".join(lines).encode()
    assert content_digest(ending.join(lines).encode()) == content_digest(body)
    assert content_digest((ending.join(lines) + ending).encode()) == content_digest(body)


@given(segments)
def test_a_changed_value_changes_the_digest(lines: list[str]) -> None:
    changed = [*lines[:-1], lines[-1] + "X"]
    assert content_digest("\r".join(changed).encode()) != content_digest("\r".join(lines).encode())
