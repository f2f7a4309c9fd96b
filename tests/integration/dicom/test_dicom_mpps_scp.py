"""A scanner (pynetdicom) reports its procedure steps over MPPS N-CREATE / N-SET (IHE RAD-6, RAD-7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association

from radflow.adapters.dicom.performed_step import PerformedStepStatus, RecordingStepSink

MPPS = "1.2.840.10008.3.1.2.3.3"


def _dataset(**values: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def in_progress(*accessions: str) -> Dataset:
    return _dataset(
        PatientName="SMITH^JANE",
        PatientID="MRN-1",
        ScheduledStepAttributesSequence=[
            _dataset(AccessionNumber=a, StudyInstanceUID=f"2.25.{i + 1}", ScheduledProcedureStepID=f"SPS-{a}")
            for i, a in enumerate(accessions)
        ],
        PerformedProcedureStepID="PPS-1",
        PerformedStationAETitle="CT3",
        PerformedProcedureStepStartDate="20260204",
        PerformedProcedureStepStartTime="070500",
        PerformedProcedureStepStatus="IN PROGRESS",
        Modality="CT",
        PerformedSeriesSequence=[],
    )


def final(status: str, **extra: Any) -> Dataset:
    return _dataset(
        PerformedProcedureStepStatus=status,
        PerformedProcedureStepEndDate="20260204",
        PerformedProcedureStepEndTime="072500",
        PerformedSeriesSequence=[
            _dataset(SeriesInstanceUID="1.2.3.9", SeriesDescription="AXIAL", ReferencedImageSequence=[])
        ],
        **extra,
    )


@pytest.fixture
def scanner(start_server) -> Iterator[Association]:
    server = start_server()
    ae = AE(ae_title="CT3")
    ae.add_requested_context(MPPS)
    assoc = ae.associate("127.0.0.1", server.port, ae_title="RADFLOW")
    assert assoc.is_established
    yield assoc
    if assoc.is_established:
        assoc.release()


def status_of(response: tuple[Dataset | None, Dataset | None]) -> int:
    status, _ = response
    assert status is not None, "no response from the SCP"
    return int(status.Status)


def test_a_started_and_completed_exam_reaches_the_order(scanner: Association, mpps_sink: RecordingStepSink) -> None:
    assert status_of(scanner.send_n_create(in_progress("CT3-0700"), MPPS, "1.2.3.100")) == 0x0000
    assert status_of(scanner.send_n_set(final("COMPLETED"), MPPS, "1.2.3.100")) == 0x0000
    assert [(kind, step.status) for kind, step in mpps_sink.calls] == [
        ("started", PerformedStepStatus.IN_PROGRESS),
        ("updated", PerformedStepStatus.COMPLETED),
    ]
    completed = mpps_sink.calls[-1][1]
    assert completed.accession_numbers == ("CT3-0700",)
    assert [s.series_instance_uid for s in completed.series] == ["1.2.3.9"]


def test_one_step_for_two_accessions_names_both(scanner: Association, mpps_sink: RecordingStepSink) -> None:
    assert status_of(scanner.send_n_create(in_progress("CT3-0700", "CT3-0900"), MPPS, "1.2.3.101")) == 0x0000
    assert mpps_sink.calls[-1][1].accession_numbers == ("CT3-0700", "CT3-0900")


def test_a_discontinued_exam_carries_its_reason(scanner: Association, mpps_sink: RecordingStepSink) -> None:
    scanner.send_n_create(in_progress("CT3-0900"), MPPS, "1.2.3.102")
    reason = _dataset(
        CodeValue="110503", CodingSchemeDesignator="DCM", CodeMeaning="Patient allergic to media/contrast"
    )
    response = scanner.send_n_set(
        final("DISCONTINUED", PerformedProcedureStepDiscontinuationReasonCodeSequence=[reason]), MPPS, "1.2.3.102"
    )
    assert status_of(response) == 0x0000
    step = mpps_sink.calls[-1][1]
    assert step.status is PerformedStepStatus.DISCONTINUED
    assert step.discontinuation_reason is not None and step.discontinuation_reason.value == "110503"


def test_an_exam_for_no_known_order_is_accepted_into_the_exception_queue(
    scanner: Association, mpps_sink: RecordingStepSink
) -> None:
    assert status_of(scanner.send_n_create(in_progress("WALK-IN-1"), MPPS, "1.2.3.103")) == 0x0000
    assert [s.sop_instance_uid for s in mpps_sink.exception_queue] == ["1.2.3.103"]


def test_a_completed_step_may_no_longer_be_updated(scanner: Association) -> None:
    scanner.send_n_create(in_progress("CT3-0700"), MPPS, "1.2.3.104")
    scanner.send_n_set(final("COMPLETED"), MPPS, "1.2.3.104")
    status, _ = scanner.send_n_set(final("DISCONTINUED"), MPPS, "1.2.3.104")
    assert status is not None
    assert int(status.Status) == 0x0110
    assert "no longer be updated" in str(status.ErrorComment)


def test_n_create_that_is_not_in_progress_and_n_set_of_an_unknown_step_are_refused(scanner: Association) -> None:
    created_completed = in_progress("CT3-0700")
    created_completed.PerformedProcedureStepStatus = "COMPLETED"
    assert status_of(scanner.send_n_create(created_completed, MPPS, "1.2.3.105")) == 0x0106
    assert status_of(scanner.send_n_set(final("COMPLETED"), MPPS, "1.2.3.999")) == 0x0112
    missing = in_progress("CT3-0700")
    del missing.Modality
    status, _ = scanner.send_n_create(missing, MPPS, "1.2.3.106")
    assert status is not None and int(status.Status) == 0x0120
    assert "Modality" in str(status.ErrorComment)
