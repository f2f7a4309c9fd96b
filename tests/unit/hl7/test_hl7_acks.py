"""ACKs as a sender's interface engine reads them: MSA, ERR per version, enhanced mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radflow.adapters.hl7.acks import (
    AckCode,
    AckError,
    accept_ack_due,
    ack_error_for,
    application_ack_due,
    best_effort_ack,
    build_ack,
    commit_code,
    is_enhanced_mode,
    original_code,
    read_ack,
)
from radflow.adapters.hl7.errors import ErrorCode, ErrorLocation, Hl7ContentError
from radflow.adapters.hl7.parsing import parse_header
from radflow.domain.errors import Conflict, DuplicateRequest, NotFound, ValidationError

DATA = Path(__file__).parents[2] / "data" / "hl7"
AT = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


def segments(ack: bytes) -> dict[str, list[str]]:
    """Segment id → fields (index n = SEG-n; MSH-1 is the separator), read without radflow's parser."""
    found: dict[str, list[str]] = {}
    for line in ack.decode("latin-1").split("\r"):
        if line:
            fields = line.split("|")
            if fields[0] == "MSH":
                fields.insert(1, "|")
            found[fields[0]] = fields
    return found


def header_of(name: str, **changes: str):  # type: ignore[no-untyped-def]
    return replace(parse_header((DATA / name).read_bytes()), **changes)


def test_ack_echoes_control_id_version_and_swaps_sender_and_receiver() -> None:
    header = header_of("epic_orm_o01_251_two_orders.hl7")
    ack = segments(build_ack(header, AckCode.AA, at=AT, control_id="ACK1"))
    assert ack["MSA"][1:3] == ["AA", "EPIC000102"]
    assert ack["MSH"][12] == "2.5.1"
    assert ack["MSH"][3:7] == ["RADFLOW", "RIVERSIDE", "EPIC", "MAINHOSP"]
    assert ack["MSH"][9] == "ACK^O01^ACK"
    assert ack["MSH"][10] == "ACK1"
    assert "ERR" not in ack


def test_25_error_ack_carries_location_code_severity_and_user_message_in_err() -> None:
    header = header_of("epic_orm_o01_251_two_orders.hl7")
    error = AckError(ErrorCode.REQUIRED_FIELD_MISSING, "PID-3 is required", ErrorLocation("PID", 1, 3))
    ack = segments(build_ack(header, AckCode.AE, at=AT, error=error))
    assert ack["MSA"][1:3] == ["AE", "EPIC000102"]
    assert ack["ERR"][2] == "PID^1^3^1"
    assert ack["ERR"][3] == "101^Required field missing^HL70357"
    assert ack["ERR"][4] == "E"
    assert ack["ERR"][8] == "PID-3 is required"


def test_23_error_ack_uses_the_err1_layout_and_msa_text() -> None:
    header = header_of("cerner_orm_o01_23_latin1.hl7")
    error = AckError(ErrorCode.DATA_TYPE_ERROR, "bad birth date", ErrorLocation("PID", 1, 7))
    ack = segments(build_ack(header, AckCode.AE, at=AT, error=error))
    assert ack["MSH"][12] == "2.3"
    assert ack["MSH"][9] == "ACK^O01"  # 2.3 has no message structure component
    assert ack["MSA"][3] == "bad birth date"
    assert ack["MSA"][6] == "102^Data type error^HL70357"
    assert ack["ERR"][1] == "PID^1^7^102&Data type error&HL70357"


def test_ack_is_written_in_the_senders_character_set() -> None:
    header = header_of("cerner_orm_o01_23_latin1.hl7")
    error = AckError(ErrorCode.TABLE_VALUE_NOT_FOUND, "Prozedur für Müller unbekannt")
    ack = build_ack(header, AckCode.AE, at=AT, error=error)
    assert segments(ack)["MSH"][18] == "8859/1"
    assert "Müller".encode("latin-1") in ack


def test_ack_to_an_ascii_sender_replaces_characters_it_cannot_carry() -> None:
    header = header_of("epic_orm_o01_251_two_orders.hl7")
    ack = build_ack(header, AckCode.AE, at=AT, error=AckError(ErrorCode.TABLE_VALUE_NOT_FOUND, "Zoë"))
    assert b"Zo?" in ack


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFound("no order PL-1"), ErrorCode.UNKNOWN_KEY_IDENTIFIER),
        (DuplicateRequest("seen before with other content"), ErrorCode.DUPLICATE_KEY_IDENTIFIER),
        (ValidationError("NPI fails its check digit"), ErrorCode.DATA_TYPE_ERROR),
        (Conflict("order already cancelled"), ErrorCode.APPLICATION_INTERNAL_ERROR),
    ],
)
def test_radflow_errors_map_to_table_0357_codes(error: Exception, code: ErrorCode) -> None:
    mapped = ack_error_for(error)  # type: ignore[arg-type]
    assert mapped.code is code
    assert mapped.message == str(error)
    assert original_code(mapped) is AckCode.AE


def test_content_errors_are_ae_and_msh_problems_are_ar() -> None:
    content = ack_error_for(Hl7ContentError("x", error_code=ErrorCode.REQUIRED_FIELD_MISSING))
    reject = ack_error_for(Hl7ContentError("x", error_code=ErrorCode.UNSUPPORTED_VERSION_ID))
    assert (original_code(content), original_code(reject), original_code(None)) == (AckCode.AE, AckCode.AR, AckCode.AA)
    assert (commit_code(content), commit_code(reject), commit_code(None)) == (AckCode.CE, AckCode.CR, AckCode.CA)


def test_original_mode_when_msh15_and_msh16_are_empty() -> None:
    header = header_of("epic_orm_o01_251_two_orders.hl7")
    assert not is_enhanced_mode(header)
    assert accept_ack_due(header, AckCode.AA)
    assert not application_ack_due(header, AckCode.AA)


@pytest.mark.parametrize(
    ("condition", "due_on_success", "due_on_error"),
    [("AL", True, True), ("NE", False, False), ("ER", False, True), ("SU", True, False), ("", True, True)],
)
def test_enhanced_mode_follows_table_0155(condition: str, due_on_success: bool, due_on_error: bool) -> None:
    accept = header_of("epic_orm_o01_251_two_orders.hl7", accept_ack_type=condition, application_ack_type="AL")
    application = header_of("epic_orm_o01_251_two_orders.hl7", accept_ack_type="AL", application_ack_type=condition)
    assert (accept_ack_due(accept, AckCode.CA), accept_ack_due(accept, AckCode.CE)) == (due_on_success, due_on_error)
    assert (application_ack_due(application, AckCode.AA), application_ack_due(application, AckCode.AE)) == (
        due_on_success,
        due_on_error,
    )


def test_best_effort_ack_echoes_control_id_of_an_unparseable_frame() -> None:
    raw = b"MSH|^~\\&|LAB|H|RADFLOW|R|20260302||ORM^O01|CTRL-77|P|2.9\rPID|garbage"
    ack = segments(best_effort_ack(raw, at=AT, error=AckError(ErrorCode.UNSUPPORTED_VERSION_ID, "v", is_reject=True)))
    assert ack["MSA"][1:3] == ["AR", "CTRL-77"]
    assert ack["MSH"][12] == "2.9"
    assert ack["MSH"][5:7] == ["LAB", "H"]


def test_best_effort_ack_for_bytes_without_msh_is_an_ar_with_nothing_to_echo() -> None:
    ack = segments(best_effort_ack(b"\x00\xff", at=AT, error=AckError(ErrorCode.SEGMENT_SEQUENCE_ERROR, "no MSH")))
    assert ack["MSA"][1] == "AE"
    assert len(ack["MSA"]) == 2 or ack["MSA"][2] == ""


def test_best_effort_ack_in_enhanced_mode_is_a_commit_reject() -> None:
    raw = b"MSH|^~\\&|LAB|H|RADFLOW|R|20260302||ORM^O01|CTRL-78|P|2.9|||AL|AL"
    ack = segments(best_effort_ack(raw, at=AT, error=AckError(ErrorCode.UNSUPPORTED_VERSION_ID, "v", is_reject=True)))
    assert ack["MSA"][1:3] == ["CR", "CTRL-78"]


def test_best_effort_ack_echoes_a_control_id_holding_a_component_separator_whole() -> None:
    raw = b"MSH|^~\\&|LAB|H|RADFLOW|R|20260302||ORM^O01|AB^CD|P|2.5.1"
    ack = best_effort_ack(raw, at=AT, error=AckError(ErrorCode.SEGMENT_SEQUENCE_ERROR, "x"))
    assert read_ack(ack).acknowledged_control_id == "AB^CD"


def test_read_ack_reports_code_control_id_and_message_of_a_partner_ack() -> None:
    ack = read_ack(
        b"MSH|^~\\&|EPIC|H|RADFLOW|R|20260302||ACK^O01^ACK|9|P|2.5.1\rMSA|AE|RF0001\rERR||||E||||unknown order\r"
    )
    assert (ack.code, ack.acknowledged_control_id, ack.message, ack.is_accepted) == (
        "AE",
        "RF0001",
        "unknown order",
        False,
    )
    assert read_ack(b"MSH|^~\\&|X|Y|Z|W|1||ACK|1|P|2.3\rMSA|CA|RF0002\r").is_accepted


def test_read_ack_refuses_an_answer_without_msa() -> None:
    with pytest.raises(Hl7ContentError):
        read_ack(b"MSH|^~\\&|X|Y|Z|W|1||ORM^O01|1|P|2.3\rPID|1\r")
