"""Every route of the app has a policy entry; role × route × own/other object: zero leaks, all audited.

A route with no `requires(...)` / `public(...)` dependency fails here. For each role, every route is
called on an object of the caller's own (their order, their record) and on somebody else's: a role
the policy does not name gets 403 (and the refusal is audited), a referring provider or a patient
never gets another person's data, and every successful access to patient data leaves an audit record.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from seed import OTHER_NPI, REFERRER_NPI, World, seed_world
from sqlalchemy import func, select

from radflow.adapters.db import tables as t
from radflow.bootstrap import Radflow
from radflow.domain.policy import PERMISSIONS
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.entrypoints.api.deps import Public, Requires
from radflow.services.documents import AttachDocument
from radflow_test_support import ApiUser, UserFactory

#: Routes whose success touches no patient's data (no audit record is due).
NO_PATIENT_DATA = re.compile(
    r"^(/healthz|/metrics|/api/me|/api/board|/api/catalog/.*|/api/users|/fhir/metadata|/login|/logout|/static/.*"
    r"|/|/board.*|/api/screening/evaluate|/api/rads/assess|/api/followup/extract"
    # the report editor's RADS calculators answering a half-filled form: pure rules, no record read
    r"|/rads/preview/.*"
    # empty forms and search pages before a search: they show no patient's data
    r"|/intake/referrals/new|/intake/referrals/line|/patients/new|/patients)$"
)
AREAS = os.environ.get("RADFLOW_ACCESS_TEST_AREAS", "1") == "1"


def policy_entry(route: Any) -> Requires | Public | None:
    """The Requires/Public dependency anywhere in the route's dependency tree."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if isinstance(dependency.call, (Requires, Public)):
            return dependency.call
        stack.extend(dependency.dependencies)
    return None


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every endpoint route of the app, through included routers (FastAPI's effective route contexts)."""
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is not None and route.path not in OPENAPI_PAGES:
            yield route


#: FastAPI's own documentation pages: no patient data, no sign-in.
OPENAPI_PAGES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def test_the_enumeration_sees_the_whole_app(app: FastAPI) -> None:
    paths = {route.path for route in api_routes(app)}
    assert {"/api/orders/{order_id}", "/api/referrals", "/healthz"} <= paths
    assert len(paths) >= len(app.openapi()["paths"]) - 1


@pytest.fixture
def app(radflow: Radflow) -> FastAPI:
    return create_app(radflow, areas=AREAS)


def test_every_route_has_a_policy_entry(app: FastAPI) -> None:
    missing = [f"{sorted(r.methods)} {r.path}" for r in api_routes(app) if policy_entry(r) is None]
    assert missing == [], f"routes without a policy entry: {missing}"
    for route in api_routes(app):
        entry = policy_entry(route)
        if isinstance(entry, Requires):
            assert entry.action in PERMISSIONS, f"{route.path}: action {entry.action} missing from PERMISSIONS"


@dataclass(frozen=True)
class Objects:
    """What path parameters mean, for the caller's own objects and for somebody else's."""

    own: dict[str, str]
    other: dict[str, str]


def objects(radflow: Radflow, world: World) -> Objects:
    actor = Principal.system("seed", role=Role.INTAKE)
    docs = [radflow.bus.handle(AttachDocument(actor=actor, patient_id=p, order_id=o, filename="referral.pdf",
                                              content_type="application/pdf", content=f"%PDF {o}".encode()))
            for p, o in ((world.own_patient, world.own_order), (world.other_patient, world.other_order))]
    with radflow.uow() as uow:
        other_cov = uow.coverages.for_patient(world.other_patient)[0].id
    return Objects(
        own={"patient": world.own_patient, "order": world.own_order, "document": docs[0],
             "coverage": world.own_coverage},
        other={"patient": world.other_patient, "order": world.other_order, "document": docs[1], "coverage": other_cov},
    )


def kind_of(path: str, parameter: str) -> str:
    """Which kind of object a path parameter names."""
    named = {"patient_id": "patient", "order_id": "order", "document_id": "document", "coverage_id": "coverage"}
    if parameter in named:
        return named[parameter]
    for marker, kind in (("/Patient/", "patient"), ("/ServiceRequest/", "order"), ("/Task/", "order"),
                         ("/Coverage/", "coverage")):
        if marker in path:
            return kind
    return "order"


def fill(path: str, chosen: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: chosen[kind_of(path, m.group(1))], path)


def sample_body(route: Any, world: World) -> dict[str, Any]:
    """A body that passes validation, so the request reaches the service and its checks."""
    bodies: dict[str, dict[str, Any]] = {
        "/api/patients": {"family_name": "New", "given_name": "Pat", "birth_date": "1990-01-01", "sex": "F"},
        "/api/patients/{patient_id}/coverages": {"payer_id": "cigna_commercial", "member_id": "C1"},
        "/api/patients/{patient_id}/merge": {"merged_id": world.other_patient},
        "/api/referrals": {"patient_id": world.own_patient, "orders": [{
            "protocol_code": "DX-CHEST", "ordering_provider_npi": REFERRER_NPI, "ordering_provider_name": "Dr X",
            "diagnosis_codes": ["R05.9"], "reason_for_exam": "cough for weeks", "self_pay": True}]},
        "/api/orders/{order_id}/documentation": {"diagnosis_codes": ["M54.16"]},
        "/api/orders/{order_id}/protocol": {"contrast": "without"},
        "/api/orders/{order_id}/cancel": {"reason": "access test"},
        "/api/slot-searches": {"order_ids": [world.own_order]},
        "/api/appointments": {"order_id": world.own_order, "scanner_id": "MR1", "start": "2026-03-03T14:00:00Z"},
        "/api/visits": {"bookings": [{"order_id": world.own_order, "scanner_id": "MR1",
                                      "start": "2026-03-03T14:00:00Z"}]},
        "/api/appointments/{appointment_id}/reschedule": {"scanner_id": "MR1", "start": "2026-03-03T14:00:00Z",
                                                          "reason": "access test"},
        "/api/appointments/{appointment_id}/cancel": {"reason": "access test"},
        "/api/capacity/sites/{site_id}": {"name": "Access test", "timezone": "America/New_York"},
        "/api/capacity/scanners/{scanner_id}": {"site_id": "NONE", "modality": "MR"},
        "/api/capacity/scanners/{scanner_id}/overbooking": {"lanes": 0, "reason": "access test"},
        "/api/capacity/closures": {"kind": "downtime", "reason": "access test", "scanner_id": "NONE",
                                   "start": "2026-03-03T14:00:00Z", "end": "2026-03-03T15:00:00Z"},
        "/api/backlog/plans": {"days": 1, "seconds": 1, "policy": "greedy"},
        "/api/backlog/plans/{plan_id}/accept": {"order_ids": []},
        "/api/backlog/plans/{plan_id}/skip": {"order_ids": []},
        "/api/orders/{order_id}/substitute": {"protocol_code": "DX-LSPINE", "reason": "access test"},
        "/api/orders/{order_id}/authorization/submit": {"payer_reference": "R1"},
        "/api/orders/{order_id}/authorization/approve": {"authorization_number": "N1"},
        "/api/orders/{order_id}/authorization/deny": {"reason": "access test"},
        "/api/orders/{order_id}/authorization/request-documentation": {"what": "notes"},
        "/api/orders/{order_id}/authorization/resubmit": {"payer_reference": "R2"},
        "/api/orders/{order_id}/authorization/assign": {"assignee_id": None},
        "/api/documents/{document_id}/file": {"patient_id": world.own_patient},
        "/api/users": {"username": "newbie", "role": "intake", "password": "long-enough-password"},
        "/api/hl7/messages/{message_id}/dismiss": {"reason": "access test"},
        "/api/hl7/mapping": {"content": "senders: []", "source": "access test"},
        "/api/orders/{order_id}/no-show": {"note": "access test"},
        "/api/orders/{order_id}/return-to-scheduling": {"note": "access test"},
        "/api/patients/{patient_id}/contact": {"how": "at the desk", "exam_name_in_texts": False},
        "/api/patients/{patient_id}/contact/revoke": {"channels": ["voice"], "how": "access test"},
        "/api/patients/{patient_id}/responses": {"visit_date": "2026-03-10", "kind": "confirmed"},
        "/api/messaging/sms/inbound": {"from": "+15550109999", "text": "HELP", "reference": "access-test"},
        "/api/messaging/delivery-reports": {"reference": "unknown", "status": "delivered"},
        "/api/orders/{order_id}/report": {"sections": {"impression": "access test"}},
        "/api/orders/{order_id}/report/rads": {"findings": [
            {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7}]}]},
        "/api/orders/{order_id}/report/addenda": {"text": "access test"},
        "/api/orders/{order_id}/critical-results": {"finding": "access test"},
        "/api/critical-results/{critical_result_id}/acknowledge": {"read_back": "access test"},
        "/api/critical-results/{critical_result_id}/attempts": {"detail": "access test"},
        "/api/critical-results/{critical_result_id}/withdraw": {"reason": "access test"},
        "/api/orders/{order_id}/checkin": {"payment_note": "access test"},
        "/api/orders/{order_id}/checkin/resolve-mismatch": {"note": "access test"},
        "/api/orders/{order_id}/patient-left": {"reason": "access test"},
        "/api/orders/{order_id}/screening/answers": {"answers": {"contrast.asthma": False}},
        "/api/orders/{order_id}/screening/review": {"clear": True, "note": "access test"},
        "/api/stations/{scanner_id}": {"station_ae_title": "ACCESS1"},
        "/api/orders/{order_id}/exam/prescan": {"checks": {"identity": True}},
        "/api/orders/{order_id}/exam/end": {"completed": True},
        "/api/orders/{order_id}/exam/interruptions": {"reason_code": "other", "note": "access test"},
        "/api/orders/{order_id}/exam/resume": {"note": "access test"},
        "/api/orders/{order_id}/exam/contrast": {"agent": "iohexol", "volume_ml": "80", "route": "intravenous",
                                                 "lot": "L1"},
        "/api/orders/{order_id}/exam/dose": {"ctdi_vol_mgy": "10"},
        "/api/orders/{order_id}/exam/qc": {"outcome": "passed", "required_series_obtained": True},
        "/api/orders/{order_id}/exam/return-to-scheduling": {"note": "access test"},
        "/api/orders/{order_id}/walk-in": {"scanner_id": "NONE"},
        "/api/patients/{patient_id}/resolve-identity": {"patient_id": world.other_patient},
        "/api/mpps/exceptions/{exception_id}/reconcile": {"order_id": world.own_order, "note": "access test"},
        "/api/mpps/exceptions/{exception_id}/dismiss": {"note": "access test"},
        "/api/orders/{order_id}/release/holds": {"reason": "patient_request", "explanation": "access test", "days": 3},
        "/api/release-holds/{hold_id}/lift": {"reason": "access test"},
        "/api/orders/{order_id}/result-responsibility": {"responsible": "center", "basis": "access test"},
        "/api/patient-letters/{distribution_id}/resend": {"reason": "access test"},
        "/api/followups/{followup_id}/close": {"reason": "access test"},
        "/api/followups/{followup_id}/reopen": {"reason": "access test"},
        "/api/records-requests": {"patient_id": world.own_patient, "items": ["report_copies"], "delivery": "mail"},
        "/api/records-requests/{request_id}/{step}": {"text": "access test"},
        "/api/orders/{order_id}/biopsy-results": {"biopsy_date": "2026-03-01", "outcome": "benign",
                                                   "pathology_text": "access test"},
    }
    return bodies.get(route.path, {})


def audit_count(radflow: Radflow) -> int:
    with radflow.session_factory() as session:
        return int(session.execute(select(func.count()).select_from(t.audit_records)).scalar_one())


def user_for(role: Role, make_user: UserFactory, world: World) -> ApiUser:
    if role is Role.REFERRING_PROVIDER:
        return make_user(role.value, npi=REFERRER_NPI)
    if role is Role.PATIENT:
        return make_user(role.value, patient_id=world.own_patient)
    return make_user(role.value, lead_technologist=role is Role.TECHNOLOGIST)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_role_route_object_matrix(role: Role, radflow: Radflow, app: FastAPI, make_user: UserFactory) -> None:
    world = seed_world(radflow)
    chosen = objects(radflow, world)
    user = user_for(role, make_user, world)
    client = TestClient(app, raise_server_exceptions=False)
    problems: list[str] = []
    routes = sorted(api_routes(app), key=lambda r: (r.methods != {"GET"}, r.path))  # reads before writes
    for route in routes:
        entry = policy_entry(route)
        if isinstance(entry, Public):
            continue
        assert isinstance(entry, Requires)
        method = sorted(route.methods - {"HEAD"})[0]
        allowed = role in PERMISSIONS[entry.action]
        for whose, ids in (("other", chosen.other), ("own", chosen.own)):
            if "{" not in route.path and whose == "other":
                continue
            url = fill(route.path, ids)
            before = audit_count(radflow)
            kwargs: dict[str, Any] = {"headers": user.headers}
            if method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = sample_body(route, world)
            response = client.request(method, url, **kwargs)
            label = f"{role.value} {method} {route.path} ({whose})"
            if response.status_code >= 500:
                problems.append(f"{label}: server error {response.status_code} {response.text[:200]}")
            if not allowed:
                if response.status_code != 403:
                    problems.append(f"{label}: expected 403 for a role without {entry.action.value}, "
                                    f"got {response.status_code}")
                elif audit_count(radflow) <= before:
                    problems.append(f"{label}: refusal not audited")
                continue
            if role in (Role.REFERRING_PROVIDER, Role.PATIENT) and 200 <= response.status_code < 300:
                if whose == "other":
                    problems.append(f"{label}: LEAK — {response.status_code} on another person's object")
                if world.other_patient in response.text or world.other_order in response.text:
                    problems.append(f"{label}: LEAK — response names another person's record")
            if 200 <= response.status_code < 300 and not NO_PATIENT_DATA.match(route.path) \
                    and audit_count(radflow) <= before:
                problems.append(f"{label}: {response.status_code} without an audit record")
    assert problems == [], "\n".join(problems)


def test_covering_provider_sees_the_covered_providers_orders(radflow: Radflow, app: FastAPI,
                                                             make_user: UserFactory) -> None:
    world = seed_world(radflow)
    covering = make_user("referring_provider", npi=OTHER_NPI, covers_npis=(REFERRER_NPI,))
    client = TestClient(app)
    listed = client.get("/api/orders", headers=covering.headers).json()
    assert {o["order_id"] for o in listed["orders"]} == {world.own_order, world.other_order}
    assert client.get(f"/api/orders/{world.own_order}", headers=covering.headers).status_code == 200
