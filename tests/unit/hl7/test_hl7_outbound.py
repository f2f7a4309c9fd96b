"""Outbound order status (ORM^O01 / OMI^O23) and reports (ORU^R01) as the placer's system reads them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.adapters.hl7.errors import Hl7ContentError
from radflow.adapters.hl7.mapping import Destination
from radflow.adapters.hl7.messages import CodedValue, InboundMerge, InboundReport, Provider
from radflow.adapters.hl7.outbound import (
    ORDER_STATUS_BY_STATE,
    OrderStatusUpdate,
    OutboundPatient,
    PatientMergeMessage,
    RadsCategory,
    ReportMessage,
    build_merge,
    build_order_status,
    build_report,
    order_status_code,
)
from radflow.adapters.hl7.parsing import parse_message
from radflow.domain.errors import ValidationError
from radflow.domain.lifecycle import OrderState

AT = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
PATIENT = OutboundPatient("884422", "MAINHOSP", "Núñez", "Zoë", birth_date=date(1980, 1, 15), sex="F")
PROCEDURE = CodedValue("IMG1234", "MRI lumbar spine w/o contrast", "EPICPROC")
WELBY = Provider("1234567893", "Welby", "Marcus", identifier_type="NPI")
UPDATE = OrderStatusUpdate(
    control_id="RFS000001",
    created_at=AT,
    patient=PATIENT,
    placer_order_number="PL-5001",
    accession_number="RAD0000123",
    state=OrderState.SCHEDULED,
    status_changed_at=AT,
    procedure=PROCEDURE,
    scheduled_at=datetime(2026, 3, 5, 14, 0, tzinfo=UTC),
    ordering_provider=WELBY,
    study_instance_uid="2.25.118561",
    modality="MR",
)
REPORT = ReportMessage(
    control_id="RFR000001",
    created_at=AT,
    patient=PATIENT,
    placer_order_number="PL-5001",
    accession_number="RAD0000123",
    procedure=PROCEDURE,
    status="final",
    signed_at=AT,
    text="FINDINGS:\nDisc protrusion | L4-5 ^ left.\n\nIMPRESSION:\nProtrusion.",
    observed_at=datetime(2026, 3, 5, 14, 20, tzinfo=UTC),
    interpreter=Provider("1982736450", "Rao", "Priya", degree="MD"),
    rads=RadsCategory("BI-RADS", "2", "Benign"),
)
EPIC = Destination("epic.example", 6661, "EPIC", "MAINHOSP")
TABLE_0038 = {"A", "CA", "CM", "DC", "ER", "HD", "IP", "RP", "SC"}


def fields(message: bytes, segment: str, encoding: str = "utf-8") -> list[list[str]]:
    """Every occurrence of a segment, split on '|' (index n = SEG-n; for MSH, n = MSH-n)."""
    found = []
    for line in message.decode(encoding).split("\r"):
        parts = line.split("|")
        if parts[0] == segment:
            if segment == "MSH":
                parts.insert(1, "|")
            found.append(parts)
    return found


def test_every_lifecycle_state_has_a_table_0038_status() -> None:
    assert set(ORDER_STATUS_BY_STATE) == set(OrderState)
    assert set(ORDER_STATUS_BY_STATE.values()) <= TABLE_0038


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (OrderState.SCHEDULED, "SC"),
        (OrderState.IN_PROGRESS, "IP"),
        (OrderState.ON_HOLD, "HD"),
        (OrderState.IMAGING_COMPLETED, "CM"),
        (OrderState.CANCELLED, "CA"),
    ],
)
def test_status_message_carries_sc_and_the_state_in_orc5(state: OrderState, code: str) -> None:
    (orc,) = fields(build_order_status(replace(UPDATE, state=state), EPIC), "ORC")
    assert (orc[1], orc[2], orc[3], orc[5]) == ("SC", "PL-5001", "RAD0000123", code)


def test_cancelling_an_exam_that_had_started_is_reported_as_discontinued() -> None:
    assert order_status_code(OrderState.CANCELLED, exam_started=True) == "DC"
    assert order_status_code(OrderState.CANCELLED) == "CA"


def test_orm_251_has_header_patient_timing_and_accession_where_the_placer_reads_them() -> None:
    message = build_order_status(UPDATE, EPIC)
    (msh,) = fields(message, "MSH")
    assert msh[3:7] == ["RADFLOW", "", "EPIC", "MAINHOSP"]
    assert (msh[9], msh[10], msh[12], msh[18]) == ("ORM^O01^ORM_O01", "RFS000001", "2.5.1", "UNICODE UTF-8")
    (pid,) = fields(message, "PID")
    assert (pid[3], pid[5], pid[7], pid[8]) == ("884422^^^MAINHOSP^MR", "Núñez^Zoë", "19800115", "F")
    (tq1,) = fields(message, "TQ1")
    assert tq1[7] == "20260305140000+0000"
    (obr,) = fields(message, "OBR")
    assert (obr[4], obr[18], obr[36]) == ("IMG1234^MRI lumbar spine w/o contrast^EPICPROC", "RAD0000123", tq1[7])
    assert obr[16] == "1234567893^Welby^Marcus^^^^^^NPI^^^^NPI"


def test_orm_23_uses_the_tq_in_orc7_and_no_tq1() -> None:
    message = build_order_status(UPDATE, replace(EPIC, version="2.3", charset="8859/1"))
    assert fields(message, "TQ1", "latin-1") == []
    (msh,) = fields(message, "MSH", "latin-1")
    assert msh[9] == "ORM^O01"
    (orc,) = fields(message, "ORC", "latin-1")
    assert orc[7] == "^^^20260305140000+0000"
    assert "Núñez".encode("latin-1") in message


def test_omi_status_adds_ipc_with_accession_study_uid_and_modality() -> None:
    message = build_order_status(UPDATE, replace(EPIC, status_message="OMI"))
    assert fields(message, "MSH")[0][9] == "OMI^O23^OMI_O23"
    (ipc,) = fields(message, "IPC")
    assert ipc[1:6] == ["RAD0000123", "RAD0000123", "2.25.118561", "1", "MR^^DCM"]


def test_omi_for_a_destination_older_than_25_is_refused() -> None:
    with pytest.raises(ValidationError):
        build_order_status(UPDATE, replace(EPIC, status_message="OMI", version="2.4"))


def test_a_name_the_destination_charset_cannot_carry_is_refused_not_mangled() -> None:
    with pytest.raises(Hl7ContentError) as caught:
        build_order_status(UPDATE, replace(EPIC, charset="ASCII"))
    assert "ñ" in caught.value.user_message


def test_same_update_gives_the_same_bytes_so_a_retry_keeps_msh10() -> None:
    assert build_order_status(UPDATE, EPIC) == build_order_status(UPDATE, EPIC)


def test_control_id_longer_than_msh10_allows_is_refused() -> None:
    with pytest.raises(ValidationError):
        build_order_status(replace(UPDATE, control_id="X" * 21), EPIC)


def test_final_report_goes_out_as_tx_lines_with_status_f_and_a_coded_rads_category() -> None:
    message = build_report(REPORT, EPIC)
    (obr,) = fields(message, "OBR")
    assert (obr[3], obr[7], obr[22], obr[25], obr[32]) == (
        "RAD0000123",
        "20260305142000+0000",
        "20260302183000+0000",
        "F",
        "1982736450&Rao&Priya&&&&MD",
    )
    observations = fields(message, "OBX")
    assert [o[5] for o in observations[:-1]] == [
        "FINDINGS:",
        "Disc protrusion \\F\\ L4-5 \\S\\ left.",
        "",
        "IMPRESSION:",
        "Protrusion.",
    ]
    assert {o[2] for o in observations[:-1]} == {"TX"}
    assert {o[11] for o in observations} == {"F"}
    assert observations[-1][2:6] == ["CWE", "BI-RADS^BI-RADS assessment category^99RADS", "", "2^Benign^99RADS-BI-RADS"]


def test_addendum_goes_out_corrected_and_rads_as_ce_before_25() -> None:
    message = build_report(replace(REPORT, status="corrected"), replace(EPIC, version="2.4"))
    assert fields(message, "OBR")[0][25] == "C"
    assert fields(message, "OBX")[-1][2] == "CE"
    assert {o[11] for o in fields(message, "OBX")} == {"C"}


def test_formatted_report_is_one_ft_observation_with_br_line_breaks() -> None:
    message = build_report(replace(REPORT, value_type="FT"), EPIC)
    text_obx = fields(message, "OBX")[0]
    assert text_obx[2] == "FT"
    assert text_obx[5].startswith("FINDINGS:\\.br\\Disc protrusion \\F\\ L4-5")


def test_report_text_survives_the_trip_to_a_receiver_and_back() -> None:
    for value_type in ("TX", "FT"):
        parsed = parse_message(build_report(replace(REPORT, value_type=value_type), EPIC))
        assert isinstance(parsed, InboundReport)
        assert parsed.results[0].text == REPORT.text


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda n: n.strip() and n != '""'
)


@given(family=names, given_name=names)
def test_any_patient_name_reaches_a_utf8_receiver_unchanged(family: str, given_name: str) -> None:
    patient = replace(PATIENT, family_name=family, given_name=given_name)
    parsed = parse_message(build_report(replace(REPORT, patient=patient), EPIC))
    assert (parsed.patient.name.family, parsed.patient.name.given) == (family, given_name)  # type: ignore[union-attr]


@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5.1"])
def test_a_merge_goes_out_as_adt_a40_that_a_receiver_reads_back(version: str) -> None:
    temporary = OutboundPatient("T-0042", "MAINHOSP", "TRAUMA", "Alpha-7")
    message = build_merge(PatientMergeMessage("RFM000001", AT, PATIENT, temporary, AT), replace(EPIC, version=version))
    (msh,) = fields(message, "MSH")
    assert msh[9] == ("ADT^A40" if version == "2.3" else "ADT^A40^ADT_A39") and msh[10] == "RFM000001"
    assert fields(message, "EVN")[0][1:3] == ["A40", "20260302183000+0000"]
    parsed = parse_message(message)
    assert isinstance(parsed, InboundMerge)
    (merge,) = parsed.merges
    assert merge.surviving.identifiers[0].value == "884422" and merge.surviving.name.family == "Núñez"
    assert [(i.value, i.assigning_authority) for i in merge.prior_identifiers] == [("T-0042", "MAINHOSP")]
    assert merge.prior_names[0].family == "TRAUMA"
