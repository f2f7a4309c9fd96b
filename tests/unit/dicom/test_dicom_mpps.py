"""MPPS N-CREATE / N-SET: PS3.4 F.7.2 state rules and translation into performed steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydicom.dataset import Dataset

from radflow.adapters.dicom import statuses
from radflow.adapters.dicom.mpps import MppsReceiver
from radflow.adapters.dicom.performed_step import (
    InMemoryMppsStore,
    PerformedStep,
    PerformedStepStatus,
    RecordingStepSink,
    StepDisposition,
)
from radflow.domain.clock import FakeClock
from radflow.domain.errors import Conflict, ValidationError

ZONE = ZoneInfo("America/New_York")
UID = "1.2.826.0.1.3680043.2.1143.1"


def _dataset(**values: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def scheduled(accession: str, study_uid: str = "") -> Dataset:
    return _dataset(
        AccessionNumber=accession,
        StudyInstanceUID=study_uid or f"2.25.{abs(hash(accession)) % 10**9}",
        RequestedProcedureID=f"RP-{accession}",
        ScheduledProcedureStepID=f"SPS-{accession}",
    )


def n_create(*accessions: str, **changes: Any) -> Dataset:
    values: dict[str, Any] = {
        "PatientName": "SMITH^JANE",
        "PatientID": "MRN0001",
        "ScheduledStepAttributesSequence": [scheduled(a) for a in accessions],
        "PerformedProcedureStepID": "PPS1",
        "PerformedStationAETitle": "CT3",
        "PerformedProcedureStepStartDate": "20260204",
        "PerformedProcedureStepStartTime": "091500",
        "PerformedProcedureStepStatus": "IN PROGRESS",
        "Modality": "CT",
        "PerformedSeriesSequence": [],
    }
    values.update(changes)
    return _dataset(**{k: v for k, v in values.items() if v is not None})


def n_set_completed(**changes: Any) -> Dataset:
    image = _dataset(ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.2", ReferencedSOPInstanceUID="1.2.3.4.1")
    series = _dataset(
        SeriesInstanceUID="1.2.3.4",
        SeriesDescription="CHEST 1.25",
        ProtocolName="CHEST W",
        OperatorsName="REYES^ANA",
        PerformingPhysicianName="",
        RetrieveAETitle="PACS",
        ReferencedImageSequence=[image, image],
    )
    values: dict[str, Any] = {
        "PerformedProcedureStepStatus": "COMPLETED",
        "PerformedProcedureStepEndDate": "20260204",
        "PerformedProcedureStepEndTime": "094000",
        "PerformedSeriesSequence": [series],
    }
    values.update(changes)
    return _dataset(**values)


class Harness:
    def __init__(self, known: set[str] | None = None) -> None:
        self.store = InMemoryMppsStore()
        self.sink = RecordingStepSink(known_accessions=known if known is not None else {"A1", "A2"})
        self.clock = FakeClock(datetime(2026, 2, 4, 14, 15, tzinfo=UTC))
        self.receiver = MppsReceiver(self.store, self.sink, self.clock, ZONE)

    def last_step(self) -> PerformedStep:
        return self.sink.calls[-1][1]


@pytest.fixture
def mpps() -> Harness:
    return Harness()


def test_n_create_in_progress_is_accepted_and_the_order_hears_of_it(mpps: Harness) -> None:
    result = mpps.receiver.create(UID, n_create("A1"), "CT3")
    assert (result.status, result.disposition) == (statuses.SUCCESS, StepDisposition.APPLIED)
    kind, step = mpps.sink.calls[0]
    assert kind == "started"
    assert step.status is PerformedStepStatus.IN_PROGRESS
    assert step.accession_numbers == ("A1",)
    assert step.started == datetime(2026, 2, 4, 9, 15, tzinfo=ZONE)
    assert step.performed_station_ae_title == "CT3"


def test_one_mpps_naming_several_accessions_names_each(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1", "A2", "A1"), "CT3")
    assert mpps.last_step().accession_numbers == ("A1", "A2")


def test_an_mpps_matching_no_order_is_accepted_and_queued(mpps: Harness) -> None:
    result = mpps.receiver.create(UID, n_create("UNKNOWN"), "CT3")
    assert (result.status, result.disposition) == (statuses.SUCCESS, StepDisposition.QUEUED)
    assert [s.sop_instance_uid for s in mpps.sink.exception_queue] == [UID]


def test_an_unscheduled_mpps_is_recognised_as_such(mpps: Harness) -> None:
    unscheduled = n_create(ScheduledStepAttributesSequence=[_dataset(StudyInstanceUID="", AccessionNumber="")])
    result = mpps.receiver.create(UID, unscheduled, "CT3")
    assert result.disposition is StepDisposition.QUEUED
    assert mpps.last_step().is_unscheduled


def test_n_create_with_another_status_than_in_progress_is_an_invalid_value(mpps: Harness) -> None:
    result = mpps.receiver.create(UID, n_create("A1", PerformedProcedureStepStatus="COMPLETED"), "CT3")
    assert result.status == statuses.INVALID_ATTRIBUTE_VALUE
    assert result.attributes == (0x00400252,)
    assert mpps.sink.calls == []
    assert mpps.store.get(UID) is None


def test_n_create_without_a_required_attribute_names_it(mpps: Harness) -> None:
    result = mpps.receiver.create(UID, n_create("A1", PerformedProcedureStepStartDate=None), "CT3")
    assert result.status == statuses.MISSING_ATTRIBUTE
    assert result.attributes == (0x00400244,)


def test_n_create_with_an_empty_required_attribute_is_a_missing_value(mpps: Harness) -> None:
    result = mpps.receiver.create(UID, n_create("A1", Modality=""), "CT3")
    assert result.status == statuses.MISSING_ATTRIBUTE_VALUE
    assert result.attributes == (0x00080060,)


def test_n_create_with_a_malformed_start_date_is_an_invalid_value(mpps: Harness) -> None:
    with pytest.warns(UserWarning):
        attributes = n_create("A1", PerformedProcedureStepStartDate="04/02/2026")
    assert mpps.receiver.create(UID, attributes, "CT3").status == statuses.INVALID_ATTRIBUTE_VALUE


def test_a_second_n_create_with_the_same_uid_is_a_duplicate(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    assert mpps.receiver.create(UID, n_create("A1"), "CT3").status == statuses.DUPLICATE_SOP_INSTANCE


def test_n_create_without_a_uid_gets_one_assigned(mpps: Harness) -> None:
    result = mpps.receiver.create(None, n_create("A1"), "CT3")
    assert result.status == statuses.SUCCESS
    assert result.sop_instance_uid.startswith("2.25.")
    assert mpps.store.get(result.sop_instance_uid) is not None


def test_n_set_completed_reports_the_series_and_the_end(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    result = mpps.receiver.set(UID, n_set_completed(), "CT3")
    assert result.status == statuses.SUCCESS
    kind, step = mpps.sink.calls[-1]
    assert kind == "updated"
    assert step.status is PerformedStepStatus.COMPLETED
    assert step.ended == datetime(2026, 2, 4, 9, 40, tzinfo=ZONE)
    assert step.accession_numbers == ("A1",)  # kept from the N-CREATE
    (series,) = step.series
    assert (series.series_instance_uid, series.number_of_images, series.operator) == ("1.2.3.4", 2, "REYES^ANA")


def test_n_set_discontinued_carries_the_reason(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    reason = _dataset(CodeValue="110514", CodingSchemeDesignator="DCM", CodeMeaning="Incorrect worklist entry selected")
    mpps.receiver.set(
        UID,
        n_set_completed(
            PerformedProcedureStepStatus="DISCONTINUED",
            PerformedProcedureStepDiscontinuationReasonCodeSequence=[reason],
        ),
        "CT3",
    )
    step = mpps.last_step()
    assert step.status is PerformedStepStatus.DISCONTINUED
    assert step.discontinuation_reason is not None
    assert (step.discontinuation_reason.value, step.discontinuation_reason.scheme) == ("110514", "DCM")


@pytest.mark.parametrize("final", ["COMPLETED", "DISCONTINUED"])
def test_a_final_step_may_no_longer_be_updated(mpps: Harness, final: str) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    mpps.receiver.set(UID, n_set_completed(PerformedProcedureStepStatus=final), "CT3")
    calls = len(mpps.sink.calls)
    again = mpps.receiver.set(UID, _dataset(PerformedProcedureStepDescription="late edit"), "CT3")
    assert (again.status, again.comment) == (statuses.PROCESSING_FAILURE, statuses.NO_LONGER_UPDATABLE)
    assert len(mpps.sink.calls) == calls
    stored = mpps.store.get(UID)
    assert stored is not None and stored.status == final


def test_n_set_on_an_unknown_instance_is_no_such_instance(mpps: Harness) -> None:
    assert mpps.receiver.set("9.9.9", n_set_completed(), "CT3").status == statuses.NO_SUCH_SOP_INSTANCE


def test_n_set_with_an_unknown_status_is_an_invalid_value_and_changes_nothing(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    result = mpps.receiver.set(UID, _dataset(PerformedProcedureStepStatus="PAUSED"), "CT3")
    assert result.status == statuses.INVALID_ATTRIBUTE_VALUE
    stored = mpps.store.get(UID)
    assert stored is not None and stored.status is PerformedStepStatus.IN_PROGRESS and stored.revision == 1


def test_intermediate_n_sets_keep_the_step_in_progress_and_accumulate(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    mpps.receiver.set(UID, _dataset(PerformedProcedureStepDescription="CHEST W"), "CT3")
    mpps.receiver.set(UID, n_set_completed(), "CT3")
    assert mpps.last_step().description == "CHEST W"
    stored = mpps.store.get(UID)
    assert stored is not None and stored.revision == 3


def test_n_set_cannot_rewrite_what_only_n_create_may_set(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    mpps.receiver.set(
        UID, n_set_completed(PatientID="SOMEONE-ELSE", ScheduledStepAttributesSequence=[scheduled("A2")]), "CT3"
    )
    step = mpps.last_step()
    assert (step.patient_id, step.accession_numbers) == ("MRN0001", ("A1",))


def test_dose_and_contrast_are_translated_when_given(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    supply = _dataset(
        BillingItemSequence=[_dataset(CodeValue="C-B0322", CodingSchemeDesignator="SRT", CodeMeaning="Iohexol")],
        QuantitySequence=[
            _dataset(
                Quantity="75",
                MeasuringUnitsSequence=[_dataset(CodeValue="ml", CodingSchemeDesignator="UCUM", CodeMeaning="ml")],
            )
        ],
    )
    mpps.receiver.set(
        UID, n_set_completed(CTDIvol=8.2, TotalNumberOfExposures=3, BillingSuppliesAndDevicesSequence=[supply]), "CT3"
    )
    step = mpps.last_step()
    assert (
        step.dose is not None and step.dose.ctdi_vol_mgy == Decimal("8.2") and step.dose.total_number_of_exposures == 3
    )
    (used,) = step.supplies
    assert used.item is not None and used.item.meaning == "Iohexol"
    assert used.quantity == Decimal("75") and used.unit is not None and used.unit.value == "ml"


def test_a_negative_dose_is_dropped_with_the_out_of_range_warning(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1"), "CT3")
    result = mpps.receiver.set(UID, n_set_completed(CTDIvol=-1.0), "CT3")
    assert result.status == statuses.ATTRIBUTE_VALUE_OUT_OF_RANGE
    assert result.attributes == (0x00189345,)
    step = mpps.last_step()
    assert step.status is PerformedStepStatus.COMPLETED and step.dose is None


def test_a_timezone_offset_in_the_mpps_wins_over_the_site_zone(mpps: Harness) -> None:
    mpps.receiver.create(UID, n_create("A1", TimezoneOffsetFromUTC="+0100"), "CT3")
    assert mpps.last_step().started == datetime(2026, 2, 4, 9, 15, tzinfo=timezone(timedelta(hours=1)))


class RefusingSink(RecordingStepSink):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.refusing = True

    def started(self, step: PerformedStep) -> StepDisposition:
        if self.refusing:
            raise self.error
        return super().started(step)


def test_when_the_order_side_cannot_record_the_start_the_scanner_may_retry() -> None:
    harness = Harness()
    sink = RefusingSink(Conflict("database unavailable"))
    receiver = MppsReceiver(harness.store, sink, harness.clock, ZONE)
    assert receiver.create(UID, n_create("A1"), "CT3").status == statuses.PROCESSING_FAILURE
    sink.refusing = False
    assert receiver.create(UID, n_create("A1"), "CT3").status == statuses.SUCCESS


def test_a_value_the_order_side_refuses_is_an_invalid_attribute_value() -> None:
    harness = Harness()
    receiver = MppsReceiver(
        harness.store, RefusingSink(ValidationError("modality MG not booked here")), harness.clock, ZONE
    )
    result = receiver.create(UID, n_create("A1"), "CT3")
    assert (result.status, result.comment) == (statuses.INVALID_ATTRIBUTE_VALUE, "modality MG not booked here")


def test_the_store_refuses_a_stale_revision() -> None:
    store = InMemoryMppsStore()
    harness = Harness()
    harness.receiver.create(UID, n_create("A1"), "CT3")
    instance = harness.store.get(UID)
    assert instance is not None
    store.add(instance)
    with pytest.raises(Conflict):
        store.replace(instance, expected_revision=instance.revision + 1)
    with pytest.raises(Conflict):
        store.add(instance)


def test_an_unexpected_failure_downstream_leaves_no_half_recorded_step() -> None:
    harness = Harness()
    sink = RefusingSink(RuntimeError("bug"))
    receiver = MppsReceiver(harness.store, sink, harness.clock, ZONE)
    with pytest.raises(RuntimeError):
        receiver.create(UID, n_create("A1"), "CT3")
    assert harness.store.get(UID) is None
