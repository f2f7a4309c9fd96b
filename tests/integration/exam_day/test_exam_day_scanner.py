"""A scanner's day against radflow's database: dcmtk's findscu pulls the worklist, pynetdicom reports MPPS."""

from __future__ import annotations

from pathlib import Path

import pytest
from exam_day_world import (
    SPS,
    accession_of,
    add_order,
    add_patient,
    book,
    findscu,
    mpps_final,
    mpps_in_progress,
    ny,
    order_state,
)
from pynetdicom import AE

from radflow.bootstrap import Radflow
from radflow_test_support import backends

pytestmark = [pytest.mark.parametrize("test_settings", backends(), indirect=True), pytest.mark.dcmtk]

MPPS = "1.2.840.10008.3.1.2.3.3"


def test_a_booked_exam_is_on_its_rooms_worklist_and_the_scanners_mpps_completes_it(
        center: Radflow, start_listener, tmp_path: Path) -> None:
    order_id = add_order(center, "MR-BRAIN", add_patient(center))
    book(center, order_id, "MR1", ny(2, 10))
    accession = accession_of(center, order_id)
    listener = start_listener()

    answers = findscu(tmp_path / "q1", listener.port, [
        f"{SPS}.ScheduledStationAETitle=MR1", f"{SPS}.ScheduledProcedureStepStartDate=20260302",
        f"{SPS}.Modality=MR", "PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID",
        f"{SPS}.ScheduledProcedureStepStartTime"], calling_ae="MR1")
    assert [str(a.AccessionNumber) for a in answers] == [accession]
    assert str(answers[0].PatientName) == "Rivera^Ana"
    assert answers[0].ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime == "100000"

    ae = AE(ae_title="MR1")
    ae.add_requested_context(MPPS)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="RADFLOW")
    assert assoc.is_established
    status, _ = assoc.send_n_create(mpps_in_progress([accession], station="MR1"), MPPS, "1.2.826.0.1.3680043.10.1")
    assert status is not None and status.Status == 0x0000
    assert order_state(center, order_id) == "in_progress"
    status, _ = assoc.send_n_set(mpps_final("COMPLETED"), MPPS, "1.2.826.0.1.3680043.10.1")
    assert status is not None and status.Status == 0x0000
    assoc.release()
    assert order_state(center, order_id) == "awaiting_qc"

    after = findscu(tmp_path / "q2", listener.port, [f"{SPS}.ScheduledStationAETitle=MR1", "AccessionNumber"],
                    calling_ae="MR1")
    assert after == []
