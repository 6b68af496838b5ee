"""Schemathesis against /api/openapi.json on the WSGI app: no server error, no response off-schema."""
from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api import schemas
from app import create_app, services

from . import fixtures
from .conftest import ROOT, TEST_API_KEY

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}

# Schemathesis binds the app when the schema is loaded, at collection; the app gets a folder of its own,
# removed when the session ends even if no test of this module ran (deselected, -k, -m). Its lazy loader,
# schemathesis.pytest.from_fixture, would build it in a fixture instead, but fails under pytest 9
# ('Function' object has no attribute '_nodeid', schemathesis 4.32.5).
_HOME = Path(tempfile.mkdtemp(prefix="oos-schema-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
_APP: Flask = create_app({"OPERATOROS_HOME": str(_HOME), "DATABASE_URL": f"sqlite:///{_HOME / 'api.db'}",
                          "OPERATOROS_API_KEY": TEST_API_KEY, "EXECUTOR": fixtures.echo,
                          "OPERATOROS_RATE_LIMIT": "100000 per minute",
                          "OPERATOROS_AUTH_FAILURE_LIMIT": "100000 per minute"})
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


def test_the_document_is_valid_under_the_openapi_3_1_schema() -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator

    document = _APP.test_client().get("/api/openapi.json", headers=AUTH).get_json()
    assert [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()] == []


def test_every_operation_is_named_and_every_answer_typed_for_client_generators() -> None:
    document = _APP.test_client().get("/api/openapi.json", headers=AUTH).get_json()
    schemas = document["components"]["schemas"]
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) for name in schemas), sorted(schemas)
    assert {"TaskOut", "ErrorBody", "ErrorObject", "PoolOut", "StatusOut", "HealthMetrics", "RunOut", "StepOut"} <= set(
        schemas)  # nested models are components of their own, not copies per parent
    operations = [op for item in document["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z]+(_[a-z]+)*", i) for i in ids), ids
    assert {"submit_task", "get_task", "list_tasks", "cancel_task", "scale_pool", "get_status", "get_health",
            "create_workflow", "start_workflow_run"} <= set(ids)
    for op in operations:
        assert op["tags"] and op["responses"], op["operationId"]
        for status, answer in op["responses"].items():
            content = answer.get("content", {})
            assert content, f"{op['operationId']} {status} has no body schema"
            if status.startswith(("4", "5")) and op["operationId"] != "get_readiness":
                assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
        if op["operationId"] != "get_health":
            assert {"400", "401", "404", "429", "500"} <= set(op["responses"]), op["operationId"]


def test_the_document_version_is_the_project_version() -> None:
    document = _APP.test_client().get("/api/openapi.json", headers=AUTH).get_json()
    with (ROOT / "pyproject.toml").open("rb") as file:
        assert document["info"]["version"] == tomllib.load(file)["project"]["version"]


def test_two_schemas_of_one_name_are_refused() -> None:
    from pydantic import BaseModel

    from api.openapi import component_name

    class TaskOut(BaseModel):  # the same name as api.schemas.TaskOut, another class
        pass

    assert component_name(schemas.TaskOut) == "TaskOut"
    with pytest.raises(ValueError, match="Two schemas are named 'TaskOut'"):
        component_name(TaskOut)


CHECKED_AGAINST_THE_WORKFLOW = {("POST", "/api/workflows/{workflow_id}/runs"),
                                ("PUT", "/api/workflows/{workflow_id}/schedule"),
                                ("POST", "/api/pools/{name}/scale")}
"""Bodies valid by the schema that stored state can still refuse: the inputs a workflow requires, a
schedule written in words that cannot be read, and a size outside the pool's own stored bounds (each
pool's min and max, which an admin may change: the schema can only say 0 to 1000)."""


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_schema(case) -> None:  # type: ignore[no-untyped-def]
    state_checked = (case.method.upper(), case.path) in CHECKED_AGAINST_THE_WORKFLOW
    excluded = [positive_data_acceptance] if state_checked else []
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        # The case broke its headers (a missing or mangled Authorization), and AUTH below puts a valid key
        # back: the request sent is not the negative one, so its acceptance proves nothing.
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers=AUTH, excluded_checks=excluded or None)


def test_a_query_parameter_given_twice_is_refused() -> None:
    """Schemathesis sent ?limit=18&limit=3 (an array where the schema says one integer); Flask read the first."""
    for path in ("/api/workflows?limit=18&limit=3", "/api/tasks?status=queued&status=failed"):
        response = _APP.test_client().get(path, headers=AUTH)
        assert response.status_code == 400, path
        assert "given more than once" in response.get_json()["error"]["message"]
