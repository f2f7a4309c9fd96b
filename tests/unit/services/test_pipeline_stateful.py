"""Random command sequences through the services: no illegal transition lands, every change is audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from fake_center import FakeCenter
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from radflow.catalog.loader import load_catalog
from radflow.domain.errors import RadflowError
from radflow.domain.lifecycle import PREVIOUS, TRANSITIONS, OrderEvent, OrderState
from radflow.services import authorizations as auth
from radflow.services.order_changes import AssignProtocol, CancelOrder, SupplyDocumentation
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.patients import AddCoverage, RegisterPatient

CATALOG = load_catalog()
PROTOCOLS = ["MR-LSPINE", "CT-CHEST", "CT-HEAD", "DX-CHEST", "US-ABD", "PT-FDG", "MR-KNEE", "MG-SCREEN"]
PAYERS = ["aetna_commercial", "medicare_part_b", "texas_medicaid", "uhc_commercial", None]


class PipelineMachine(RuleBasedStateMachine):
    """Drives the intake, protocoling and authorization commands in any order."""

    orders = Bundle("orders")

    @initialize()
    def start(self) -> None:
        self.center = FakeCenter(CATALOG)

    def _snapshot(self) -> dict[str, tuple[str, int]]:
        with self.center.uow() as uow:
            rows: dict[str, Any] = uow.orders.rows  # type: ignore[attr-defined]
            return {oid: (o.state.value, len(o.transitions)) for oid, o in rows.items()}

    def _run(self, command: object) -> bool:
        before, audit_before = self._snapshot(), len(self.center.store.audit)
        try:
            self.center.bus.handle(command)
        except RadflowError:
            after = self._snapshot()
            assert after == before, "a refused command changed an order"
            new_records = self.center.store.audit[audit_before:]
            assert all(r.outcome.value == "denied" for r in new_records), "a refused command left access records"
            return False
        after = self._snapshot()
        changed = [oid for oid in after if after[oid] != before.get(oid)]
        audited = {r.object_id for r in self.center.store.audit[audit_before:]}
        for oid in changed:
            assert oid in audited, f"order {oid} changed without an audit record naming it"
        return True

    @rule(target=orders, protocol=st.sampled_from(PROTOCOLS), payer=st.sampled_from(PAYERS),
          has_code=st.booleans(), contrast=st.sampled_from([None, "without", "with", "without_and_with"]))
    def refer(self, protocol: str, payer: str | None, has_code: bool, contrast: str | None) -> str:
        c = self.center
        registered = c.bus.handle(RegisterPatient(actor=c.intake, family_name="Test", given_name="Pat",
                                                  birth_date=date(1970, 1, 1), sex="F"))
        coverage = None
        if payer:
            coverage = c.bus.handle(AddCoverage(actor=c.intake, patient_id=registered.patient_id, payer_id=payer,
                                                member_id="M1"))
        offered = {v.phase.value for v in CATALOG.protocol(protocol).variants}
        line = OrderLine(protocol_code=protocol, contrast=contrast if contrast in offered else None,
                         reason_for_exam="clinical question", diagnosis_codes=("R52",) if has_code else (),
                         ordering_provider_npi="1234567893", ordering_provider_name="Dr X",
                         coverage_id=coverage, self_pay=coverage is None,
                         laterality="R" if CATALOG.protocol(protocol).laterality_required else None)
        result = c.bus.handle(ReceiveReferral(actor=c.intake, patient_id=registered.patient_id, channel="fax",
                                              lines=(line,)))
        return str(result.order_ids[0])

    @rule(order=orders, contrast=st.sampled_from(["without", "with", "without_and_with", "tracer"]))
    def protocol(self, order: str, contrast: str) -> None:
        self._run(AssignProtocol(actor=self.center.radiologist, order_id=order, contrast=contrast))

    @rule(order=orders)
    def supply(self, order: str) -> None:
        self._run(SupplyDocumentation(actor=self.center.intake, order_id=order, diagnosis_codes=("R52",)))

    @rule(order=orders)
    def submit(self, order: str) -> None:
        self._run(auth.SubmitAuthorization(actor=self.center.auth, order_id=order, payer_reference="R1"))

    @rule(order=orders)
    def approve(self, order: str) -> None:
        self._run(auth.ApproveAuthorization(actor=self.center.auth, order_id=order, authorization_number="N1"))

    @rule(order=orders)
    def deny(self, order: str) -> None:
        self._run(auth.DenyAuthorization(actor=self.center.auth, order_id=order, reason="not necessary"))

    @rule(order=orders)
    def more_docs(self, order: str) -> None:
        self._run(auth.RequestMoreDocumentation(actor=self.center.auth, order_id=order, what="notes"))

    @rule(order=orders)
    def resubmit(self, order: str) -> None:
        self._run(auth.ResubmitAuthorization(actor=self.center.auth, order_id=order, payer_reference="R2"))

    @rule(order=orders, protocol=st.sampled_from(PROTOCOLS))
    def substitute(self, order: str, protocol: str) -> None:
        self._run(auth.SubstituteStudy(actor=self.center.auth, order_id=order, protocol_code=protocol,
                                       contrast=None, reason="payer alternative"))

    @rule(order=orders)
    def cancel(self, order: str) -> None:
        self._run(CancelOrder(actor=self.center.intake, order_id=order, reason="withdrawn"))

    @invariant()
    def every_timeline_step_is_in_the_table(self) -> None:
        if not hasattr(self, "center"):
            return
        with self.center.uow() as uow:
            rows: dict[str, Any] = uow.orders.rows  # type: ignore[attr-defined]
            for order in rows.values():
                for step in order.transitions:
                    if step.from_state is None or (step.from_state == step.to_state and step.event not in {
                            e.value for e in OrderEvent}):
                        continue  # the 'received' line and notes
                    target = TRANSITIONS[(OrderState(step.from_state), OrderEvent(step.event))]
                    assert target == PREVIOUS or target.value == step.to_state


TestPipeline = PipelineMachine.TestCase
TestPipeline.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                 suppress_health_check=[HealthCheck.too_slow])
