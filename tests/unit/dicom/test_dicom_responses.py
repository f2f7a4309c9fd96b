"""C-FIND answers: exactly the requested keys, valued, in a character set the scanner can read."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode, encode

from radflow.adapters.dicom.attributes import worklist_values
from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.responses import build_response, choose_character_set
from radflow.adapters.dicom.worklist import PersonName, WorklistItem

MakeItem = Callable[..., WorklistItem]
MakeIdentifier = Callable[..., Dataset]


def answer(item: WorklistItem, ds: Dataset, zone: ZoneInfo, *, implicit_vr: bool = False) -> Dataset:
    """What the scanner receives: the response encoded on the wire and decoded again."""
    q = WorklistQuery.from_identifier(ds, zone=zone)
    wire = encode(build_response(worklist_values(item, zone), q, implicit_vr=implicit_vr), implicit_vr, True)
    assert wire is not None
    return decode(BytesIO(wire), implicit_vr, True)


@pytest.mark.parametrize("implicit_vr", [False, True])
def test_answer_holds_exactly_the_requested_keys_with_the_items_values(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo, implicit_vr: bool
) -> None:
    ds = make_identifier(
        {"ScheduledStationAETitle": "CT3", "ScheduledProcedureStepStartTime": "", "RequestedContrastAgent": ""},
        PatientName="",
        AccessionNumber="",
        PregnancyStatus=None,
        PatientWeight="",
        Allergies="",
    )
    got = answer(make_item(), ds, zone, implicit_vr=implicit_vr)
    assert [e.keyword for e in got] == [
        "AccessionNumber", "PatientName", "PatientWeight", "Allergies", "PregnancyStatus",
        "ScheduledProcedureStepSequence",
    ]  # fmt: skip
    assert got.PatientName == "SMITH^JANE"
    assert got.AccessionNumber == "A0001"
    assert got.PregnancyStatus == 1
    assert float(got.PatientWeight) == 64.5
    assert list(got.Allergies) == ["IODINATED CONTRAST", "LATEX"]
    step = got.ScheduledProcedureStepSequence[0]
    assert [e.keyword for e in step] == [  # in tag order, (0032,1070) first
        "RequestedContrastAgent", "ScheduledStationAETitle", "ScheduledProcedureStepStartTime",
    ]  # fmt: skip
    # 09:00 in New York, as the scanner's local time.
    assert step.ScheduledProcedureStepStartTime == "090000"
    assert step.RequestedContrastAgent == "IOHEXOL 350"


def test_keys_the_item_has_no_value_for_come_back_empty(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    item = make_item(pregnancy_status=None, medical_alerts=(), admission_id="")
    got = answer(item, make_identifier(PregnancyStatus=None, MedicalAlerts="", AdmissionID="", PatientState=""), zone)
    for keyword in ("PregnancyStatus", "MedicalAlerts", "AdmissionID", "PatientState"):
        assert keyword in got
        assert got[keyword].is_empty


def test_an_empty_sequence_key_returns_the_whole_sequence(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    ds = make_identifier(RequestedProcedureCodeSequence=[])
    code = answer(make_item(), ds, zone).RequestedProcedureCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == ("71260", "C4", "CT CHEST W CONTRAST")


def test_a_code_sequence_key_with_sub_keys_returns_those_sub_keys_only(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    wanted = Dataset()
    wanted.CodeValue = ""
    got = answer(make_item(), make_identifier({"ScheduledProtocolCodeSequence": [wanted]}), zone)
    code = got.ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence[0]
    assert [e.keyword for e in code] == ["CodeValue"]
    assert code.CodeValue == "P-71260"


def test_a_sequence_the_item_lacks_comes_back_with_no_items(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    got = answer(make_item(requested_procedure_codes=()), make_identifier(RequestedProcedureCodeSequence=[]), zone)
    assert len(got.RequestedProcedureCodeSequence) == 0


def test_ascii_answers_carry_no_character_set(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    assert "SpecificCharacterSet" not in answer(make_item(), make_identifier(PatientName=""), zone)


def test_latin1_names_are_answered_in_iso_ir_100(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    got = answer(make_item(patient_name=PersonName("MÜLLER^JÜRGEN")), make_identifier(PatientName=""), zone)
    assert got.SpecificCharacterSet == "ISO_IR 100"
    assert got.PatientName == "MÜLLER^JÜRGEN"


def test_names_beyond_latin1_are_answered_in_utf8_with_all_groups(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    name = PersonName("Yamada^Tarou", "山田^太郎", "やまだ^たろう")
    got = answer(make_item(patient_name=name), make_identifier(PatientName=""), zone)
    assert got.SpecificCharacterSet == "ISO_IR 192"
    assert str(got.PatientName) == "Yamada^Tarou=山田^太郎=やまだ^たろう"


def test_a_scanner_that_declared_a_character_set_gets_it_back_when_it_suffices() -> None:
    assert choose_character_set(["ŁÓDŹ^ANNA"], ("ISO_IR 101",)) == "ISO_IR 101"
    assert choose_character_set(["MÜLLER"], ("ISO_IR 192",)) == "ISO_IR 192"
    assert choose_character_set(["MÜLLER"], ()) == "ISO_IR 100"
    assert choose_character_set(["ŁÓDŹ"], ("ISO_IR 100",)) == "ISO_IR 192"
    assert choose_character_set(["SMITH"], ("ISO_IR 192",)) is None


def test_a_query_that_carried_a_character_set_gets_one_back_even_for_ascii(
    make_item: MakeItem, make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    ds = make_identifier(PatientName="")
    ds.SpecificCharacterSet = "ISO_IR 100"
    assert answer(make_item(), ds, zone).SpecificCharacterSet == "ISO_IR 100"


names = (
    st.text(
        alphabet=st.characters(blacklist_characters="\\=^", blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@given(names, names)
def test_any_name_survives_the_wire(family: str, given_name: str) -> None:
    from datetime import datetime
    from decimal import Decimal

    from radflow.adapters.dicom.worklist import ScheduledProcedureStep

    zone = ZoneInfo("UTC")
    item = WorklistItem(
        accession_number="A1",
        patient_name=PersonName(f"{family}^{given_name}"),
        patient_id="P1",
        study_instance_uid="1.2.3",
        requested_procedure_id="R1",
        weight_kg=Decimal("1"),
        scheduled_step=ScheduledProcedureStep("S1", "CT", "CT1", datetime(2026, 1, 1, tzinfo=zone)),
    )
    ds = Dataset()
    ds.PatientName = ""
    assert str(answer(item, ds, zone).PatientName) == f"{family}^{given_name}"
