"""Each screen opens for the roles that may see it and refuses the others with a page (never data);
forms without the session's CSRF token change nothing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from web_support import NPI, Browser, BrowserFactory, add_coverage, refer, register_patient

from radflow.bootstrap import Radflow
from radflow.domain import policy
from radflow.domain.errors import Forbidden
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services.views import GetOrder

OTHER_NPI = "1245319599"


@dataclass(frozen=True)
class Seeded:
    """Two patients, each with an MRI order from a different referrer."""

    own_patient: str
    own_order: str
    other_patient: str
    other_order: str


@pytest.fixture
def seeded(radflow: Radflow) -> Seeded:
    own = register_patient(radflow, "Own", "Pat", phone="555-201-0001")
    other = register_patient(radflow, "Other", "Sam", phone="555-201-0002")
    own_order = refer(radflow, own, add_coverage(radflow, own), npi=NPI).order_ids[0]
    other_order = refer(radflow, other, add_coverage(radflow, other), npi=OTHER_NPI).order_ids[0]
    return Seeded(own, own_order, other, other_order)


def _allowed(principal: Principal, action: Action, target: AccessTarget | None) -> bool:
    try:
        policy.check(principal, action, target)
    except Forbidden:
        return False
    return True


ROLES = [
    ("intake", {}), ("authorization", {}), ("scheduler", {}), ("front_desk", {}), ("technologist", {}),
    ("technologist", {"lead_technologist": True}), ("radiologist", {}), ("manager", {}), ("admin", {}),
    ("referring_provider", {"npi": NPI}), ("integration", {}),
]


@pytest.mark.parametrize(("role", "flags"), ROLES, ids=[f"{r}{'-lead' if f else ''}" for r, f in ROLES])
def test_each_screen_opens_exactly_for_the_roles_the_policy_allows(
        browser_for: BrowserFactory, seeded: Seeded, role: str, flags: dict[str, object]) -> None:
    browser = browser_for(role, **flags)
    own = AccessTarget.for_order(seeded.own_patient, NPI, ())
    other = AccessTarget.for_order(seeded.other_patient, OTHER_NPI, ())
    screens: list[tuple[str, Action, AccessTarget | None]] = [
        ("/intake", Action.QUEUE_INTAKE, None),
        ("/intake/referrals/new", Action.ORDER_CREATE, None),
        ("/protocoling", Action.QUEUE_PROTOCOL, None),
        ("/authorization", Action.QUEUE_AUTHORIZATION, None),
        ("/board", Action.PIPELINE_BOARD, None),
        ("/orders", Action.ORDER_READ, None),
        (f"/orders/{seeded.own_order}", Action.ORDER_READ, own),
        (f"/orders/{seeded.other_order}", Action.ORDER_READ, other),
        (f"/orders/{seeded.own_order}/protocol", Action.ORDER_PROTOCOL, own),
        ("/patients?q=Own", Action.PATIENT_SEARCH, None),
        (f"/patients/{seeded.own_patient}", Action.PATIENT_READ, own),
        (f"/patients/{seeded.other_patient}", Action.PATIENT_READ, other),
        ("/patients/new", Action.PATIENT_WRITE, None),
    ]
    for url, action, target in screens:
        response = browser.get(url)
        if _allowed(browser.principal, action, target):
            assert response.status_code == 200, (url, response.status_code)
        else:
            assert response.status_code == 403, (url, response.status_code)
            assert "Not allowed" in response.text and response.headers["content-type"].startswith("text/html")
            assert "Own" not in response.text and "Other" not in response.text  # no patient data on a refusal


def test_a_referrer_sees_their_own_order_but_not_another_referrers(browser_for: BrowserFactory,
                                                                  seeded: Seeded) -> None:
    referrer = browser_for("referring_provider", npi=NPI)
    assert referrer.get(f"/orders/{seeded.own_order}").status_code == 200
    refused = referrer.get(f"/orders/{seeded.other_order}")
    assert refused.status_code == 403
    listing = referrer.get("/orders").text
    assert "OWN, Pat" in listing and "OTHER, Sam" not in listing


def test_a_patient_sees_only_their_own_orders(radflow: Radflow, browser_for: BrowserFactory, seeded: Seeded) -> None:
    patient = browser_for("patient", patient_id=seeded.own_patient)
    assert patient.get(f"/orders/{seeded.own_order}").status_code == 200
    assert patient.get(f"/orders/{seeded.other_order}").status_code == 403
    assert "OTHER, Sam" not in patient.get("/orders").text


def test_a_radiologist_is_refused_the_intake_queue(browser_for: BrowserFactory) -> None:
    assert browser_for("radiologist").get("/intake").status_code == 403


def test_a_technologist_who_is_not_lead_cannot_protocol(browser_for: BrowserFactory, seeded: Seeded) -> None:
    technologist = browser_for("technologist")
    assert technologist.get(f"/orders/{seeded.own_order}/protocol").status_code == 403
    response = technologist.post(f"/orders/{seeded.own_order}/protocol", {"contrast": "without"})
    assert response.status_code == 403


def test_screens_ask_for_sign_in_without_a_session(radflow: Radflow, seeded: Seeded) -> None:
    client = TestClient(create_app(radflow))
    for url in ("/", "/intake", "/protocoling", "/authorization", "/board", "/orders", f"/orders/{seeded.own_order}",
                "/patients", f"/patients/{seeded.own_patient}", "/intake/referrals/new"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next="), url


def _state(radflow: Radflow, order_id: str) -> str:
    return str(radflow.bus.handle(GetOrder(actor=Principal.system("t", role=Role.ADMIN), order_id=order_id))
               .order.state.value)


def test_a_form_posted_without_the_csrf_token_changes_nothing(radflow: Radflow, browser_for: BrowserFactory,
                                                               seeded: Seeded) -> None:
    intake = browser_for("intake")
    before = _state(radflow, seeded.own_order)
    response = intake.post(f"/orders/{seeded.own_order}/cancel", {"reason": "duplicate order"}, with_csrf=False)
    assert response.status_code == 403
    assert "did not come from radflow" in response.text
    assert _state(radflow, seeded.own_order) == before


def test_a_form_posted_with_another_sessions_token_changes_nothing(radflow: Radflow, browser_for: BrowserFactory,
                                                                    seeded: Seeded) -> None:
    intake, other = browser_for("intake"), browser_for("intake")
    response = intake.client.post(f"/orders/{seeded.own_order}/cancel",
                                  data={"reason": "duplicate order", "csrf_token": other.csrf}, follow_redirects=False)
    assert response.status_code == 403
    assert _state(radflow, seeded.own_order) != "cancelled"


def test_htmx_sends_the_token_as_a_header_and_that_is_accepted(radflow: Radflow, browser_for: BrowserFactory,
                                                                seeded: Seeded) -> None:
    intake: Browser = browser_for("intake")
    response = intake.client.post(f"/orders/{seeded.own_order}/cancel", data={"reason": "duplicate order"},
                                  headers={"X-CSRF-Token": intake.csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert _state(radflow, seeded.own_order) == "cancelled"
