"""A browser-like client for the screen tests of the reporting and results areas: signed in through the form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from radflow_test_support import UserFactory

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Person:
    """A browser signed in through the login form."""

    client: TestClient
    csrf: str = ""

    def get(self, url: str) -> Response:
        """Open a page (following redirects) and keep the CSRF token its forms carry."""
        page = self.client.get(url, follow_redirects=True)
        found = _CSRF.search(page.text)
        self.csrf = found.group(1) if found else self.csrf
        return page

    def post(self, url: str, data: dict[str, str | list[str]]) -> Response:
        """Post a form as the page posts it (with the CSRF token), without following the redirect."""
        return self.client.post(url, data={**data, "csrf_token": self.csrf}, follow_redirects=False)


def signed_in(app: FastAPI, make_user: UserFactory, role: str, **kwargs: object) -> Person:
    """A new user of the role, signed in through the login form."""
    user = make_user(role, **kwargs)
    client = TestClient(app, base_url="http://testserver")
    login = client.get("/login")
    token = _CSRF.search(login.text)
    assert token
    answer = client.post("/login", data={"username": user.principal.username, "password": user.password,
                                         "csrf_token": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return Person(client)
