"""Fixtures for the screens: the whole app on a fresh database, and users signed in through the form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_support import Browser, BrowserFactory

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory


@pytest.fixture
def app_client(radflow: Radflow) -> TestClient:
    """A client of the whole app (screens included)."""
    return TestClient(create_app(radflow), base_url="http://testserver")


@pytest.fixture
def browser_for(radflow: Radflow, make_user: UserFactory) -> BrowserFactory:
    """Make a user with a role and sign them in through the form: a fresh client each."""

    def make(role: str, **kwargs: object) -> Browser:
        user = make_user(role, **kwargs)
        client = TestClient(create_app(radflow), base_url="http://testserver")
        return Browser(client, user.principal, user.password).sign_in()

    return make


