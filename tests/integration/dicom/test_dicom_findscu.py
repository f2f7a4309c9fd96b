"""dcmtk's findscu queries radflow's worklist as a scanner does (IHE RAD-5)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from radflow.adapters.dicom.worklist import InMemoryWorklistSource

pytestmark = pytest.mark.dcmtk

SPS = "ScheduledProcedureStepSequence[0]"
RETURN_KEYS = [
    "PatientName",
    "PatientID",
    "AccessionNumber",
    "StudyInstanceUID",
    "MedicalAlerts",
    "Allergies",
    "PregnancyStatus",
    "RequestedProcedureDescription",
    f"{SPS}.ScheduledProcedureStepStartTime",
    f"{SPS}.ScheduledProcedureStepID",
    f"{SPS}.RequestedContrastAgent",
    f"{SPS}.ScheduledProtocolCodeSequence[0].CodeValue",
]


def accessions(answers: list[Dataset]) -> list[str]:
    return sorted(str(a.AccessionNumber) for a in answers)


def test_a_scanner_gets_its_stations_day_with_the_safety_fields(start_server, run_findscu) -> None:
    server = start_server()
    answers = run_findscu(
        server.port,
        [
            f"{SPS}.ScheduledStationAETitle=CT3",
            f"{SPS}.ScheduledProcedureStepStartDate=20260204",
            f"{SPS}.Modality=CT",
            *RETURN_KEYS,
        ],
    )
    assert accessions(answers) == ["CT3-0700", "CT3-0900", "CT3-1100"]
    nine = next(a for a in answers if a.AccessionNumber == "CT3-0900")
    assert nine.PatientName == "JONES^MARY"
    assert nine.MedicalAlerts == "FALL RISK"
    assert nine.Allergies == "IODINATED CONTRAST"
    assert nine.PregnancyStatus == 1
    step = nine.ScheduledProcedureStepSequence[0]
    assert step.ScheduledProcedureStepStartTime == "090000"
    assert step.RequestedContrastAgent == "IOHEXOL 350"
    assert step.ScheduledProtocolCodeSequence[0].CodeValue == "P-CT3-0900"


def test_a_modality_day_spans_the_stations_of_that_modality(start_server, run_findscu) -> None:
    server = start_server()
    answers = run_findscu(
        server.port, [f"{SPS}.Modality=CT", f"{SPS}.ScheduledProcedureStepStartDate=20260204", "AccessionNumber"]
    )
    assert accessions(answers) == ["CT3-0700", "CT3-0900", "CT3-1100", "CT4-0900"]


def test_a_match_all_query_returns_every_item(start_server, run_findscu, worklist: InMemoryWorklistSource) -> None:
    server = start_server()
    answers = run_findscu(server.port, ["AccessionNumber", f"{SPS}.ScheduledStationAETitle"])
    assert len(answers) == len(worklist)


def test_a_time_range_narrows_the_day(start_server, run_findscu) -> None:
    server = start_server()
    answers = run_findscu(
        server.port,
        [
            f"{SPS}.ScheduledStationAETitle=CT3",
            f"{SPS}.ScheduledProcedureStepStartDate=20260204",
            f"{SPS}.ScheduledProcedureStepStartTime=0800-1200",
            "AccessionNumber",
        ],
    )
    assert accessions(answers) == ["CT3-0900", "CT3-1100"]


def test_a_latin1_scanner_reads_a_latin1_name(start_server, run_findscu) -> None:
    server = start_server()
    answers = run_findscu(
        server.port,
        [
            "SpecificCharacterSet=ISO_IR 100",
            "PatientName=MÜLLER*".encode("latin-1"),
            f"{SPS}.ScheduledStationAETitle=MR1",
            "AccessionNumber",
        ],
        calling_ae="MR1",
    )
    assert [(a.SpecificCharacterSet, str(a.PatientName)) for a in answers] == [("ISO_IR 100", "MÜLLER^JÜRGEN")]


def test_a_utf8_scanner_reads_ideographic_and_phonetic_names(start_server, run_findscu) -> None:
    server = start_server()
    answers = run_findscu(
        server.port,
        ["SpecificCharacterSet=ISO_IR 192", "PatientName==山田*".encode(), "AccessionNumber"],
        calling_ae="MR1",
    )
    assert [(a.SpecificCharacterSet, str(a.PatientName)) for a in answers] == [
        ("ISO_IR 192", "Yamada^Tarou=山田^太郎=やまだ^たろう")
    ]


def test_a_scanner_without_a_charset_gets_the_latin1_name_declared(start_server, run_findscu) -> None:
    server = start_server()
    answers = run_findscu(server.port, [f"{SPS}.ScheduledStationAETitle=MR1", "PatientName"], calling_ae="MR1")
    names = {a.SpecificCharacterSet: str(a.PatientName) for a in answers}
    assert names == {"ISO_IR 100": "MÜLLER^JÜRGEN", "ISO_IR 192": "Yamada^Tarou=山田^太郎=やまだ^たろう"}


def test_a_scanner_sending_no_station_is_matched_by_its_calling_ae_when_configured(start_server, run_findscu) -> None:
    server = start_server(station_from_calling_ae=True)
    keys = [f"{SPS}.ScheduledProcedureStepStartDate=20260204", f"{SPS}.ScheduledStationAETitle", "AccessionNumber"]
    assert accessions(run_findscu(server.port, keys, calling_ae="CT4")) == ["CT4-0900"]
