"""The FHIR test harness: a radflow on SQLite with its ASGI app, users with tokens, request bodies, R4 checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from radflow.adapters.db import tables as t
from radflow.adapters.db.migrate import upgrade
from radflow.adapters.passwords import Argon2Hasher
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.domain.values import npi_check_digit
from radflow.entrypoints.api.app import create_app
from radflow.services.accounts import CreateUser, create_user, issue_api_token

REFERRER_NPI = f"123456789{npi_check_digit('123456789')}"
OTHER_NPI = f"198765432{npi_check_digit('198765432')}"
FHIR_JSON = "application/fhir+json"
PROTOCOL = "https://radflow.example/fhir/CodeSystem/protocol"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
PAYER = "https://radflow.example/fhir/sid/payer"
ACCESSION = "https://radflow.example/fhir/sid/accession"
MRN = "https://radflow.example/fhir/sid/mrn"
STATE_EXTENSION = "https://radflow.example/fhir/StructureDefinition/order-state"
HOSPITAL = "urn:oid:2.16.840.1.113883.19.5"

STAFF = {"intake": Role.INTAKE, "admin": Role.ADMIN, "manager": Role.MANAGER, "auth": Role.AUTHORIZATION,
         "rad": Role.RADIOLOGIST, "ehr": Role.INTEGRATION}


@dataclass
class FhirWorld:
    """The app under test and what a test needs to drive it."""

    radflow: Radflow
    client: TestClient
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        """Bearer headers of a test user."""
        return {"Authorization": f"Bearer {self.tokens[user]}", **extra}

    def get(self, user: str, path: str, **params: Any) -> Any:
        """GET /fhir/<path> as `user`."""
        return self.client.get(f"/fhir/{path}", params=params, headers=self.headers(user))

    def post(self, user: str, path: str, body: Any, **headers: str) -> Any:
        """POST a FHIR JSON body to /fhir/<path> as `user`."""
        return self.client.post(f"/fhir/{path}", json=body,
                                headers=self.headers(user, **{"Content-Type": FHIR_JSON}, **headers))

    def add_user(self, username: str, role: Role, *, npi: str = "", patient_id: str | None = None) -> None:
        """Create a user and give them a token."""
        admin = Principal.system("test", role=Role.ADMIN)
        create_user(CreateUser(actor=admin, username=username, display_name=username.title(), role=role.value,
                               password="correct horse battery", npi=npi, patient_id=patient_id),
                    self.radflow.uow(), self.radflow.ctx, self.radflow.hasher)
        self.tokens[username] = issue_api_token(self.radflow.bus.uow_factory, self.radflow.ctx, admin, username)

    def count(self, table: Any) -> int:
        """Rows in a table (to prove that a refused request wrote nothing)."""
        with self.radflow.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def counts(self) -> dict[str, int]:
        """Rows in every table a create could touch."""
        tables = (t.patients, t.patient_identifiers, t.referrals, t.orders, t.order_transitions, t.coverages,
                  t.authorizations, t.jobs, t.audit_records)
        return {table.name: self.count(table) for table in tables}

    def patient(self, family: str = "Rivera", given: str = "Maria", birth: str = "1968-04-12",
                phone: str = "555-201-0001", identifier: str = "") -> str:
        """Register a patient through FHIR and return its id."""
        body: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}],
                                "gender": "female", "birthDate": birth,
                                "telecom": [{"system": "phone", "value": phone}]}
        if identifier:
            body["identifier"] = [{"system": HOSPITAL, "value": identifier}]
        response = self.post("intake", "Patient", body)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    def coverage(self, patient_id: str, payer: str = "aetna_commercial", member: str = "M12345") -> str:
        """Record coverage through FHIR and return its id."""
        response = self.post("intake", "Coverage", coverage_body(patient_id, payer, member))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def order(self, patient_id: str, user: str = "intake", **changes: Any) -> dict[str, Any]:
        """Create a ServiceRequest through FHIR and return the created resource."""
        response = self.post(user, "ServiceRequest", service_request_body(patient_id, **changes))
        assert response.status_code == 201, response.text
        return dict(response.json())


def coverage_body(patient_id: str, payer: str = "aetna_commercial", member: str = "M12345") -> dict[str, Any]:
    """A Coverage naming a catalog payer."""
    return {"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": f"Patient/{patient_id}"},
            "subscriberId": member, "payor": [{"identifier": {"system": PAYER, "value": payer}}],
            "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                                         "code": "self"}]}}


def service_request_body(patient_id: str, *, code: tuple[str, str] = (PROTOCOL, "MR-LSPINE"),
                         contrast: str | None = None, icd10: tuple[str, ...] = ("M54.16",), npi: str = REFERRER_NPI,
                         coverage_id: str | None = None, placer: str = "P-1001",
                         priority: str = "routine", reason: str = "Low back pain radiating to the left leg, 6 weeks",
                         **extra: Any) -> dict[str, Any]:
    """A complete ServiceRequest for one exam."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": priority,
        "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                             "code": "PLAC"}]}, "system": HOSPITAL, "value": placer}],
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "requester": {"identifier": {"system": NPI, "value": npi}, "display": "Dr. Robin Referrer"},
        "reasonCode": [{"coding": [{"system": ICD10, "code": c}]} for c in icd10] + [{"text": reason}],
        "note": [{"text": "Failed 6 weeks of physical therapy"}],
    }
    if contrast:
        body["orderDetail"] = [{"coding": [{"system": "https://radflow.example/fhir/CodeSystem/contrast",
                                            "code": contrast}]}]
    if coverage_id:
        body["insurance"] = [{"reference": f"Coverage/{coverage_id}"}]
    body.update(extra)
    return body


def state_of(resource: dict[str, Any]) -> str:
    """The exact radflow state a ServiceRequest carries in its extension."""
    return next(str(e["valueCode"]) for e in resource["extension"] if e["url"] == STATE_EXTENSION)


def assert_valid(resource: dict[str, Any]) -> None:
    """Fail unless `resource` (and every resource in a Bundle) parses as its R4B model."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", ()):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])


def start_world(tmp_path: Path, database_url: str = "", schema: str = "") -> FhirWorld:
    """radflow on SQLite (or the given PostgreSQL schema) with staff users, two referrers ('drwho',
    'drother') and a token for each."""
    clock = FakeClock(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))
    settings = Settings(database_url=database_url or f"sqlite:///{tmp_path}/t.db", database_schema=schema,
                        data_dir=tmp_path)
    radflow = bootstrap(settings, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=64))
    upgrade(radflow.engine, schema=schema)
    world = FhirWorld(radflow=radflow, client=TestClient(create_app(radflow)), clock=clock)
    for username, role in STAFF.items():
        world.add_user(username, role)
    world.add_user("drwho", Role.REFERRING_PROVIDER, npi=REFERRER_NPI)
    world.add_user("drother", Role.REFERRING_PROVIDER, npi=OTHER_NPI)
    return world
