"""OpenTelemetry: one trace from POST /api/tasks through a separate worker process to the model and its tools.

The API runs here, tracing to the SDK's in-memory exporter; the worker is `python main.py worker`,
turned on by the standard variables (OTEL_TRACES_EXPORTER=console) and printing its spans to stderr,
which the test parses. The worker joins the API's trace through the context kept with the task.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import create_app, services
from telemetry import tracing

from .conftest import ROOT, TEST_API_KEY, Deployment, stop_processes
from .fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """This process traces to memory while the test runs."""
    memory = InMemorySpanExporter()
    tracing.setup([memory], batch=False, set_global=False)
    yield memory
    tracing.shutdown()


def console_spans(text: str) -> list[dict[str, Any]]:
    """The spans the console exporter printed (JSON objects, one after another)."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) != -1:
        try:
            span, at = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            at = start + 1
            continue
        spans.append(span)
    return spans


def test_one_trace_from_the_api_through_a_worker_process_to_the_model_and_a_tool(
        exporter: InMemorySpanExporter, fake_openai: FakeOpenAI, home: Path, sqlite_url: str,
        cli_env: dict[str, str]) -> None:
    provider = {"OPERATOROS_PROVIDER": "openai-chat", "OPENAI_BASE_URL": fake_openai.base_url,
                "OPENAI_API_KEY": "sk-test-tracing"}
    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      **provider})
    fake_openai.script(Reply.tool_call("list_market_data", {}), Reply.answer("AAPL fell 19.6% over the year."))
    response = app.test_client().post("/api/tasks", json={"input": "Analyze AAPL stock performance"}, headers=AUTH)
    assert response.status_code == 201
    task_id = response.get_json()["id"]
    (server_span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("POST")]
    trace_id = f"0x{server_span.context.trace_id:032x}"

    env = {**cli_env, **provider, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "operatoros-worker",
           "OTEL_BSP_SCHEDULE_DELAY": "50"}
    worker = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "worker"], env=env, cwd=str(ROOT),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        controller = services(app).controller
        deadline = time.monotonic() + 60
        while controller.queue.get(task_id)["status"] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert controller.queue.get(task_id)["status"] == "succeeded"
    finally:
        stop_processes([worker])
    out, err = worker.communicate()
    assert "Traceback" not in err, err[-3000:]
    assert not console_spans(out)  # spans go to stderr: stdout is for answers
    spans = {s["name"]: s for s in console_spans(err)}
    agent, chat = spans["invoke_agent financial"], spans["chat gpt-5-mini"]
    tool = spans["execute_tool list_market_data"]
    assert {agent["context"]["trace_id"], chat["context"]["trace_id"], tool["context"]["trace_id"]} == {trace_id}
    assert agent["resource"]["attributes"]["service.name"] == "operatoros-worker"
    assert chat["parent_id"] == tool["parent_id"] == agent["context"]["span_id"]
    assert chat["kind"] == "SpanKind.CLIENT"
    attributes = chat["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-5-mini"
    assert attributes["gen_ai.usage.input_tokens"] > 0 and attributes["gen_ai.usage.output_tokens"] > 0
    assert "gen_ai.input.messages" not in attributes  # content only on an explicit opt-in
    model_calls = [s for s in console_spans(err) if s["name"].startswith("chat ")]
    assert len(model_calls) == 2  # the tool call's round and the answer's
    call_id = fake_openai.model_requests()[1].body["messages"][-1]["tool_call_id"]
    assert tool["attributes"]["gen_ai.tool.name"] == "list_market_data"
    assert tool["attributes"]["gen_ai.tool.call.id"] == call_id
    assert agent["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert agent["attributes"]["operatoros.task.id"] == task_id
    assert agent["attributes"]["operatoros.safety.topic"] is not None or "operatoros.safety.short_circuit" in \
        agent["attributes"]


def test_a_healthcare_run_carries_the_safety_decision_and_triage_level(exporter: InMemorySpanExporter,
                                                                      home: Path, sqlite_url: str) -> None:
    from agent_pools import run_inline

    app = create_app({"OPERATOROS_HOME": str(home), "DATABASE_URL": sqlite_url, "OPERATOROS_API_KEY": TEST_API_KEY,
                      "OPERATOROS_PROVIDER": "local"})
    text = "crushing chest pain spreading to my jaw and I am sweating"
    task = app.test_client().post("/api/tasks", json={"input": text}, headers=AUTH).get_json()
    controller = services(app).controller
    assert run_inline(controller.queue, controller.executor, task["id"], task["pool"]) == "succeeded"
    spans = exporter.get_finished_spans()
    (agent,) = [s for s in spans if s.name == "invoke_agent healthcare"]
    (server,) = [s for s in spans if s.name.startswith("POST")]
    assert agent.context.trace_id == server.context.trace_id
    attributes = dict(agent.attributes or {})
    assert attributes["operatoros.triage.level"] == "emergency"
    assert attributes["operatoros.safety.short_circuit"] is True
    assert "gen_ai.input.messages" not in attributes


def test_with_tracing_off_the_cli_imports_no_opentelemetry(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "main.py"), "status"], env=env, cwd=str(ROOT),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert "telemetry.tracing" in imported  # our own small module (a few functions) is loaded...
    assert not [name for name in imported if name.startswith("opentelemetry")]  # ...the SDK is not


def test_the_environment_decides_whether_to_trace() -> None:
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})


def test_an_mcp_tool_call_is_a_span_the_task_s_work_joins(fake_openai: FakeOpenAI, cli_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    """`python main.py mcp` over stdio, driven by the SDK's client: the tools/call span (MCP conventions)
    is the root of the trace the submitted task's agent, model call and tool call join."""
    import asyncio

    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {**cli_env, "OPERATOROS_PROVIDER": "openai-chat", "OPENAI_BASE_URL": fake_openai.base_url,
           "OPENAI_API_KEY": "sk-test-tracing", "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50"}
    fake_openai.script(Reply.tool_call("list_market_data", {}), Reply.answer("AAPL fell 19.6% over the year."))
    errlog = tmp_path / "mcp-stderr.txt"

    async def scenario() -> dict[str, Any]:
        params = StdioServerParameters(command=sys.executable, args=[str(ROOT / "main.py"), "mcp"], env=env,
                                       cwd=str(ROOT))
        with errlog.open("w") as err:
            async with Client(stdio_client(params, errlog=err)) as client:
                result = await client.call_tool("submit_task", {"text": "Analyze AAPL stock performance",
                                                                "wait_seconds": 30})
                assert not result.is_error and result.structured_content is not None
                return result.structured_content

    task = asyncio.run(scenario())
    assert task["status"] == "succeeded"  # worked inline by the MCP process, stdout untouched by the spans
    spans = console_spans(errlog.read_text())
    names = {s["name"]: s for s in spans}
    call = names["tools/call submit_task"]
    assert call["kind"] == "SpanKind.SERVER" and call["parent_id"] is None
    assert call["attributes"]["mcp.method.name"] == "tools/call"
    assert call["attributes"]["gen_ai.operation.name"] == "execute_tool"
    assert call["attributes"]["gen_ai.tool.name"] == "submit_task"
    assert call["attributes"]["network.transport"] == "pipe"
    joined = [names[n] for n in ("invoke_agent financial", "chat gpt-5-mini", "execute_tool list_market_data")]
    assert {s["context"]["trace_id"] for s in joined} == {call["context"]["trace_id"]}
    assert joined[0]["attributes"]["operatoros.task.id"] == task["id"]


def test_a_celery_worker_s_spans_join_the_trace_the_task_was_submitted_under(
        exporter: InMemorySpanExporter, deployment: Deployment) -> None:
    """Real Redis and a real `main.py worker` (Celery prefork child): the message carries the trace context
    in its headers, Celery's instrumentation makes the run span from them, and invoke_agent hangs from it."""
    deployment.env.update(OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="operatoros-celery",
                          OTEL_BSP_SCHEDULE_DELAY="50")
    worker = deployment.start_worker("--pools", "general", "--no-beat")
    deployment.wait_node(worker, "general", lambda n: n["processes"] >= 1)
    with tracing.span("POST /api/tasks") as request:
        task = deployment.queue.submit("general", "traced work")
    deployment.wait_finished(1, timeout=60)
    log = deployment.logs / "worker-0.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "invoke_agent general" not in log.read_text(errors="replace"):
        time.sleep(0.1)
    spans = {s["name"]: s for s in console_spans(log.read_text(errors="replace")) if "name" in s}
    run, agent = spans["run/operatoros.run_task"], spans["invoke_agent general"]
    trace_id = f"0x{request.get_span_context().trace_id:032x}"
    assert run["context"]["trace_id"] == agent["context"]["trace_id"] == trace_id
    assert run["parent_id"] == f"0x{request.get_span_context().span_id:016x}"  # from the message's headers
    assert agent["parent_id"] == run["context"]["span_id"]  # and the agent inside Celery's run span
    assert run["kind"] == "SpanKind.CONSUMER"
    assert agent["attributes"]["operatoros.task.id"] == task["id"]
    assert agent["resource"]["attributes"]["service.name"] == "operatoros-celery"
