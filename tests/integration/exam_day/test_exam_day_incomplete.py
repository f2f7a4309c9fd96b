"""A CT whose contrast could not be given is discontinued at the scanner, goes `incomplete`, and is booked again
once coverage, authorization and preparation were re-checked; an approval that ran out sends it to the payer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from exam_day_world import accession_of, add_order, add_patient, book, ny, order_state
from fastapi.testclient import TestClient

from radflow.bootstrap import Radflow
from radflow.domain.authorization import Authorization, AuthorizationState
from radflow.domain.ids import new_id
from radflow.domain.study import StepStatus
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services.exam_day.performed_steps import RecordPerformedStep, StepReport
from radflow.services.exam_day.ports import studies, worklist
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
DICOM = Principal.system("dicom", role=Role.INTEGRATION)


def discontinue_at_the_scanner(center: Radflow, accession: str, uid: str) -> None:
    started = StepReport(sop_instance_uid=uid, status=StepStatus.IN_PROGRESS, calling_ae="CT1",
                         station_ae_title="CT1", modality="CT", accession_numbers=(accession,))
    center.bus.handle(RecordPerformedStep(actor=DICOM, report=started, created=True))
    ended = StepReport(sop_instance_uid=uid, status=StepStatus.DISCONTINUED, calling_ae="CT1", station_ae_title="CT1",
                       modality="CT", accession_numbers=(accession,), discontinuation_code="contrast-not-given",
                       discontinuation_meaning="Contrast not given")
    center.bus.handle(RecordPerformedStep(actor=DICOM, report=ended, created=False))


def test_a_discontinued_ct_is_incomplete_and_booked_again_after_the_rechecks(
        center: Radflow, make_user: UserFactory) -> None:
    order_id = add_order(center, "CT-ABD", add_patient(center), contrast="with")
    book(center, order_id, "CT1", ny(2, 10))
    accession = accession_of(center, order_id)
    discontinue_at_the_scanner(center, accession, "1.2.3.500")
    assert order_state(center, order_id) == "incomplete"
    with center.uow() as uow:
        assert worklist(uow).get(accession) is None
        timeline = uow.orders.get(order_id).transitions
    assert timeline[-1].event == "exam_discontinued"
    assert "Contrast not given" in timeline[-1].reason

    client = TestClient(create_app(center))
    desk = make_user("front_desk")
    rechecked = client.post(f"/api/orders/{order_id}/exam/return-to-scheduling", headers=desk.headers,
                            json={"note": "IV access failed; patient agrees to come back"})
    assert rechecked.status_code == 200, rechecked.text
    findings = rechecked.json()["result"]["findings"]
    assert any(f.startswith("coverage aetna_commercial") for f in findings)
    assert any("preparation" in f for f in findings)
    assert order_state(center, order_id) == "ready_to_schedule"

    book(center, order_id, "CT1", ny(3, 11))
    assert order_state(center, order_id) == "scheduled"
    with center.uow() as uow:
        item = worklist(uow).get(accession)
        study = studies(uow).for_order(order_id)
    assert item is not None
    assert item.item["ScheduledProcedureStepSequence"][0]["ScheduledProcedureStepStartTime"] == "110000"
    assert study is not None and study.state.value == "pending" and len(study.performed_steps) == 1


def test_an_approval_that_ran_out_sends_the_incomplete_exam_back_to_the_payer(
        center: Radflow, make_user: UserFactory) -> None:
    order_id = add_order(center, "CT-ABD", add_patient(center), contrast="with")
    now = center.ctx.clock.now()
    with center.uow() as uow:
        uow.authorizations.add(Authorization(
            id=new_id(), order_id=order_id, payer_id="aetna_commercial", cpt_code="74160",
            state=AuthorizationState.APPROVED, created_at=now - timedelta(days=30), authorization_number="PA-1",
            valid_from=now - timedelta(days=30), valid_until=now + timedelta(hours=3)))
        uow.commit()
    book(center, order_id, "CT1", ny(2, 10))
    discontinue_at_the_scanner(center, accession_of(center, order_id), "1.2.3.501")
    center.ctx.clock.advance(hours=6)  # type: ignore[attr-defined]  # the fixture's FakeClock
    client = TestClient(create_app(center))
    answer = client.post(f"/api/orders/{order_id}/exam/return-to-scheduling", headers=make_user("scheduler").headers,
                         json={"note": "patient moved"})
    assert answer.status_code == 200, answer.text
    assert order_state(center, order_id) == "pending_authorization"
    assert any("no longer valid" in f for f in answer.json()["result"]["findings"])
