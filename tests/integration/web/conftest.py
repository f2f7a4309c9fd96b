"""Fixtures for the screens: the whole app on a fresh database, and users signed in through the form."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import Browser, BrowserFactory

from radflow.bootstrap import Radflow
from radflow.entrypoints.api.app import create_app
from radflow_test_support import UserFactory


@pytest.fixture
def app(radflow: Radflow) -> FastAPI:
    """The whole app (screens included) around the test's radflow."""
    return create_app(radflow)


@pytest.fixture
def app_client(app: FastAPI) -> TestClient:
    """A client of the whole app, not signed in."""
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def browser_for(app: FastAPI, make_user: UserFactory) -> BrowserFactory:
    """Make a user with a role and sign them in through the form: a fresh client each."""

    def make(role: str, **kwargs: object) -> Browser:
        user = make_user(role, **kwargs)
        client = TestClient(app, base_url="http://testserver")
        return Browser(client, user.principal, user.password).sign_in()

    return make


