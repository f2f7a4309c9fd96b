"""The reading worklist, claims and priors, on in-memory fakes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reporting_center import FakePacsStudy, ReadingRoom

from radflow.domain.errors import Conflict, Forbidden
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Track
from radflow.domain.reading import ReportingPolicy, TurnaroundTargets, WorklistFilter
from radflow.services.reading import ClaimStudy, GetReadingWorklist, ListPriors, ReleaseClaim
from radflow.services.reports import SaveReport, SignReport, StartReport


def test_worklist_puts_stat_before_urgent_before_routine_then_earliest_deadline(room: ReadingRoom) -> None:
    old_routine = room.study(track=Track.ROUTINE, completed=room.clock.now() - timedelta(days=3))
    new_routine = room.study(track=Track.ROUTINE)
    urgent = room.study(track=Track.URGENT)
    stat = room.study(track=Track.STAT)
    rows = room.bus.handle(GetReadingWorklist(actor=room.radiologist))
    assert [r.order_id for r in rows] == [stat.id, urgent.id, old_routine.id, new_routine.id]
    assert rows[0].due_at == room.clock.now() + timedelta(minutes=60)
    assert rows[2].due_at < room.clock.now()  # overdue: shown, never hidden


def test_turnaround_targets_are_configurable_per_track(catalog: object) -> None:
    room = ReadingRoom(catalog, ReportingPolicy(turnaround=TurnaroundTargets(stat_minutes=30)))  # type: ignore[arg-type]
    room.study(track=Track.STAT)
    (row,) = room.bus.handle(GetReadingWorklist(actor=room.radiologist))
    assert row.due_at == room.clock.now() + timedelta(minutes=30)


def test_worklist_filters_by_modality_region_subspecialty_and_site(room: ReadingRoom) -> None:
    head = room.study("CT-HEAD", site="North")
    chest = room.study("CT-CHEST", site="Main")
    knee = room.study("MR-KNEE", site="Main")

    def ids(**wanted: str) -> set[str]:
        rows = room.bus.handle(GetReadingWorklist(actor=room.radiologist, filter=WorklistFilter(**wanted)))  # type: ignore[arg-type]
        return {r.order_id for r in rows}

    assert ids(modality="CT") == {head.id, chest.id}
    assert ids(body_region="chest") == {chest.id}
    assert ids(subspecialty="msk") == {knee.id}
    assert ids(site="north") == {head.id}
    assert ids(modality="MR", site="North") == set()


def test_only_studies_with_images_complete_are_on_the_worklist(room: ReadingRoom) -> None:
    study = room.study()
    with room.uow() as uow:
        other = uow.orders.get(study.id)
        other.state = OrderState.AWAITING_QC
        uow.commit()
    assert room.bus.handle(GetReadingWorklist(actor=room.radiologist)) == []


def test_a_claimed_study_cannot_be_claimed_by_a_second_radiologist(room: ReadingRoom) -> None:
    study = room.study()
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    with pytest.raises(Conflict, match="Dr Rad is reading this study"):
        room.bus.handle(ClaimStudy(actor=room.second_radiologist, order_id=study.id))
    (row,) = room.bus.handle(GetReadingWorklist(actor=room.second_radiologist))
    assert row.claimed_by_name == "Dr Rad"
    assert room.bus.handle(GetReadingWorklist(actor=room.second_radiologist,
                                              filter=WorklistFilter(unclaimed_only=True))) == []


def test_an_expired_claim_frees_the_study_for_another_radiologist(room: ReadingRoom) -> None:
    study = room.study()
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.clock.advance(minutes=31)
    claim = room.bus.handle(ClaimStudy(actor=room.second_radiologist, order_id=study.id))
    assert claim.user_id == room.second_radiologist.user_id
    with pytest.raises(Conflict, match="Dr Second"):
        room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))


def test_reporting_needs_a_live_claim(room: ReadingRoom) -> None:
    study = room.study()
    with pytest.raises(Conflict, match="claim study"):
        room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    room.bus.handle(ReleaseClaim(actor=room.radiologist, order_id=study.id))
    with pytest.raises(Conflict):
        room.bus.handle(SaveReport(actor=room.radiologist, order_id=study.id, sections={"impression": "x"}))


def test_working_on_the_report_renews_the_claim(room: ReadingRoom) -> None:
    study = room.study()
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    for _ in range(3):  # 75 minutes of work, each save within the 30-minute claim
        room.clock.advance(minutes=25)
        room.bus.handle(SaveReport(actor=room.radiologist, order_id=study.id, sections={"findings": "Normal."}))
    with pytest.raises(Conflict):
        room.bus.handle(ClaimStudy(actor=room.second_radiologist, order_id=study.id))


def test_signing_gives_the_study_back_and_takes_it_off_the_worklist(room: ReadingRoom) -> None:
    study = room.study()
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    room.bus.handle(SaveReport(actor=room.radiologist, order_id=study.id,
                               sections={"findings": "No acute abnormality.", "impression": "Normal CT head."}))
    room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    assert room.bus.handle(GetReadingWorklist(actor=room.radiologist)) == []
    with room.uow() as uow:
        assert uow.orders.get(study.id).state is OrderState.REPORTED
        assert uow.reading_claims.current(study.id) is None  # type: ignore[attr-defined]


def test_only_radiologists_claim_studies(room: ReadingRoom) -> None:
    study = room.study()
    with pytest.raises(Forbidden):
        room.bus.handle(ClaimStudy(actor=room.ordering, order_id=study.id))
    with pytest.raises(Forbidden):
        room.bus.handle(GetReadingWorklist(actor=room.ordering))


def _signed_prior(room: ReadingRoom, protocol: str, patient_id: str, impression: str) -> str:
    prior = room.study(protocol, patient_id=patient_id, completed=room.clock.now() - timedelta(days=400))
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=prior.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=prior.id))
    room.bus.handle(SaveReport(actor=room.radiologist, order_id=prior.id, sections={"impression": impression}))
    room.bus.handle(SignReport(actor=room.radiologist, order_id=prior.id))
    return prior.id


def test_priors_are_the_patients_studies_of_the_same_region_from_radflow_and_the_pacs(room: ReadingRoom) -> None:
    current = room.study("CT-CHEST")
    prior_id = _signed_prior(room, "CT-LDCT", current.patient_id, "Small benign-appearing nodules.")
    _signed_prior(room, "MR-KNEE", current.patient_id, "Meniscal tear.")
    with room.uow() as uow:
        prior = uow.orders.get(prior_id)
    room.pacs.studies = [
        FakePacsStudy("1.2.3.1", "OUT-77", date(2023, 5, 1), ("CT",), "CT CHEST WITH CONTRAST"),
        FakePacsStudy("1.2.3.2", "OUT-78", date(2024, 1, 9), ("MR",), "MRI BRAIN"),
        FakePacsStudy(prior.study_instance_uid, prior.accession_number, date(2025, 1, 1), ("CT",), "CT LDCT"),
    ]
    priors = room.bus.handle(ListPriors(actor=room.radiologist, order_id=current.id))
    assert priors.body_region == "chest" and priors.pacs_asked
    assert [(p.source, p.accession_number) for p in priors.studies] == [("radflow", prior.accession_number),
                                                                         ("pacs", "OUT-77")]
    assert priors.studies[0].impression == "Small benign-appearing nodules."
    assert priors.studies[0].report_state == "final"
    assert room.pacs.asked == ["MRN0000"]


def test_priors_from_radflow_are_listed_when_the_pacs_is_down(room: ReadingRoom) -> None:
    current = room.study("CT-CHEST")
    _signed_prior(room, "CT-CHEST", current.patient_id, "Clear lungs.")
    room.pacs.down = True
    priors = room.bus.handle(ListPriors(actor=room.radiologist, order_id=current.id))
    assert [p.source for p in priors.studies] == ["radflow"]
    assert "did not accept an association" in priors.pacs_problem
