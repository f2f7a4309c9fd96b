"""A small world for API tests: two patients, each with an order from a different referrer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.patients import AddCoverage, RegisterPatient

REFERRER_NPI = "1234567893"
OTHER_NPI = "1245319599"


@dataclass(frozen=True)
class World:
    """Ids of what was seeded."""

    own_patient: str
    other_patient: str
    own_order: str
    other_order: str
    own_coverage: str


def seed_world(radflow: Radflow) -> World:
    """Two patients; the first ordered by REFERRER_NPI, the second by OTHER_NPI."""
    intake = Principal.system("seed", role=Role.INTAKE)
    ids = []
    for family, npi in (("Own", REFERRER_NPI), ("Other", OTHER_NPI)):
        patient = radflow.bus.handle(RegisterPatient(
            actor=intake, family_name=family, given_name="Pat", birth_date=date(1980, 5, 5), sex="F",
            phone=f"555-77{len(family)}-1000"))
        coverage = radflow.bus.handle(AddCoverage(actor=intake, patient_id=patient.patient_id,
                                                  payer_id="aetna_commercial", member_id="W1"))
        order = radflow.bus.handle(ReceiveReferral(
            actor=intake, patient_id=patient.patient_id, channel="e_order", lines=(
            OrderLine(protocol_code="MR-LSPINE", reason_for_exam="back pain with radiculopathy",
                      diagnosis_codes=("M54.16",), ordering_provider_npi=npi, ordering_provider_name="Dr X",
                      coverage_id=coverage),)))
        ids.append((patient.patient_id, order.order_ids[0], coverage))
    return World(own_patient=ids[0][0], other_patient=ids[1][0], own_order=ids[0][1], other_order=ids[1][1],
                 own_coverage=ids[0][2])
