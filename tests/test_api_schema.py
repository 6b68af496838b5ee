"""Schemathesis against /api/openapi.json on the WSGI app: no server error, no response off-schema."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app, services

from . import fixtures
from .conftest import TEST_API_KEY

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}

# Schemathesis binds the app when the schema is loaded, at collection; the app gets a folder of its own.
_HOME = Path(tempfile.mkdtemp(prefix="oos-schema-"))
_APP: Flask = create_app({"OPERATOROS_HOME": str(_HOME), "DATABASE_URL": f"sqlite:///{_HOME / 'api.db'}",
                          "OPERATOROS_API_KEY": TEST_API_KEY, "EXECUTOR": fixtures.echo,
                          "OPERATOROS_RATE_LIMIT": "100000 per minute"})
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _APP, headers=AUTH)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    services(_APP).controller.stop_pools()
    services(_APP).engine.dispose()
    shutil.rmtree(_HOME, ignore_errors=True)


def test_the_served_document_is_openapi_3_1() -> None:
    document = _APP.test_client().get("/api/openapi.json", headers=AUTH).get_json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/tasks", "/api/command", "/api/pools/{name}/scale"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


CHECKED_AGAINST_THE_WORKFLOW = {("POST", "/api/workflows/{workflow_id}/runs"),
                                ("PUT", "/api/workflows/{workflow_id}/schedule")}
"""Bodies valid by the schema that the workflow itself can still refuse with a 400: the inputs it
requires, and a schedule written in words that cannot be read (no JSON Schema can say either)."""


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_schema(case) -> None:  # type: ignore[no-untyped-def]
    state_checked = (case.method.upper(), case.path) in CHECKED_AGAINST_THE_WORKFLOW
    case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance] if state_checked else None)
