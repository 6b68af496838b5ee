"""OpenTelemetry tracing under the GenAI semantic conventions: off unless OTEL_* variables turn it on.

Importing this module costs nothing: the opentelemetry packages are imported by `setup` only, which
the front doors call when `wanted()` says the environment asks for traces (OTEL_TRACES_EXPORTER=otlp
or console, or an OTEL_EXPORTER_OTLP_ENDPOINT). Until then every helper here is a no-op. Spans:
`invoke_agent {agent}` (the worker's run of a task), `chat {model}` (one model call) and
`execute_tool {tool}`, with the `gen_ai.*` attributes; message content only when
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true. A task keeps the trace context it was
submitted under (`carrier()`), so the process that works it joins the same trace (`parent=`).
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""Set to true to put prompts and answers on spans (off by default: they may hold personal data)."""

DEFAULT_SERVICE_NAME = "operatoros"
"""service.name when OTEL_SERVICE_NAME is not set."""

EXCLUDED_URLS = "api/health,metrics"
"""Probes and scrapes the Flask instrumentation does not trace."""

_tracer: Any = None
_provider: Any = None


def wanted(environ: Mapping[str, str] | None = None) -> bool:
    """True when the standard OTEL_* variables ask for traces (and OTEL_SDK_DISABLED does not forbid them)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup_from_env(service_name: str = DEFAULT_SERVICE_NAME) -> bool:
    """Turn tracing on as the OTEL_* variables say (once per process); False when they do not ask for it."""
    if _tracer is not None:
        return True
    if not wanted():
        return False
    names = [n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    exporters = [_exporter(name) for name in names if name != "none"]
    setup([e for e in exporters if e is not None], service_name=os.environ.get("OTEL_SERVICE_NAME") or service_name)
    return True


def setup(exporters: Sequence[Any], *, service_name: str = DEFAULT_SERVICE_NAME, batch: bool = True,
          set_global: bool = True) -> Any:
    """Trace to `exporters` (SDK SpanExporters) from now on; returns the TracerProvider.

    Tests pass an InMemorySpanExporter with batch=False (each span exported as it ends) and
    set_global=False (the process's global provider, settable once, is left alone).
    """
    global _tracer, _provider
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    _provider, _tracer = provider, provider.get_tracer("operatoros")
    return provider


def shutdown() -> None:
    """Flush and stop tracing; the helpers are no-ops again."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    """True while spans are being recorded."""
    return _tracer is not None


def content_enabled() -> bool:
    """True when message content may go on spans (an explicit opt-in)."""
    return enabled() and os.environ.get(CONTENT_VARIABLE, "").strip().lower() in ("1", "true", "yes")


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None, *, parent: Mapping[str, str] | None = None,
         client: bool = False) -> Iterator[Any]:
    """A span around the block (None when tracing is off); `parent` is a carrier from `carrier()`.

    With a `parent`, the span hangs from the current span when that one is already in the parent's
    trace (a Celery worker's run span, started from the message's headers), else from the parent's.
    """
    if _tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    context = None
    if parent:
        from opentelemetry import trace
        from opentelemetry.propagate import extract

        context = extract(dict(parent))
        current = trace.get_current_span().get_span_context()
        if current.is_valid and current.trace_id == trace.get_current_span(context).get_span_context().trace_id:
            context = None
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with _tracer.start_as_current_span(name, context=context, attributes=attrs,
                                       kind=SpanKind.CLIENT if client else SpanKind.INTERNAL) as current:
        yield current


def annotate(target: Any, attributes: Mapping[str, Any]) -> None:
    """Set attributes (None values skipped) on `target`, a span from `span()`, or on the current span when
    `target` is None and tracing is on."""
    if _tracer is None:
        return
    if target is None:
        from opentelemetry import trace

        target = trace.get_current_span()
    for key, value in attributes.items():
        if value is not None:
            target.set_attribute(key, value)


def carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (traceparent, tracestate) to keep with a task; None when off."""
    if _tracer is None:
        return None
    from opentelemetry.propagate import inject

    headers: dict[str, str] = {}
    inject(headers)
    return headers or None


def messages_attribute(role: str, text: str) -> str:
    """One message as the GenAI conventions' JSON of gen_ai.input.messages / gen_ai.output.messages."""
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def instrument_flask(app: Any) -> None:
    """Trace each request of `app` (a server span the rest of the request's spans hang from), when on."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=EXCLUDED_URLS)


def instrument_celery() -> None:
    """Trace Celery's publishing and running of messages, when on."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    CeleryInstrumentor().instrument(tracer_provider=_provider)


def _exporter(name: str) -> Any:
    if name == "console":
        import sys

        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # stderr: stdout is the answer (`--json` prints one object there) or MCP's stdio channel.
        return ConsoleSpanExporter(out=sys.stderr)
    if name == "otlp":
        # HTTP/protobuf: the exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    logger.warning("OTEL_TRACES_EXPORTER=%s is not supported here (use otlp or console); ignored", name)
    return None
