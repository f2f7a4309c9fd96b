"""Reading a scanner's C-FIND identifier: keys to index, keys to match, keys to return."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydicom.dataset import Dataset

from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.worklist import PersonName, WorklistItem
from radflow.domain.errors import ValidationError

MakeItem = Callable[..., WorklistItem]
MakeIdentifier = Callable[..., Dataset]


def query(ds: Dataset, zone: ZoneInfo, **options: object) -> WorklistQuery:
    return WorklistQuery.from_identifier(ds, zone=zone, **options)  # type: ignore[arg-type]


def test_station_modality_and_day_become_indexable_keys_with_a_utc_window(
    make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    ds = make_identifier(
        {"ScheduledStationAETitle": "CT3", "ScheduledProcedureStepStartDate": "20260204", "Modality": "CT"},
        PatientName="",
    )
    keys = query(ds, zone).indexable
    assert keys.station_ae_title == "CT3"
    assert keys.modality == "CT"
    # New York is UTC-5 in February: the local day runs 05:00 UTC to 05:00 UTC.
    assert keys.start_from == datetime(2026, 2, 4, 5, tzinfo=UTC)
    assert keys.start_until == datetime(2026, 2, 5, 5, tzinfo=UTC)
    assert keys.patient_name is None


def test_wild_card_keys_are_not_pushed_down_except_the_patient_name_pattern(
    make_identifier: MakeIdentifier, zone: ZoneInfo
) -> None:
    ds = make_identifier({"ScheduledStationAETitle": "CT*"}, PatientName="SMI*", AccessionNumber="A00?")
    keys = query(ds, zone).indexable
    assert keys.station_ae_title is None
    assert keys.accession_number is None
    assert keys.patient_name == "SMI*"


def test_the_items_own_day_in_the_site_zone_decides_the_date_match(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    # 2026-02-05 03:00 UTC is still 2026-02-04 (22:00) in New York.
    late = make_item(step={"start": datetime(2026, 2, 5, 3, 0, tzinfo=UTC)})
    assert query(make_identifier({"ScheduledProcedureStepStartDate": "20260204"}), zone).matches(late)
    assert not query(make_identifier({"ScheduledProcedureStepStartDate": "20260205"}), zone).matches(late)


def test_sequence_key_matches_when_the_item_step_matches_every_sub_key(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    item = make_item()
    assert query(make_identifier({"ScheduledStationAETitle": "CT3", "Modality": "CT"}), zone).matches(item)
    assert not query(make_identifier({"ScheduledStationAETitle": "CT3", "Modality": "MR"}), zone).matches(item)


def test_nested_code_sequence_keys_match_inside_the_step(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    code = Dataset()
    code.CodeValue = "P-71260"
    ds = make_identifier({"ScheduledProtocolCodeSequence": [code]})
    assert query(ds, zone).matches(make_item())
    code.CodeValue = "P-70450"
    assert not query(ds, zone).matches(make_item())


def test_a_sequence_key_with_two_items_is_refused(make_identifier: MakeIdentifier, zone: ZoneInfo) -> None:
    ds = make_identifier()
    ds.ScheduledProcedureStepSequence = [Dataset(), Dataset()]
    with pytest.raises(ValidationError, match="ScheduledProcedureStepSequence"):
        query(ds, zone)


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
def test_a_malformed_date_key_is_refused_with_the_key_named(make_identifier: MakeIdentifier, zone: ZoneInfo) -> None:
    with pytest.raises(ValidationError) as refused:
        query(make_identifier({"ScheduledProcedureStepStartDate": "2026-02-04"}), zone)
    assert refused.value.field == "ScheduledProcedureStepStartDate"


def test_universal_keys_match_an_item_with_no_value(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    item = make_item(medical_alerts=(), referring_physician=None)
    assert query(make_identifier(MedicalAlerts="", ReferringPhysicianName=""), zone).matches(item)
    assert not query(make_identifier(MedicalAlerts="FALL RISK"), zone).matches(item)


def test_patient_name_query_ignores_case(make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo) -> None:
    item = make_item(patient_name=PersonName("MÜLLER^JÜRGEN"))
    assert query(make_identifier(PatientName="müller*"), zone).matches(item)


def test_a_scanner_without_station_key_is_matched_by_its_calling_ae_when_configured(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    on_ct3, on_ct4 = make_item("A1"), make_item("A2", step={"station_ae_title": "CT4"})
    ds = make_identifier({"Modality": "CT", "ScheduledStationAETitle": ""})
    by_ae = query(ds, zone, calling_ae="CT4", station_from_calling_ae=True)
    assert [by_ae.matches(on_ct3), by_ae.matches(on_ct4)] == [False, True]
    assert by_ae.indexable.station_ae_title == "CT4"
    not_configured = query(ds, zone, calling_ae="CT4")
    assert [not_configured.matches(on_ct3), not_configured.matches(on_ct4)] == [True, True]


def test_calling_ae_stands_in_even_when_the_step_sequence_is_absent(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    q = query(make_identifier(PatientName=""), zone, calling_ae="CT4", station_from_calling_ae=True)
    assert not q.matches(make_item())
    # ... and the key radflow added is not one the scanner asked to get back.
    assert all(key.returned for key in q.keys if key.keyword != "ScheduledProcedureStepSequence")
    assert [k.returned for k in q.keys if k.keyword == "ScheduledProcedureStepSequence"] == [False]


def test_an_explicit_station_key_wins_over_the_calling_ae(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    q = query(make_identifier({"ScheduledStationAETitle": "CT3"}), zone, calling_ae="CT4", station_from_calling_ae=True)
    assert q.matches(make_item())


def test_time_range_is_matched_on_every_day_unless_combined_matching_is_on(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    night = make_item("N1", step={"start": datetime(2026, 2, 4, 23, 0, tzinfo=zone)})
    early = make_item("N2", step={"start": datetime(2026, 2, 5, 2, 0, tzinfo=zone)})
    evening_before = make_item("N3", step={"start": datetime(2026, 2, 4, 2, 0, tzinfo=zone)})
    ds = make_identifier(
        {"ScheduledProcedureStepStartDate": "20260204-20260205", "ScheduledProcedureStepStartTime": "1800-0600"}
    )
    separate = query(ds, zone)
    assert [separate.matches(i) for i in (night, early, evening_before)] == [True, True, True]
    combined = query(ds, zone, combined_datetime=True)
    assert [combined.matches(i) for i in (night, early, evening_before)] == [True, True, False]
    assert combined.indexable.start_from == datetime(2026, 2, 4, 23, tzinfo=UTC)


def test_time_of_day_window_is_offered_for_indexing(make_identifier: MakeIdentifier, zone: ZoneInfo) -> None:
    keys = query(make_identifier({"ScheduledProcedureStepStartTime": "0700-1200"}), zone).indexable
    assert keys.start_time_of_day == (time(7), time(12, 0, 59, 999999))


def test_keys_radflow_cannot_match_are_flagged_and_do_not_filter(
    make_identifier: MakeIdentifier, make_item: MakeItem, zone: ZoneInfo
) -> None:
    q = query(make_identifier(PatientState="CRITICAL"), zone)
    assert q.has_unsupported_keys
    assert q.matches(make_item())
    assert not query(make_identifier(PatientName="*"), zone).has_unsupported_keys


def test_the_querys_character_set_is_remembered(make_identifier: MakeIdentifier, zone: ZoneInfo) -> None:
    ds = make_identifier(PatientName="")
    ds.SpecificCharacterSet = "ISO_IR 100"
    q = query(ds, zone)
    assert q.character_sets == ("ISO_IR 100",)
    assert q.asks_character_set


def test_a_latin1_query_value_is_read_in_its_own_character_set(make_item: MakeItem, zone: ZoneInfo) -> None:
    from io import BytesIO

    from pynetdicom.dsutils import decode, encode

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "MÜLLER*"
    wire = encode(ds, True, True)
    assert wire is not None and "MÜLLER".encode("latin-1") in wire
    received = decode(BytesIO(wire), True, True)
    q = WorklistQuery.from_identifier(received, zone=zone)
    assert q.matches(make_item(patient_name=PersonName("Müller^Jürgen")))
