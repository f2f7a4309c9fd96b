"""The two pipeline examples in a real browser against a real server: people only click and type.

(a) An MRI lumbar spine referral with complete details is entered, a radiologist protocols it, the
    authorization coordinator submits and approves it, and it reaches ready_to_schedule.
(b) A CT referral missing its diagnosis code waits for documentation, the code is supplied, it is
    protocolled and authorized, and reaches ready_to_schedule.
Both timelines show every step with who and when.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

if TYPE_CHECKING:  # annotations only: importing "conftest" by name picks whichever conftest came last
    from conftest import Server

pytestmark = pytest.mark.e2e
# The machine running the tests may be busy (a shared CI box, argon2 at sign-in): wait for the page a while
# before calling it broken. A scenario that is really broken still fails, only later.
expect.set_options(timeout=30_000)

WHEN = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T$")  # the center's zone (America/New_York)


@contextmanager
def signed_in(chromium: Browser, server: Server, role: str) -> Iterator[Page]:
    """A fresh browser window in which the user of `role` signed in on the form."""
    account = server.accounts[role]
    context = chromium.new_context(base_url=server.url, viewport={"width": 1366, "height": 850})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("User name").fill(account.username)
        page.get_by_label("Password").fill(account.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        yield page
    finally:
        context.close()


def enter_referral(page: Page, family: str, exam: str, *, born: str, phone: str, codes: str, reason: str,
                   contrast: str | None, referral_file: Path | None = None) -> str:
    """Intake: find the patient (not there), register them, fill in the referral; returns the accession."""
    page.get_by_role("link", name="New referral").first.click()
    page.get_by_label("Name, MRN or phone").fill(family)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No patient found.")).to_be_visible()
    page.get_by_role("link", name="Not found: register a new patient").click()
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Given name").fill("Maria")
    page.get_by_label("Birth date").fill(born)
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Phone").fill(phone)
    page.get_by_role("button", name="Register").click()

    expect(page.get_by_role("heading", name="New referral")).to_be_visible()
    page.get_by_label("Referring practice").fill("Riverside Family Practice")
    page.get_by_label("Ordering provider", exact=True).fill("Dr. Robin Referrer")
    page.get_by_label("Ordering provider NPI").fill("1234567893")
    page.get_by_label("Reply fax").fill("555-300-4000")
    if referral_file is not None:
        page.get_by_label("Faxed referral (PDF or image)").set_input_files(str(referral_file))
    page.get_by_label("New insurance coverage:").check()
    page.get_by_label("Payer").select_option(label="Aetna (commercial plans)")
    page.get_by_label("Member ID").fill("W123456")
    page.get_by_label("Exam requested").select_option(label=exam)
    if contrast:
        page.get_by_label("Contrast").select_option(label=contrast)
    if codes:
        page.get_by_label("ICD-10-CM codes").fill(codes)
    page.get_by_label("Reason for exam").fill(reason)
    page.get_by_role("button", name="Receive referral").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Order A")
    return heading.inner_text().split()[1]


def protocol(chromium: Browser, server: Server, accession: str, variant: str) -> None:
    """Radiologist: from the protocoling queue, protocol the exam with a contrast variant."""
    with signed_in(chromium, server, "radiologist") as page:
        # a radiologist starts on the reading worklist; protocoling is one click away in the menu
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Protocoling").click()
        expect(page.get_by_role("heading", name="Protocoling queue")).to_be_visible()
        page.get_by_role("link", name=f"Protocol {accession}").click()
        page.get_by_label(variant).check()
        page.get_by_label("Special instructions").fill("Routine protocol")
        page.get_by_role("button", name="Save protocol").click()
        expect(page.get_by_text(f"Protocol recorded for order {accession}.")).to_be_visible()


def authorize(chromium: Browser, server: Server, accession: str, reference: str, number: str) -> list[list[str]]:
    """Coordinator: take the request, submit it, record the approval; returns the timeline's state changes."""
    with signed_in(chromium, server, "authorization") as page:
        expect(page.get_by_role("heading", name="Authorization queue")).to_be_visible()
        page.get_by_role("link", name=accession).click()
        page.get_by_role("button", name="Assign to me").click()
        expect(page.locator("#authorization")).to_contain_text(server.accounts["authorization"].display_name)
        page.get_by_label("Payer case / reference number").fill(reference)
        page.get_by_role("button", name="Record submission").click()
        page.get_by_label("Authorization number").fill(number)
        page.get_by_role("button", name="Record approval").click()
        expect(page.locator(".sub .state")).to_have_text("Ready to schedule")
        rows = page.locator("table.timeline tbody tr.change")
        return [[cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def steps_of(rows: list[list[str]]) -> list[tuple[str, str]]:
    """(state reached, who) of each change, after checking each has a time in the center's zone."""
    for when, *_rest in rows:
        assert WHEN.match(when), when
    return [(state.split("→")[-1].strip(), who) for _when, _what, state, who, _details in rows]


def test_mri_lumbar_spine_referral_reaches_ready_to_schedule(chromium: Browser, server: Server,
                                                              tmp_path: Path) -> None:
    faxed = tmp_path / "referral-rivera.pdf"
    faxed.write_bytes(b"%PDF-1.4\n% faxed referral for Rivera\n")
    with signed_in(chromium, server, "intake") as page:
        expect(page.get_by_role("heading", name="Intake queue")).to_be_visible()
        accession = enter_referral(page, "Rivera", "MR-LSPINE — MRI lumbar spine", born="1968-04-12",
                                   phone="555-201-0001", codes="M54.16",
                                   reason="Low back pain radiating to the left leg for 8 weeks", contrast=None,
                                   referral_file=faxed)
        expect(page.locator(".sub .state")).to_have_text("Awaiting protocol")
        expect(page.get_by_role("link", name="referral-rivera.pdf")).to_be_visible()
    protocol(chromium, server, accession, "without contrast — CPT 72148, 30 min")
    rows = authorize(chromium, server, accession, "EVI-77120", "A9981234")
    intake, radiologist, coordinator = (server.accounts[r].display_name for r in ("intake", "radiologist",
                                                                                   "authorization"))
    assert steps_of(rows) == [("Received", intake), ("Awaiting protocol", intake),
                              ("Pending authorization", radiologist), ("Ready to schedule", coordinator)]


def test_ct_missing_diagnosis_code_goes_through_documentation_to_ready_to_schedule(chromium: Browser,
                                                                                    server: Server) -> None:
    with signed_in(chromium, server, "intake") as page:
        accession = enter_referral(page, "Chen", "CT-ABDPEL — CT abdomen and pelvis", born="1979-11-30",
                                   phone="555-404-0002", codes="",
                                   reason="Right lower quadrant pain for three days", contrast="with contrast")
        expect(page.locator(".sub .state")).to_have_text("Awaiting documentation")
        expect(page.get_by_role("status")).to_contain_text("ICD-10-CM diagnosis code")
        page.get_by_role("link", name="Intake queue").click()
        expect(page.locator("table.orders")).to_contain_text(accession)
        page.get_by_role("link", name=accession).first.click()
        page.get_by_label("ICD-10-CM codes").fill("R10.31")
        page.get_by_label("Note for the timeline").fill("Code phoned in by the office")
        page.get_by_role("button", name="Record documentation").click()
        expect(page.locator(".sub .state")).to_have_text("Awaiting protocol")
    protocol(chromium, server, accession, "with contrast — CPT 74177, 20 min")
    rows = authorize(chromium, server, accession, "EVI-88231", "A7700112")
    intake, radiologist, coordinator = (server.accounts[r].display_name for r in ("intake", "radiologist",
                                                                                   "authorization"))
    assert steps_of(rows) == [("Received", intake), ("Awaiting documentation", intake), ("Received", intake),
                              ("Awaiting protocol", intake), ("Pending authorization", radiologist),
                              ("Ready to schedule", coordinator)]
