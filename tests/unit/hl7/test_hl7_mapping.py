"""The per-sender mapping file and map_order: what the order intake service receives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from radflow.adapters.hl7.errors import ErrorCode, Hl7ContentError
from radflow.adapters.hl7.mapping import InterfaceMapping, MappedOrder, SenderMapping, map_order
from radflow.adapters.hl7.mapping_file import MappingError, load_mapping, load_mapping_file
from radflow.adapters.hl7.messages import InboundOrder
from radflow.adapters.hl7.parsing import parse_message
from radflow.catalog.loader import load_catalog
from radflow.domain.order import Laterality, Track
from radflow.domain.payer_rules import CareSetting
from radflow.domain.protocols import ContrastPhase

DATA = Path(__file__).parents[2] / "data" / "hl7"
MAPPING_TEXT = (DATA / "mapping.yaml").read_text()


@pytest.fixture(scope="module")
def mapping() -> InterfaceMapping:
    return load_mapping_file(DATA / "mapping.yaml", known_protocols=load_catalog().protocols)


def inbound(name: str, raw: bytes | None = None) -> InboundOrder:
    message = parse_message(raw if raw is not None else (DATA / name).read_bytes())
    assert isinstance(message, InboundOrder)
    return message


def mapped(mapping: InterfaceMapping, name: str, raw: bytes | None = None) -> MappedOrder:
    message = inbound(name, raw)
    return map_order(message, mapping.sender_for(message.header))


def refused(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        load_mapping(text, source="m.yaml")
    return list(caught.value.problems)


# --- loading -------------------------------------------------------------------------------------


def test_sample_mapping_loads_with_every_protocol_in_the_shipped_catalog(mapping: InterfaceMapping) -> None:
    assert [s.sending_application for s in mapping.senders] == [
        "EPIC", "CERNER", "PARTNER", "MEDITECH", "POWERSCRIBE", "DICTATE"]
    epic = mapping.senders[0]
    assert epic.procedures["IMG1235"].contrast is ContrastPhase.WITHOUT_AND_WITH
    assert epic.outbound is not None and (epic.outbound.port, epic.outbound.status_message) == (6661, "ORM")
    assert epic.application_ack_destination is not None


def test_json_mapping_is_read_like_yaml() -> None:
    text = (
        '{"version": 1, "senders": [{"name": "J", "sending_application": "J", '
        '"mrn": {"assigning_authority": "H"}, "procedures": {"X1": "CT-HEAD"}}]}'
    )
    (sender,) = load_mapping(text).senders
    assert sender.procedures["X1"].protocol == "CT-HEAD"
    assert sender.sending_facility == "*"


def test_bad_mapping_is_refused_whole_with_every_problem_and_its_line() -> None:
    text = (
        MAPPING_TEXT.replace("contrast: without}", "contrast: w/o}", 1)
        .replace("port: 6661", "port: 99999")
        .replace(
            "    priorities: {S: stat, A: urgent, R: routine}\n    providers:",
            "    priorites: {S: stat}\n    providers:",
            1,
        )
        .replace('npi: "1234567893"', 'npi: "1234567890"')
    )
    problems = refused(text)
    assert len(problems) == 4
    joined = "\n".join(problems)
    assert "m.yaml:12: procedure 'IMG1234' contrast 'w/o' is not one of: without, with" in joined
    assert "m.yaml:16: a sender: unknown key 'priorites'" in joined
    assert "m.yaml:18: provider '4411': NPI '1234567890'" in joined
    assert "m.yaml:22: outbound.port '99999' is not a port number" in joined


def test_protocol_missing_from_the_catalog_is_named_with_its_line() -> None:
    text = MAPPING_TEXT.replace("IMG2001: {protocol: CT-HEAD", "IMG2001: {protocol: CT-HAED")
    with pytest.raises(MappingError) as caught:
        load_mapping(text, source="m.yaml", known_protocols=load_catalog().protocols)
    assert caught.value.problems == ("m.yaml:14: procedure 'IMG2001': protocol 'CT-HAED' is not in the catalog",)


def test_yaml_syntax_error_names_its_line() -> None:
    problems = refused("senders:\n  - name: [unclosed\n")
    assert problems[0].startswith("m.yaml:3: not valid YAML")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "m.yaml:1: the file is empty"),
        ("senders: []\n", "m.yaml:1: senders must be a non-empty list"),
        ("version: 2\nsenders: []\n", "m.yaml:1: version must be 1"),
        (
            "senders:\n  - name: A\n    sending_application: A\n    procedures: {X: CT-HEAD}\n",
            "m.yaml:2: a sender: 'mrn' is required",
        ),
        (
            "senders:\n  - {name: A, sending_application: A, mrn: {assigning_authority: H}, procedures: {X: CT-HEAD},"
            " timezone: Mars/Olympus}\n",
            "m.yaml:2: timezone 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            "senders:\n  - {name: A, sending_application: A, mrn: {assigning_authority: H}, procedures: {X: CT-HEAD},"
            " outbound: {host: h, port: 1, status_message: OMI, version: '2.4'}}\n",
            "m.yaml:2: outbound: OMI status messages need version 2.5 or 2.5.1",
        ),
    ],
)
def test_structural_problems_are_named(text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in refused(text)), refused(text)


def test_two_entries_for_the_same_sender_are_refused() -> None:
    entry = (
        "  - {name: A, sending_application: A, sending_facility: F, mrn: {assigning_authority: H},"
        " procedures: {X: Y}}\n"
    )
    assert refused("senders:\n" + entry + entry) == ["m.yaml:3: sender A/F is already mapped at line 2"]


# --- finding the sender --------------------------------------------------------------------------


def test_sender_without_facility_matches_any_facility(mapping: InterfaceMapping) -> None:
    header = inbound("cerner_orm_o01_23_latin1.hl7").header
    assert mapping.sender_for(header).name == "Community Clinic (Cerner, 2.3)"


def test_unknown_sending_system_is_rejected(mapping: InterfaceMapping) -> None:
    raw = (DATA / "epic_orm_o01_251_new.hl7").read_bytes().replace(b"|EPIC|MAINHOSP|", b"|EPIC|OTHERHOSP|", 1)
    with pytest.raises(Hl7ContentError) as caught:
        mapping.sender_for(inbound("", raw).header)
    assert caught.value.is_reject
    assert "OTHERHOSP" in caught.value.user_message


# --- map_order -----------------------------------------------------------------------------------


def test_epic_order_maps_to_protocol_track_npi_diagnoses_and_reason(mapping: InterfaceMapping) -> None:
    order = mapped(mapping, "epic_orm_o01_251_new.hl7")
    assert (order.mrn, order.mrn_authority) == ("884422", "MAINHOSP")
    assert (order.family_name, order.given_name, order.phone) == ("Núñez", "Zoë", "+1 (217) 5550142")
    (line,) = order.procedures
    assert (line.protocol_code, line.contrast, line.track) == ("MR-LSPINE", ContrastPhase.WITHOUT, Track.STAT)
    assert (line.ordering_provider_npi, line.ordering_provider_name) == ("1234567893", "Dr. Marcus Welby")
    assert line.copy_to == (("1234567893", "Marcus Welby MD"), ("", "Ben Casey"))
    assert line.diagnosis_codes == ("M54.16", "M51.26")
    assert line.reason_for_exam == "Radiculopathy, lumbar region; Rule out disc herniation"
    assert line.clinical_notes.startswith("Low back pain radiating to left leg & numbness")
    assert "claustrophobic" in line.clinical_notes
    assert line.requested_at == datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    assert line.setting is CareSetting.OUTPATIENT
    assert order.placer_system == "EPIC^MAINHOSP"


def test_local_provider_id_gets_its_npi_from_the_mapping(mapping: InterfaceMapping) -> None:
    (line,) = mapped(mapping, "meditech_orm_o01_24_crlf.hl7").procedures
    assert (line.ordering_provider_npi, line.ordering_provider_name) == ("1245319599", "Alice Jones MD")
    assert line.setting is CareSetting.INPATIENT
    assert line.diagnosis_codes == ("R51.9",)


def test_diagnoses_only_from_obr31_when_the_sender_mapping_says_so(mapping: InterfaceMapping) -> None:
    (line,) = mapped(mapping, "cerner_orm_o01_23_latin1.hl7").procedures
    assert line.diagnosis_codes == ("M54.5",)
    assert line.reason_for_exam == "Low back pain; Chronic lower back pain"
    assert line.track is Track.STAT
    assert line.protocol_code == "MR-LSPINE"


def test_naive_hl7_times_are_the_senders_local_time(mapping: InterfaceMapping) -> None:
    (line,) = mapped(mapping, "cerner_orm_o01_23_latin1.hl7").procedures
    # 2006-03-06 10:00 in Chicago (CST, UTC-6).
    assert line.requested_at == datetime(2006, 3, 6, 16, 0, tzinfo=UTC)


def test_order_without_diagnosis_is_mapped_not_refused(mapping: InterfaceMapping) -> None:
    lines = mapped(mapping, "epic_orm_o01_251_two_orders.hl7").procedures
    assert [line.diagnosis_codes for line in lines] == [("M54.5",), ()]
    assert [line.track for line in lines] == [Track.ROUTINE, Track.URGENT]
    assert lines[0].setting is CareSetting.EMERGENCY


def test_placer_accession_is_taken_only_where_the_mapping_says_the_placer_assigns_it(
    mapping: InterfaceMapping,
) -> None:
    lines = mapped(mapping, "partner_omi_o23_25.hl7").procedures
    assert [line.placer_accession for line in lines] == ["NACC000311", "NACC000312"]
    assert mapped(mapping, "epic_orm_o01_251_new.hl7").procedures[0].placer_accession == ""
    assert mapped(mapping, "partner_omi_o23_25.hl7").mrn == "N-55120"


def test_new_order_from_an_accession_assigning_placer_without_accession_is_refused(mapping: InterfaceMapping) -> None:
    raw = b"\r".join(
        line for line in (DATA / "partner_omi_o23_25.hl7").read_bytes().split(b"\r") if not line.startswith(b"IPC")
    )
    with pytest.raises(Hl7ContentError) as caught:
        mapped(mapping, "", raw)
    assert caught.value.error_code is ErrorCode.REQUIRED_FIELD_MISSING
    assert str(caught.value.location) == "OBR-18"


def test_unknown_procedure_code_is_refused_naming_the_code_and_obr4(mapping: InterfaceMapping) -> None:
    with pytest.raises(Hl7ContentError) as caught:
        mapped(mapping, "error_unknown_procedure.hl7")
    assert caught.value.error_code is ErrorCode.TABLE_VALUE_NOT_FOUND
    assert str(caught.value.location) == "OBR-4.1"
    assert "IMG9999" in caught.value.user_message
    assert not caught.value.is_reject


def test_unknown_priority_code_is_refused(mapping: InterfaceMapping) -> None:
    raw = (DATA / "epic_orm_o01_251_new.hl7").read_bytes().replace(b"-0500||S", b"-0500||Q")
    with pytest.raises(Hl7ContentError) as caught:
        mapped(mapping, "", raw)
    assert caught.value.error_code is ErrorCode.TABLE_VALUE_NOT_FOUND
    assert "'Q'" in caught.value.user_message


def test_message_without_the_mrn_authority_is_refused_listing_what_was_sent(mapping: InterfaceMapping) -> None:
    raw = (DATA / "epic_orm_o01_251_new.hl7").read_bytes().replace(b"884422^^^MAINHOSP^MR~", b"")
    with pytest.raises(Hl7ContentError) as caught:
        mapped(mapping, "", raw)
    assert caught.value.error_code is ErrorCode.REQUIRED_FIELD_MISSING
    assert "E1029384 (EPI/EI)" in caught.value.user_message


def test_cancel_maps_without_a_procedure(mapping: InterfaceMapping) -> None:
    (line,) = mapped(mapping, "epic_orm_o01_251_cancel.hl7").procedures
    assert (line.order_control, line.protocol_code, line.filler_order_number) == ("CA", None, "RAD0000123")


def test_laterality_comes_from_the_procedure_mapping(mapping: InterfaceMapping) -> None:
    raw = (DATA / "epic_orm_o01_251_two_orders.hl7").read_bytes().replace(b"IMG2001^CT head", b"IMG3001^XR knee")
    assert mapped(mapping, "", raw).procedures[1].laterality is Laterality.LEFT


def test_sender_mapping_defaults_priorities_to_table_0027() -> None:
    text = "senders:\n  - {name: A, sending_application: A, mrn: {assigning_authority: H}, procedures: {X: CT-HEAD}}\n"
    sender: SenderMapping = load_mapping(text).senders[0]
    assert sender.priorities == {"S": Track.STAT, "A": Track.URGENT, "R": Track.ROUTINE}
