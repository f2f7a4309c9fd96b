"""The foundation's two pipeline examples and the routing rules, on in-memory fakes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fake_center import FakeCenter

from radflow.domain.errors import Forbidden, InvalidTransition, NotFound, ValidationError
from radflow.domain.users import Principal, Role
from radflow.services import authorizations as auth
from radflow.services.order_changes import AssignProtocol, CancelOrder, SupplyDocumentation
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.patients import AddCoverage, RegisterPatient

NPI = "1234567893"


def patient(center: FakeCenter, payer: str | None = "aetna_commercial") -> tuple[str, str | None]:
    registered = center.bus.handle(RegisterPatient(actor=center.intake, family_name="Rivera", given_name="Maria",
                                                   birth_date=date(1968, 4, 12), sex="F", phone="555-201-0001"))
    coverage = None
    if payer:
        coverage = center.bus.handle(AddCoverage(actor=center.intake, patient_id=registered.patient_id,
                                                 payer_id=payer, member_id="W123456"))
    return registered.patient_id, coverage


def line(protocol: str, coverage: str | None, **changes: object) -> OrderLine:
    fields: dict[str, object] = dict(protocol_code=protocol, reason_for_exam="Low back pain radiating to the leg",
                                     diagnosis_codes=("M54.16",), ordering_provider_npi=NPI,
                                     ordering_provider_name="Dr. Robin Referrer", coverage_id=coverage,
                                     self_pay=coverage is None)
    fields.update(changes)
    return OrderLine(**fields)  # type: ignore[arg-type]


def refer(center: FakeCenter, patient_id: str, *lines: OrderLine) -> list[str]:
    result = center.bus.handle(ReceiveReferral(actor=center.intake, patient_id=patient_id, channel="fax",
                                               lines=lines, reply_fax="555-300-4000"))
    return list(result.order_ids)


def state(center: FakeCenter, order_id: str) -> str:
    with center.uow() as uow:
        return uow.orders.get(order_id).state.value


def timeline(center: FakeCenter, order_id: str) -> list[tuple[str, str, str]]:
    with center.uow() as uow:
        return [(t.event, t.to_state, t.by) for t in uow.orders.get(order_id).transitions]


def test_mri_lumbar_spine_is_protocolled_authorized_and_ready(center: FakeCenter) -> None:
    pid, cov = patient(center)
    (order_id,) = refer(center, pid, line("MR-LSPINE", cov))
    assert state(center, order_id) == "awaiting_protocol"
    center.bus.handle(AssignProtocol(actor=center.radiologist, order_id=order_id, contrast="without"))
    assert state(center, order_id) == "pending_authorization"  # Aetna/eviCore: MR needs prior authorization
    center.bus.handle(auth.SubmitAuthorization(actor=center.auth, order_id=order_id, payer_reference="EVI-1"))
    center.clock.advance(days=1)
    center.bus.handle(auth.ApproveAuthorization(actor=center.auth, order_id=order_id, authorization_number="A99"))
    assert state(center, order_id) == "ready_to_schedule"
    steps = timeline(center, order_id)
    assert [s[1] for s in steps if s[0] not in ("protocol_assigned", "authorization_submitted")] == [
        "received", "awaiting_protocol", "pending_authorization", "ready_to_schedule"]
    assert {s[2] for s in steps} == {"u-intake", "u-rad", "u-auth"}
    with center.uow() as uow:
        current = uow.authorizations.current_for_order(order_id)
        assert current is not None and current.cpt_code == "72148" and current.authorization_number == "A99"
        assert any(j.kind == auth.AUTHORIZATION_EXPIRY for j in uow.jobs.rows.values())  # type: ignore[attr-defined]


def test_ct_missing_diagnosis_waits_for_documentation_then_goes_on(center: FakeCenter) -> None:
    pid, cov = patient(center)
    (order_id,) = refer(center, pid, line("CT-CHEST", cov, contrast="with", diagnosis_codes=()))
    assert state(center, order_id) == "awaiting_documentation"
    with center.uow() as uow:
        order = uow.orders.get(order_id)
        assert any("ICD-10-CM" in item for item in order.missing_items)
        requests = [j for j in uow.jobs.rows.values() if j.kind == "documentation_request"]  # type: ignore[attr-defined]
        assert len(requests) == 1 and requests[0].payload["order_id"] == order_id
    center.bus.handle(SupplyDocumentation(actor=center.intake, order_id=order_id, diagnosis_codes=("R91.1",)))
    # CT chest is protocolled by a radiologist, then Aetna needs authorization for it
    assert state(center, order_id) == "awaiting_protocol"
    center.bus.handle(AssignProtocol(actor=center.radiologist, order_id=order_id, contrast="with"))
    assert state(center, order_id) == "pending_authorization"
    center.bus.handle(auth.SubmitAuthorization(actor=center.auth, order_id=order_id, payer_reference="EVI-2"))
    center.bus.handle(auth.ApproveAuthorization(actor=center.auth, order_id=order_id, authorization_number="A100"))
    assert state(center, order_id) == "ready_to_schedule"
    assert [s[1] for s in timeline(center, order_id)][:3] == ["received", "awaiting_documentation", "received"]


def test_self_pay_xray_goes_straight_to_scheduling(center: FakeCenter) -> None:
    pid, _ = patient(center, payer=None)
    (order_id,) = refer(center, pid, line("DX-CHEST", None, diagnosis_codes=("R05.9",), reason_for_exam="Cough"))
    assert state(center, order_id) == "ready_to_schedule"


def test_medicare_needs_no_authorization(center: FakeCenter) -> None:
    pid, cov = patient(center, payer="medicare_part_b")
    (order_id,) = refer(center, pid, line("MR-LSPINE", cov))
    center.bus.handle(AssignProtocol(actor=center.radiologist, order_id=order_id, contrast="without_and_with"))
    assert state(center, order_id) == "ready_to_schedule"


def test_bad_input_writes_nothing(center: FakeCenter) -> None:
    pid, cov = patient(center)
    commits = center.store.commits
    with pytest.raises(ValidationError, match="ICD-10"):
        refer(center, pid, line("CT-HEAD", cov, diagnosis_codes=("R51.X",)))
    with pytest.raises(ValidationError, match="check digit"):
        refer(center, pid, line("CT-HEAD", cov, ordering_provider_npi="1234567890"))
    with pytest.raises(ValidationError, match="MR-NOPE"):
        refer(center, pid, line("MR-NOPE", cov))
    with pytest.raises(ValidationError):  # a good line and a bad one: neither lands
        refer(center, pid, line("CT-HEAD", cov), line("CT-HEAD", cov, diagnosis_codes=("12",)))
    assert center.store.commits == commits
    assert not center.store.table("orders")


def test_invalid_transition_is_refused_and_changes_nothing(center: FakeCenter) -> None:
    pid, _ = patient(center, payer=None)
    (order_id,) = refer(center, pid, line("DX-CHEST", None, diagnosis_codes=("R05.9",), reason_for_exam="Cough"))
    center.bus.handle(CancelOrder(actor=center.intake, order_id=order_id, reason="duplicate order"))
    before = timeline(center, order_id)
    with pytest.raises(InvalidTransition):
        center.bus.handle(CancelOrder(actor=center.intake, order_id=order_id, reason="again"))
    assert timeline(center, order_id) == before


def test_denial_then_substitution_goes_back_through_the_check(center: FakeCenter) -> None:
    pid, cov = patient(center)
    (order_id,) = refer(center, pid, line("MR-LSPINE", cov))
    center.bus.handle(AssignProtocol(actor=center.radiologist, order_id=order_id, contrast="with"))
    center.bus.handle(auth.SubmitAuthorization(actor=center.auth, order_id=order_id, payer_reference="EVI-3"))
    center.bus.handle(auth.DenyAuthorization(actor=center.auth, order_id=order_id, reason="contrast not indicated"))
    assert state(center, order_id) == "authorization_denied"
    center.bus.handle(auth.SubstituteStudy(actor=center.auth, order_id=order_id, protocol_code="DX-LSPINE",
                                           contrast=None, reason="payer allows radiographs first"))
    assert state(center, order_id) == "ready_to_schedule"
    with center.uow() as uow:
        assert uow.orders.get(order_id).cpt_code.startswith("721")


def test_payer_asks_for_more_documentation(center: FakeCenter) -> None:
    pid, cov = patient(center)
    (order_id,) = refer(center, pid, line("MR-LSPINE", cov))
    center.bus.handle(AssignProtocol(actor=center.radiologist, order_id=order_id, contrast="without"))
    center.bus.handle(auth.SubmitAuthorization(actor=center.auth, order_id=order_id, payer_reference="EVI-4"))
    center.bus.handle(auth.RequestMoreDocumentation(actor=center.auth, order_id=order_id,
                                                    what="6 weeks of physical therapy notes"))
    assert state(center, order_id) == "awaiting_documentation"
    center.bus.handle(SupplyDocumentation(actor=center.intake, order_id=order_id, note="PT notes faxed"))
    assert state(center, order_id) == "pending_authorization"  # already protocolled: straight to the payer


def test_approval_expiry_job_sends_order_back_to_authorization(center: FakeCenter) -> None:
    pid, cov = patient(center)
    (order_id,) = refer(center, pid, line("MR-LSPINE", cov))
    center.bus.handle(AssignProtocol(actor=center.radiologist, order_id=order_id, contrast="without"))
    center.bus.handle(auth.SubmitAuthorization(actor=center.auth, order_id=order_id, payer_reference="EVI-5"))
    center.bus.handle(auth.ApproveAuthorization(actor=center.auth, order_id=order_id, authorization_number="A1",
                                                valid_until=center.clock.now() + timedelta(days=3)))
    center.clock.advance(days=3, seconds=1)
    with center.uow() as uow:
        job = next(j for j in uow.jobs.rows.values() if j.kind == auth.AUTHORIZATION_EXPIRY)  # type: ignore[attr-defined]
        result = center.jobs[job.kind](job, uow, center.ctx)
        uow.commit()
    assert result is not None and result["expired"] is True
    assert state(center, order_id) == "pending_authorization"


def test_protocoling_is_refused_to_a_plain_technologist(center: FakeCenter) -> None:
    pid, cov = patient(center)
    (order_id,) = refer(center, pid, line("MR-LSPINE", cov))
    technologist = Principal(user_id="u-tech", username="taylor", role=Role.TECHNOLOGIST)
    with pytest.raises(Forbidden):
        center.bus.handle(AssignProtocol(actor=technologist, order_id=order_id, contrast="without"))
    lead = Principal(user_id="u-lead", username="lee", role=Role.TECHNOLOGIST, is_lead_technologist=True)
    center.bus.handle(AssignProtocol(actor=lead, order_id=order_id, contrast="without"))
    refusals = [r for r in center.store.audit if r.outcome.value == "denied"]
    assert len(refusals) == 1 and refusals[0].object_id == order_id


def test_unknown_order_is_not_found(center: FakeCenter) -> None:
    with pytest.raises(NotFound):
        center.bus.handle(CancelOrder(actor=center.intake, order_id="nope", reason="x"))
