"""Helpers of the screen tests: a browser-like client that signs in through the form, and seeded records."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from httpx import Response

from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.patients import AddCoverage, RegisteredPatient, RegisterPatient

NPI = "1234567893"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Browser:
    """A TestClient that signed in through the login form, with the session's CSRF token."""

    client: TestClient
    principal: Principal
    password: str
    csrf: str = ""

    def sign_in(self) -> Browser:
        """Sign in (again, e.g. after an idle timeout) through the form, and pick up the session's CSRF token."""
        response = sign_in(self.client, self.principal.username, self.password)
        assert response.status_code == 303, response.text
        start = self.client.get(response.headers["location"], follow_redirects=True)
        self.csrf = csrf_in(start.text) if 'name="csrf_token"' in start.text else ""
        return self

    def get(self, url: str) -> Response:
        """GET without following redirects (tests look at where they go)."""
        return self.client.get(url, follow_redirects=False)

    def post(self, url: str, data: dict[str, str] | None = None, *,
             files: dict[str, tuple[str, bytes, str]] | None = None,
             with_csrf: bool = True) -> Response:
        """POST a form as the page would (with its CSRF field unless told otherwise)."""
        fields = dict(data or {})
        if with_csrf:
            fields["csrf_token"] = self.csrf
        return self.client.post(url, data=fields, files=files, follow_redirects=False)


BrowserFactory = Callable[..., Browser]


def sign_in(client: TestClient, username: str, password: str) -> Response:
    """Fill in and post the sign-in form."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_in(page.text)},
                       follow_redirects=False)


def register_patient(radflow: Radflow, family: str = "Rivera", given: str = "Maria", *, phone: str = "555-201-0001",
                     birth_date: date = date(1968, 4, 12)) -> str:
    """A patient registered through the service (as an earlier referral would have)."""
    intake = Principal.system("seed", role=Role.INTAKE)
    result: RegisteredPatient = radflow.bus.handle(RegisterPatient(
        actor=intake, family_name=family, given_name=given, birth_date=birth_date, sex="F", phone=phone))
    return result.patient_id


def add_coverage(radflow: Radflow, patient_id: str, payer_id: str = "aetna_commercial") -> str:
    """Insurance for a patient."""
    intake = Principal.system("seed", role=Role.INTAKE)
    coverage: str = radflow.bus.handle(AddCoverage(actor=intake, patient_id=patient_id, payer_id=payer_id,
                                                   member_id="W123456"))
    return coverage


def refer(radflow: Radflow, patient_id: str, coverage_id: str | None, *, protocol: str = "MR-LSPINE",
          codes: tuple[str, ...] = ("M54.16",), npi: str = NPI) -> ReceivedReferral:
    """A referral received through the service."""
    intake = Principal.system("seed", role=Role.INTAKE)
    received: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
        actor=intake, patient_id=patient_id, channel="fax", reply_fax="555-300-4000", lines=(OrderLine(
            protocol_code=protocol, reason_for_exam="Low back pain radiating to the left leg for 8 weeks",
            diagnosis_codes=codes, ordering_provider_npi=npi, ordering_provider_name="Dr. Robin Referrer",
            coverage_id=coverage_id),)))
    return received


class _TableReader(HTMLParser):
    """Collects the text of each body row of the first <table> with a given class."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class, self.depth, self.in_body = css_class, 0, False
        self.rows: list[list[str]] = []
        self.row_classes: list[str] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and (self.depth or self.css_class in classes):
            self.depth += 1
        elif self.depth and tag == "tbody":
            self.in_body = True
        elif self.depth and self.in_body and tag == "tr":
            self.rows.append([])
            self.row_classes.append(" ".join(classes))
        elif self.depth and self.in_body and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "tbody":
            self.in_body = False
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(" ".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, css_class: str) -> list[list[str]]:
    """The text of each cell of each body row of the table with this class."""
    reader = _TableReader(css_class)
    reader.feed(html)
    return reader.rows


def timeline_changes(html: str) -> list[tuple[str, str, str]]:
    """The order timeline's state changes (rows marked 'change'): (when, new state, who)."""
    reader = _TableReader("timeline")
    reader.feed(html)
    return [(when, state.split("→")[-1].strip(), who)
            for (when, _what, state, who, _details), kind in zip(reader.rows, reader.row_classes, strict=True)
            if kind == "change"]
