"""Observability helpers: OpenTelemetry tracing (tracing.py) and a task's life as events (events.py)."""
