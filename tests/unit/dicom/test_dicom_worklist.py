"""The worklist model, the in-memory worklist and the keyword-JSON loader."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydicom.dataset import Dataset

from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.worklist import InMemoryWorklistSource, PersonName, ScheduledProcedureStep, WorklistItem
from radflow.adapters.dicom.worklist_json import item_from_keywords, load_keyword_json
from radflow.domain.errors import ValidationError

MakeItem = Callable[..., WorklistItem]
MakeIdentifier = Callable[..., Dataset]


def test_person_name_reads_and_writes_its_three_groups() -> None:
    name = PersonName.parse("Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert name.ideographic == "山田^太郎"
    assert PersonName("SMITH^JANE").dicom == "SMITH^JANE"
    assert PersonName("A", "", "a").dicom == "A==a"
    with pytest.raises(ValueError, match="three"):
        PersonName.parse("a=b=c=d")


def test_a_scheduled_step_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ScheduledProcedureStep("S1", "CT", "CT1", datetime(2026, 2, 4, 9, 0))


def test_the_in_memory_worklist_answers_a_station_day_earliest_first(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    base = datetime(2026, 2, 4, 9, 0, tzinfo=zone)
    items = [
        make_item("LATE", step={"start": base + timedelta(hours=3)}),
        make_item("EARLY", step={"start": base}),
        make_item("OTHER-DAY", step={"start": base + timedelta(days=1)}),
        make_item("OTHER-ROOM", step={"station_ae_title": "CT4"}),
    ]
    source = InMemoryWorklistSource(items)
    q = WorklistQuery.from_identifier(
        make_identifier({"ScheduledStationAETitle": "CT3", "ScheduledProcedureStepStartDate": "20260204"}), zone=zone
    )
    assert [i.accession_number for i in source.find(q, "CT3", 100)] == ["EARLY", "LATE"]
    assert [i.accession_number for i in source.find(q, "CT3", 1)] == ["EARLY"]


def test_a_match_all_query_sees_every_station(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    source = InMemoryWorklistSource([make_item("A1"), make_item("A2", step={"station_ae_title": "MR1"})])
    q = WorklistQuery.from_identifier(make_identifier(PatientName=""), zone=zone)
    assert {i.accession_number for i in source.find(q, "ANY", 100)} == {"A1", "A2"}


def test_items_leave_the_worklist_when_removed_and_change_when_put_again(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    source = InMemoryWorklistSource([make_item("A1"), make_item("A2")])
    source.remove("A1")
    source.put(make_item("A2", patient_id="MRN-NEW"))
    q = WorklistQuery.from_identifier(make_identifier(PatientID=""), zone=zone)
    assert [(i.accession_number, i.patient_id) for i in source.find(q, "CT3", 10)] == [("A2", "MRN-NEW")]


def test_benchmark_kit_items_load_with_local_start_times(tmp_path: Path, zone: ZoneInfo) -> None:
    record = {
        "AccessionNumber": "A007654321",
        "PatientName": "SCHULZ^LISA",
        "PatientID": "MRN1",
        "IssuerOfPatientID": "RADFLOW",
        "PatientBirthDate": "20181012",
        "PatientSex": "F",
        "PatientWeight": "46.7",
        "MedicalAlerts": "CLAUSTROPHOBIA",
        "Allergies": "",
        "PregnancyStatus": 4,
        "StudyInstanceUID": "2.25.1",
        "RequestedProcedureID": "RP1",
        "RequestedProcedureCodeSequence": [{"CodeValue": "70450", "CodingSchemeDesignator": "C4", "CodeMeaning": "X"}],
        "ScheduledProcedureStepSequence": [
            {
                "Modality": "CT",
                "ScheduledStationAETitle": "CT3",
                "ScheduledProcedureStepStartDate": "20260204",
                "ScheduledProcedureStepStartTime": "070000",
                "ScheduledProcedureStepID": "SPS1",
            }
        ],
    }
    path = tmp_path / "items.json"
    path.write_text(json.dumps([record]))
    (item,) = load_keyword_json(path, zone)
    assert item.scheduled_step.start == datetime(2026, 2, 4, 7, 0, tzinfo=zone)
    assert item.medical_alerts == ("CLAUSTROPHOBIA",)
    assert item.allergies == ()
    assert item.pregnancy_status == 4
    assert item.requested_procedure_codes[0].scheme == "C4"


def test_a_kit_item_without_exactly_one_step_is_refused(zone: ZoneInfo) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        item_from_keywords({"AccessionNumber": "A1", "ScheduledProcedureStepSequence": []}, zone)


def test_a_bad_item_in_a_file_is_named_by_its_position(tmp_path: Path, zone: ZoneInfo) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps([{"ScheduledProcedureStepSequence": []}]))
    with pytest.raises(ValidationError, match="item 0"):
        load_keyword_json(path, zone)
