"""Smoke: signing in lands each role on its start page."""

from __future__ import annotations

from web_support import BrowserFactory


def test_intake_lands_on_intake_queue(browser_for: BrowserFactory) -> None:
    browser = browser_for("intake")
    page = browser.get("/intake")
    assert page.status_code == 200, page.text
    assert "Intake queue" in page.text
