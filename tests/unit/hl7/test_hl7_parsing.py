"""Reading inbound HL7 messages in the styles of real senders (2.3 to 2.5.1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from radflow.adapters.hl7.errors import ErrorCode, Hl7ContentError
from radflow.adapters.hl7.messages import InboundMerge, InboundOrder, InboundPatient, InboundReport
from radflow.adapters.hl7.parsing import parse_header, parse_message, read_header_best_effort
from radflow.domain.errors import ValidationError

DATA = Path(__file__).parents[2] / "data" / "hl7"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def order(name: str) -> InboundOrder:
    message = parse_message(sample(name))
    assert isinstance(message, InboundOrder)
    return message


def refusal(raw: bytes) -> Hl7ContentError:
    with pytest.raises(Hl7ContentError) as caught:
        parse_message(raw)
    return caught.value


# --- ORM^O01 / OMI^O23 ---------------------------------------------------------------------------


def test_epic_251_order_keeps_every_patient_identifier_with_its_authority() -> None:
    patient = order("epic_orm_o01_251_new.hl7").patient
    assert [(i.value, i.assigning_authority, i.identifier_type) for i in patient.identifiers] == [
        ("884422", "MAINHOSP", "MR"),
        ("E1029384", "EPI", "EI"),
        ("999-88-7777", "SSA", "SS"),
    ]


def test_utf8_names_declared_in_msh18_are_read_correctly() -> None:
    message = order("epic_orm_o01_251_new.hl7")
    assert message.header.charset == "UNICODE UTF-8"
    assert (message.patient.name.family, message.patient.name.given) == ("Núñez", "Zoë")


def test_latin1_names_declared_8859_1_are_read_correctly() -> None:
    message = order("cerner_orm_o01_23_latin1.hl7")
    assert (message.header.charset, message.header.decoded_as) == ("8859/1", "latin-1")
    assert (message.patient.name.family, message.patient.name.given) == ("Müller", "Jürgen")
    assert message.patient.addresses[0].street == "Hauptstraße 5"


def test_utf8_sent_without_msh18_is_still_read_as_utf8() -> None:
    message = order("epic_orm_o01_251_cancel.hl7")
    assert message.header.charset == ""
    assert message.header.decoded_as == "utf-8"
    assert message.patient.name.family == "Núñez"


def test_latin1_bytes_sent_as_declared_utf8_fall_back_instead_of_failing() -> None:
    raw = sample("cerner_orm_o01_23_latin1.hl7").replace(b"8859/1", b"UNICODE UTF-8")
    message = order_from(raw)
    assert message.header.decoded_as == "latin-1"
    assert message.patient.name.family == "Müller"


def order_from(raw: bytes) -> InboundOrder:
    message = parse_message(raw)
    assert isinstance(message, InboundOrder)
    return message


def test_order_line_carries_control_placer_procedure_priority_and_requested_time() -> None:
    line = order("epic_orm_o01_251_new.hl7").procedures[0]
    assert line.order_control == "NW"
    assert line.placer_order_number == "PL-5001"
    assert line.universal_service is not None and line.universal_service.code == "IMG1234"
    assert line.priority == "S"  # TQ1-9
    assert line.requested_at == datetime(2026, 3, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5)))


def test_ordering_provider_npi_is_recognised_from_the_identifier_type() -> None:
    line = order("epic_orm_o01_251_new.hl7").procedures[0]
    assert line.ordering_provider is not None
    assert line.ordering_provider.npi == "1234567893"
    assert line.ordering_provider.family == "Welby"


def test_local_provider_id_is_not_taken_for_an_npi() -> None:
    line = order("meditech_orm_o01_24_crlf.hl7").procedures[0]
    assert line.ordering_provider is not None
    assert line.ordering_provider.identifier == "DRJONES"
    assert line.ordering_provider.npi is None


def test_copy_to_reason_diagnoses_notes_and_clinical_info_are_kept() -> None:
    line = order("epic_orm_o01_251_new.hl7").procedures[0]
    assert [p.identifier for p in line.copy_to] == ["4411", "5522"]
    assert [(r.code, r.text) for r in line.reason_for_study] == [
        ("M54.16", "Radiculopathy, lumbar region"),
        ("", "Rule out disc herniation"),
    ]
    assert [d.code for d in line.diagnoses] == ["M54.16", "M51.26"]
    assert line.notes == ("Patient is claustrophobic.\nPrefers open bore if available.",)
    # \T\ is the subcomponent separator, escaped inside OBR-13.
    assert line.relevant_clinical_info == "Low back pain radiating to left leg & numbness 6 wk; failed PT"


def test_z_segments_are_kept_raw_with_their_order_line() -> None:
    line = order("epic_orm_o01_251_new.hl7").procedures[0]
    assert [(z.name, z.fields[0]) for z in line.z_segments] == [("ZDS", "1.2.840.113619.2.55.3.2831164356.1")]
    assert order("cerner_orm_o01_23_latin1.hl7").procedures[0].z_segments[0].line == "ZPI|CCLINIC-PORTAL|opt-in"


def test_two_orc_groups_give_two_order_lines_each_with_its_own_diagnosis() -> None:
    message = order("epic_orm_o01_251_two_orders.hl7")
    assert [p.placer_order_number for p in message.procedures] == ["PL-5002", "PL-5003"]
    assert [p.priority for p in message.procedures] == ["", "A"]
    assert [[d.code for d in p.diagnoses] for p in message.procedures] == [["M54.5"], []]
    assert message.patient_class == "E"


def test_cerner_23_priority_and_start_come_from_the_tq_in_obr27() -> None:
    line = order("cerner_orm_o01_23_latin1.hl7").procedures[0]
    assert line.priority == "S"
    assert line.requested_at == datetime(2006, 3, 6, 10, 0)  # no offset: the sender's local time
    assert line.transaction_at == datetime(2006, 3, 2, 13, 55)


def test_lf_and_crlf_segment_endings_read_like_cr() -> None:
    crlf = order("meditech_orm_o01_24_crlf.hl7")
    as_cr = order_from(sample("meditech_orm_o01_24_crlf.hl7").replace(b"\r\n", b"\r"))
    as_lf = order_from(sample("meditech_orm_o01_24_crlf.hl7").replace(b"\r\n", b"\n"))
    assert crlf.procedures == as_cr.procedures == as_lf.procedures
    assert crlf.procedures[0].priority == "S"  # OBR-5 in 2.4
    assert crlf.patient_class == "I"


def test_custom_encoding_characters_from_msh1_and_msh2_are_honoured() -> None:
    message = order("meditech_orm_o01_24_custom_delimiters.hl7")
    line = message.procedures[0]
    assert message.header.message_type == "ORM^O01"
    assert message.patient.identifiers[0].assigning_authority == "RMC"
    assert line.universal_service is not None and line.universal_service.code == "MRLS"
    # $F$ and $S$ are the field and component separators of this message: '!' and '@'.
    assert line.relevant_clinical_info == "Pain ! weakness @ L5"


def test_omi_gives_one_order_line_per_ipc_with_accession_and_study_uid() -> None:
    message = order("partner_omi_o23_25.hl7")
    assert message.header.message_type == "OMI^O23"
    assert [(p.placer_accession, p.study_instance_uid, p.modality) for p in message.procedures] == [
        ("NACC000311", "1.2.276.0.7230010.3.1.2.311", "CT"),
        ("NACC000312", "1.2.276.0.7230010.3.1.2.312", "CT"),
    ]
    assert {p.placer_order_number for p in message.procedures} == {"PRT-ORD-31"}


@pytest.mark.parametrize(
    ("name", "control", "has_procedure"),
    [
        ("epic_orm_o01_251_cancel.hl7", "CA", False),
        ("epic_orm_o01_251_discontinue.hl7", "DC", True),
        ("epic_orm_o01_251_change.hl7", "XO", True),
    ],
)
def test_cancel_discontinue_and_change_requests_are_read(name: str, control: str, has_procedure: bool) -> None:
    line = order(name).procedures[0]
    assert line.order_control == control
    assert line.filler_order_number.startswith("RAD")
    assert (line.universal_service is not None) is has_procedure


def test_new_order_without_obr_is_refused_as_segment_sequence_error() -> None:
    raw = sample("epic_orm_o01_251_cancel.hl7").replace(b"ORC|CA|", b"ORC|NW|")
    error = refusal(raw)
    assert error.error_code is ErrorCode.SEGMENT_SEQUENCE_ERROR
    assert error.location is not None and error.location.segment == "OBR"


def test_unknown_order_control_is_a_table_value_error() -> None:
    error = refusal(sample("epic_orm_o01_251_change.hl7").replace(b"ORC|XO|", b"ORC|ZZ|"))
    assert error.error_code is ErrorCode.TABLE_VALUE_NOT_FOUND
    assert str(error.location) == "ORC-1"


# --- ADT and ORU ---------------------------------------------------------------------------------


def test_adt_a04_registers_with_23_style_phone_and_address() -> None:
    message = parse_message(sample("cerner_adt_a04_231.hl7"))
    assert isinstance(message, InboundPatient)
    assert message.event == "A04"
    assert message.patient.phones[0].number == "(217)555-0187"
    assert message.patient.addresses[0].city == "Springfield"
    assert message.recorded_at == datetime(2026, 3, 2, 7, 44, 55)
    assert message.z_segments[0].name == "ZPI"


def test_adt_a08_reads_25_style_phone_components() -> None:
    message = parse_message(sample("epic_adt_a08_25.hl7"))
    assert isinstance(message, InboundPatient)
    assert message.event == "A08"
    assert message.patient.name.family == "Núñez-García"
    phone = message.patient.phones[0]
    assert (phone.number, phone.use, phone.equipment) == ("+1 (217) 5550111 x12", "PRN", "CP")


def test_adt_a40_names_surviving_patient_and_every_prior_identifier() -> None:
    message = parse_message(sample("epic_adt_a40_251.hl7"))
    assert isinstance(message, InboundMerge)
    (merge,) = message.merges
    assert merge.surviving.identifiers[0].value == "884422"
    assert [(i.value, i.assigning_authority) for i in merge.prior_identifiers] == [
        ("884499", "MAINHOSP"),
        ("E1029999", "EPI"),
    ]


def test_adt_a40_without_mrg_is_refused() -> None:
    raw = b"\r".join(line for line in sample("epic_adt_a40_251.hl7").split(b"\r") if not line.startswith(b"MRG"))
    assert refusal(raw).error_code is ErrorCode.SEGMENT_SEQUENCE_ERROR


def test_oru_final_report_text_decodes_formatted_line_breaks() -> None:
    message = parse_message(sample("dictation_oru_r01_251_final.hl7"))
    assert isinstance(message, InboundReport)
    (result,) = message.results
    assert result.result_status == "F"
    assert result.filler_order_number == "RAD0000123"
    assert result.text == (
        "FINDINGS:\nL4-5 disc protrusion contacting the left L5 root & mild canal narrowing.\n\n"
        "IMPRESSION:\nLeft L4-5 protrusion."
    )
    assert result.interpreter is not None and (result.interpreter.family, result.interpreter.degree) == ("Rao", "MD")
    assert result.observed_at == datetime(2026, 3, 4, 14, 10, tzinfo=timezone(timedelta(hours=-5)))
    birads = result.observations[1].coded_values[0]
    assert (birads.code, birads.text) == ("2", "Benign")


def test_oru_corrected_report_keeps_blank_tx_lines() -> None:
    message = parse_message(sample("dictation_oru_r01_24_corrected.hl7"))
    assert isinstance(message, InboundReport)
    (result,) = message.results
    assert result.result_status == "C"
    assert result.text == "ADDENDUM: comparison with outside study 2025-11-02.\n\nFindings unchanged."


def test_oru_with_unknown_result_status_is_refused() -> None:
    error = refusal(sample("dictation_oru_r01_251_final.hl7").replace(b"|||F|||", b"|||X|||"))
    assert error.error_code is ErrorCode.TABLE_VALUE_NOT_FOUND
    assert str(error.location) == "OBR-25"


# --- errors a sender meets -----------------------------------------------------------------------


def test_missing_patient_identifier_is_required_field_missing_at_pid3() -> None:
    error = refusal(sample("error_missing_patient_identifier.hl7"))
    assert isinstance(error, ValidationError)
    assert error.error_code is ErrorCode.REQUIRED_FIELD_MISSING
    assert (error.location is not None) and (error.location.segment, error.location.field) == ("PID", 3)
    assert not error.is_reject


def test_impossible_birth_date_is_a_data_type_error_at_pid7() -> None:
    error = refusal(sample("error_bad_birth_date.hl7"))
    assert error.error_code is ErrorCode.DATA_TYPE_ERROR
    assert str(error.location) == "PID-7"
    assert "19751345" in error.user_message


@pytest.mark.parametrize("text", ["2026-03-02", "20261", "2026030212345", "202603021200+5", "202603021200+2500"])
def test_malformed_timestamps_are_data_type_errors(text: str) -> None:
    raw = sample("epic_orm_o01_251_two_orders.hl7").replace(b"19751230", text.encode())
    assert refusal(raw).error_code is ErrorCode.DATA_TYPE_ERROR


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("error_unsupported_type.hl7", ErrorCode.UNSUPPORTED_MESSAGE_TYPE),
        ("error_unsupported_event.hl7", ErrorCode.UNSUPPORTED_EVENT_CODE),
        ("error_unsupported_version.hl7", ErrorCode.UNSUPPORTED_VERSION_ID),
        ("error_unsupported_version_22.hl7", ErrorCode.UNSUPPORTED_VERSION_ID),
    ],
)
def test_unsupported_type_event_and_version_are_rejects(name: str, code: ErrorCode) -> None:
    error = refusal(sample(name))
    assert error.error_code is code
    assert error.is_reject


def test_unknown_processing_id_is_a_reject() -> None:
    error = refusal(sample("epic_orm_o01_251_two_orders.hl7").replace(b"|P|2.5.1", b"|X|2.5.1"))
    assert error.error_code is ErrorCode.UNSUPPORTED_PROCESSING_ID
    assert error.is_reject


def test_missing_control_id_is_a_reject_because_nothing_can_be_echoed() -> None:
    error = refusal(sample("epic_orm_o01_251_two_orders.hl7").replace(b"|EPIC000102|", b"||"))
    assert error.error_code is ErrorCode.REQUIRED_FIELD_MISSING
    assert error.is_reject


def test_bytes_that_are_not_hl7_are_refused_without_crashing() -> None:
    error = refusal(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert error.is_reject
    assert read_header_best_effort(b"GET / HTTP/1.1") is None


def test_duplicate_encoding_characters_are_a_reject() -> None:
    error = refusal(sample("epic_orm_o01_251_two_orders.hl7").replace(b"MSH|^~\\&|", b"MSH|^^\\&|", 1))
    assert error.is_reject
    assert str(error.location) == "MSH-2"


def test_raw_control_character_inside_a_value_is_refused_not_silently_kept() -> None:
    raw = sample("epic_orm_o01_251_two_orders.hl7").replace(b"Doe^Jane", b"Doe^Ja\x0bne")
    error = refusal(raw)
    assert error.error_code is ErrorCode.DATA_TYPE_ERROR
    assert str(error.location) == "PID-5"


@pytest.mark.parametrize("stray", [b"\x1c", b"\x1f", b"\x0b"])
def test_control_byte_at_the_start_or_end_of_a_segment_is_refused(stray: bytes) -> None:
    raw = sample("epic_adt_a40_251.hl7")
    assert refusal(raw.replace(b"\rMRG|", b"\r" + stray + b"MRG|")).error_code is ErrorCode.SEGMENT_SEQUENCE_ERROR
    assert refusal(raw[:-1] + stray + b"\r").error_code is ErrorCode.DATA_TYPE_ERROR
    assert refusal(raw + stray).error_code is ErrorCode.SEGMENT_SEQUENCE_ERROR


def test_line_break_inside_report_text_is_refused_rather_than_cutting_the_text() -> None:
    raw = sample("dictation_oru_r01_24_corrected.hl7").replace(b"comparison with", b"comparison\nwith")
    assert refusal(raw).error_code is ErrorCode.SEGMENT_SEQUENCE_ERROR


def test_header_best_effort_reads_control_id_of_a_message_it_cannot_parse() -> None:
    header = read_header_best_effort(sample("error_unsupported_version.hl7"))
    assert header is not None
    assert (header.control_id, header.version, header.sending_application) == ("EPIC-ERR-06", "2.6", "EPIC")


def test_parse_header_reads_ack_modes_and_charset() -> None:
    header = parse_header(sample("epic_orm_o01_251_new.hl7"))
    assert (header.accept_ack_type, header.application_ack_type) == ("AL", "NE")
    assert header.created_at == datetime(2026, 3, 2, 13, 15, tzinfo=UTC)
    assert header.message_structure == "ORM_O01"


def test_23_message_without_structure_gets_the_implied_one() -> None:
    assert parse_header(sample("cerner_orm_o01_23_latin1.hl7")).message_structure == "ORM_O01"


def test_birth_date_is_a_calendar_date() -> None:
    assert order("epic_orm_o01_251_new.hl7").patient.birth_date == date(1980, 1, 15)
