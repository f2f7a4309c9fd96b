"""Through the screens: after booking, the preparation and the reminders are on the board with their status;
the patient's answers are recorded; a missed appointment goes to the rescheduling queue and back."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from reminders_world import add_patient, add_ready_order, book, ny, seed_capacity

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow.entrypoints.worker import work_once
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Screen:
    """A browser signed in through the login form."""

    def __init__(self, radflow: Radflow, username: str, password: str) -> None:
        self.client = TestClient(create_app(radflow), base_url="http://testserver")
        self.username, self.password = username, password
        self.csrf = ""
        self.sign_in()

    def sign_in(self) -> None:
        """Through the form (again after the clock jumped past the idle timeout)."""
        login = self.client.get("/login")
        answer = self.client.post("/login", data={"username": self.username, "password": self.password,
                                                  "csrf_token": CSRF.search(login.text).group(1)},  # type: ignore[union-attr]
                                  follow_redirects=False)
        assert answer.status_code == 303

    def get(self, url: str) -> str:
        page = self.client.get(url)
        assert page.status_code == 200, page.text[:500]
        found = CSRF.search(page.text)
        self.csrf = found.group(1) if found else self.csrf
        return page.text

    def post(self, url: str, data: dict[str, str | list[str]]) -> tuple[int, str]:
        answer = self.client.post(url, data={**data, "csrf_token": self.csrf}, follow_redirects=False)
        return answer.status_code, answer.headers.get("location", answer.text)


def test_booked_on_the_scheduling_screen_the_preparation_and_reminders_go_out_and_a_missed_visit_is_rescheduled(
        radflow: Radflow, clock: FakeClock, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    patient_id = add_patient(radflow)
    order_id = add_ready_order(radflow, patient_id)
    scheduler_user, desk_user = make_user("scheduler"), make_user("front_desk")
    scheduler = Screen(radflow, scheduler_user.principal.username, scheduler_user.password)
    options = scheduler.get(f"/scheduling/orders/{order_id}")
    assert f'action="/scheduling/orders/{order_id}/book"' in options and 'name="scanner_id" value="MR1"' in options
    # The patient asks for Tuesday 10 March at 09:00; the booking form takes any time the scanner is free.
    visit_day = ny(10, 9)
    status, _ = scheduler.post(f"/scheduling/orders/{order_id}/book",
                               {"scanner_id": "MR1", "start": visit_day.isoformat()})
    assert status == 303
    desk = Screen(radflow, desk_user.principal.username, desk_user.password)
    board = desk.get("/reminders")
    assert 'href="/reminders"' in board and board.count("Planned") >= 2
    while work_once(radflow, "w1"):
        pass
    visit = desk.get(f"/orders/{order_id}/messages")
    assert visit.count('state-sent') == 2 and visit.count('state-planned') >= 1, "preparation out, reminders due"
    assert "Please arrive at" in visit and "letter.pdf" in visit
    for day in range(3, 10):  # the worker at 10:05 each morning until the visit
        clock.set(ny(day, 10, 5))
        while work_once(radflow, "w1"):
            pass
    desk.sign_in()
    visit = desk.get(f"/orders/{order_id}/messages")
    assert "state-planned" not in visit and visit.count("state-sent") >= 3
    assert desk.client.get(f"/orders/{order_id}/messages/letter.pdf").content.startswith(b"%PDF-")
    status, where = desk.post(f"/orders/{order_id}/messages/response", {"kind": "confirmed", "via": "phone"})
    assert status == 303 and "Confirmed via phone" in desk.get(where)

    status, page = desk.post(f"/orders/{order_id}/no-show", {"note": "no answer"})
    assert status == 409 and "only once it has begun" in page
    clock.set(visit_day + timedelta(minutes=40))
    desk.sign_in()
    desk.get(f"/orders/{order_id}/messages")
    status, where = desk.post(f"/orders/{order_id}/no-show", {"note": "no answer"})
    assert (status, where) == (303, "/reminders#missed")
    queue = desk.get("/reminders")
    assert f'action="/orders/{order_id}/return-to-scheduling"' in queue
    status, where = desk.post(f"/orders/{order_id}/return-to-scheduling", {"note": "rebook"})
    assert status == 303
    with radflow.uow() as uow:
        assert uow.orders.get(order_id).state.value == "ready_to_schedule"


def test_withdrawing_text_consent_on_the_contact_screen_stops_the_reminders_at_once(
        radflow: Radflow, make_user: UserFactory) -> None:
    seed_capacity(radflow)
    patient_id = add_patient(radflow)
    order_id = add_ready_order(radflow, patient_id)
    book(radflow, order_id, ny(10, 9))
    desk_user = make_user("front_desk")
    desk = Screen(radflow, desk_user.principal.username, desk_user.password)
    contact = desk.get(f"/patients/{patient_id}/contact")
    assert "+15550101001" in contact and "FCC 15-72" in contact
    status, _ = desk.post(f"/patients/{patient_id}/contact/revoke", {"channel": ["sms", "voice"], "how": ""})
    assert status == 422
    status, _ = desk.post(f"/patients/{patient_id}/contact/revoke", {"channel": ["sms", "voice"],
                                                                      "how": "patient called the desk"})
    assert status == 303
    visit = desk.get(f"/orders/{order_id}/messages")
    assert visit.count("state-suppressed") == 3 and "patient called the desk" in visit
    assert "Messages go to: <strong>email</strong>" in desk.get(f"/patients/{patient_id}/contact")
