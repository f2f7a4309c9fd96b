"""Signing in and out of the screens: the cookie, where each role lands, idle timeout, CSRF on the form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from web_support import BrowserFactory, csrf_in, sign_in

from radflow.adapters.passwords import Argon2Hasher
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory


@pytest.mark.parametrize(("role", "flags", "start"), [
    ("intake", {}, "/intake"),
    ("authorization", {}, "/authorization"),
    ("radiologist", {}, "/reading"),
    ("manager", {}, "/board"),
    ("admin", {}, "/board"),
    ("scheduler", {}, "/scheduling"),
    ("front_desk", {}, "/exam-day/arrivals"),
    ("technologist", {}, "/exam-day/worklist"),
    ("technologist", {"lead_technologist": True}, "/protocoling"),
    ("referring_provider", {"npi": "1234567893"}, "/results/inbox"),
])
def test_each_role_lands_on_its_own_start_page(radflow: Radflow, make_user: UserFactory, role: str,
                                               flags: dict[str, object], start: str) -> None:
    user = make_user(role, **flags)
    client = TestClient(create_app(radflow))
    response = sign_in(client, user.principal.username, user.password)
    assert response.status_code == 303
    assert response.headers["location"] == start
    landed = client.get(start, follow_redirects=False)
    assert landed.status_code == 200, landed.text


def test_session_cookie_is_httponly_and_lax_and_not_secure_over_plain_http(app_client: TestClient,
                                                                          make_user: UserFactory) -> None:
    user = make_user("intake")
    response = sign_in(app_client, user.principal.username, user.password)
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("radflow_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_the_center_serves_https(test_settings: Settings, clock: FakeClock,
                                                              make_user: UserFactory) -> None:
    make_user("intake", username="secure.intake")
    wired = bootstrap(test_settings.model_copy(update={"secure_cookies": True}), clock=clock,
                      hasher=Argon2Hasher(time_cost=1, memory_cost=256))
    client = TestClient(create_app(wired), base_url="https://testserver")
    response = sign_in(client, "secure.intake", "secure.intake-password-123")
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("radflow_session="))
    assert "Secure" in cookie


def test_wrong_password_shows_the_form_again_with_the_reason_and_no_session(app_client: TestClient,
                                                                           make_user: UserFactory) -> None:
    user = make_user("intake")
    response = sign_in(app_client, user.principal.username, "not-the-password")
    assert response.status_code == 401
    assert "wrong user name or password" in response.text
    assert "radflow_session" not in app_client.cookies
    assert f'value="{user.principal.username}"' in response.text  # the name typed is kept


def test_sign_in_form_without_its_token_is_refused(app_client: TestClient, make_user: UserFactory) -> None:
    user = make_user("intake")
    app_client.get("/login")
    response = app_client.post("/login", data={"username": user.principal.username, "password": user.password,
                                               "csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert "radflow_session" not in app_client.cookies


def test_a_screen_asked_for_before_signing_in_is_shown_after_signing_in(app_client: TestClient,
                                                                         make_user: UserFactory) -> None:
    user = make_user("manager")
    asked = app_client.get("/orders?state=received", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=%2Forders%3Fstate%3Dreceived"
    form = app_client.get(asked.headers["location"])
    response = app_client.post("/login", data={"username": user.principal.username, "password": user.password,
                                               "csrf_token": csrf_in(form.text), "next": "/orders?state=received"},
                               follow_redirects=False)
    assert response.headers["location"] == "/orders?state=received"


@pytest.mark.parametrize("target", ["//evil.example/phish", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_sends_the_user_to_another_site(app_client: TestClient, make_user: UserFactory,
                                                      target: str) -> None:
    user = make_user("manager")
    form = app_client.get("/login")
    response = app_client.post("/login", data={"username": user.principal.username, "password": user.password,
                                               "csrf_token": csrf_in(form.text), "next": target},
                               follow_redirects=False)
    assert response.headers["location"] == "/board"


def test_idle_session_goes_back_to_sign_in_saying_why(browser_for: BrowserFactory, clock: FakeClock,
                                                      radflow: Radflow) -> None:
    browser = browser_for("intake")
    assert browser.get("/intake").status_code == 200
    clock.advance(timedelta(minutes=radflow.settings.session_idle_minutes + 1))
    response = browser.get("/intake")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fintake&expired=1"
    page = browser.client.get(response.headers["location"])
    assert f"after {radflow.settings.session_idle_minutes} minutes without activity" in page.text


def test_activity_within_the_idle_limit_keeps_the_session(browser_for: BrowserFactory, clock: FakeClock,
                                                          radflow: Radflow) -> None:
    browser = browser_for("intake")
    for _ in range(3):
        clock.advance(timedelta(minutes=radflow.settings.session_idle_minutes - 5))
        assert browser.get("/intake").status_code == 200


def test_htmx_request_after_timeout_asks_for_a_full_page_sign_in(browser_for: BrowserFactory, clock: FakeClock,
                                                                  radflow: Radflow) -> None:
    browser = browser_for("manager")
    clock.advance(timedelta(minutes=radflow.settings.session_idle_minutes + 1))
    response = browser.client.get("/board", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["HX-Redirect"].startswith("/login?")


def test_sign_out_ends_the_session(browser_for: BrowserFactory) -> None:
    browser = browser_for("intake")
    response = browser.post("/logout")
    assert response.headers["location"] == "/login?signed_out=1"
    assert browser.get("/intake").status_code == 303


def test_sign_out_without_the_csrf_token_is_refused(browser_for: BrowserFactory) -> None:
    browser = browser_for("intake")
    assert browser.post("/logout", with_csrf=False).status_code == 403
    assert browser.get("/intake").status_code == 200


def test_menu_shows_each_role_only_the_screens_it_may_use(browser_for: BrowserFactory) -> None:
    intake = browser_for("intake").get("/intake").text
    radiologist = browser_for("radiologist").get("/protocoling").text
    assert 'href="/intake"' in intake and 'href="/protocoling"' not in intake
    assert 'href="/protocoling"' in radiologist and 'href="/intake"' not in radiologist
    assert 'href="/intake/referrals/new"' not in radiologist


def test_every_screen_sends_the_csrf_token_with_htmx_requests(browser_for: BrowserFactory) -> None:
    browser = browser_for("manager")
    page = browser.get("/board").text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{browser.csrf}"}}\'' in page


def test_screens_are_not_cached_framed_or_scripted_from_elsewhere(browser_for: BrowserFactory) -> None:
    response = browser_for("manager").get("/board")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_assets_are_served_from_the_package(app_client: TestClient) -> None:
    htmx = app_client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and htmx.headers["content-type"].startswith("text/javascript")
    assert app_client.get("/static/radflow.css").status_code == 200
    assert app_client.get("/static/..%2Fsignin.py").status_code == 404
