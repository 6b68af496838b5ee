"""OperatorOS command line: `python main.py "<request>"`, an interactive session, `serve` and `worker`."""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MISSING_DEPENDENCY = ("OperatorOS cannot load the {name!r} package. Run it with the virtual environment's "
                      "Python (.venv/bin/python main.py ..., or `. .venv/bin/activate` first); install the "
                      "dependencies with .venv/bin/pip install -r requirements.txt.")
"""What a user sees when a dependency is missing, typically when main.py runs on the system python."""


def _failed(error: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The reply (the JSON contract's object) of a request that failed with `error` {code, message}."""
    return {"ok": False, "intent": "", "args": {}, "response": error.get("message", ""), "data": {},
            "session_id": options.get("session_id"), "user": options.get("user"), "error": error}


try:
    import click
except ModuleNotFoundError as _missing:  # before click can parse anything: honour --json by hand
    _message = MISSING_DEPENDENCY.format(name=_missing.name)
    if "--json" in sys.argv[1:]:
        print(json.dumps(_failed({"code": "missing_dependency", "message": _message}, {})))
        sys.exit(1)
    sys.exit(f"error: {_message}")

logger = logging.getLogger("operatoros")

DEFAULT_PORT = 8000
"""Port of `serve` when --port is not given."""

ADMIN_KEY_FILE = "admin_api_key"
"""File in the instance folder holding the admin key that the first `serve` creates."""

MENU = (
    ("Show me the system status", "status"),
    ("How healthy is the system?", "health"),
    ("Show the agent pools", "pools"),
    ("help", "what can I ask?"),
)
"""Numbered shortcuts of the interactive session."""

PROGRESS_DELAY_SECONDS = 0.5
"""Work shorter than this shows no progress line."""


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Characters stripped from text replies: a stored message must not drive the terminal (escape sequences)."""

SIGN_IN_KEY_ENV = "OPERATOROS_SIGN_IN_KEY"
"""Environment variable `main.py login NAME` reads the key from (else stdin, hidden on a terminal)."""


_NEGATIVE_TEXT = re.compile(r"-[\d.(]")
"""An argument starting like '-3', '-.5' or '-(': a request, not an option."""


class _RequestGroup(click.Group):
    """A group whose unknown first word is a request, not an error: `main.py "show status"`."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        """Click's main; with --json a usage error prints the JSON contract's object (exit 2)."""
        # A request that starts like a negative number ("-3^2") is text, not an option.
        argv = [f" {arg}" if _NEGATIVE_TEXT.match(arg) else arg for arg in (sys.argv[1:] if args is None else args)]
        args = argv
        if "--json" not in argv:
            return super().main(args, prog_name, **extra)
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(json.dumps(_failed({"code": "usage_error", "message": exc.format_message()}, {})))
            sys.exit(2)
        except click.Abort:
            sys.exit(1)
        sys.exit(code or 0)

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        if args and args[0] in self.commands:
            return super().resolve_command(ctx, args)
        return "ask", self.commands["ask"], args


def _request_options(func):  # type: ignore[no-untyped-def]
    options = [
        click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object."),
        click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing."),
        click.option("--background", is_flag=True, help="Queue a task and answer with its id at once."),
        click.option("--follow", is_flag=True,
                     help="Show the task's events live (claimed, provider and tool calls, retries) until its answer."),
        click.option("--user", default=None, help="Whose conversation (default: OPERATOROS_USER or the OS user)."),
        click.option("--session", "session_id", default=None,
                     help="Conversation session id (default: latest; 'new' starts a fresh one)."),
        click.option("--api", "api_url", default=None, envvar="OPERATOROS_API_URL",
                     help="Send the request to a running server at this URL."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=_RequestGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@_request_options
@click.pass_context
def cli(ctx: click.Context, **options: Any) -> None:
    """OperatorOS: ask in plain words, e.g.  python main.py "Show me the system status"."""
    _configure_logging()
    if any(name.startswith("OTEL_") for name in os.environ):  # else not even the tracing module is loaded
        from telemetry import tracing

        tracing.setup_from_env()
    ctx.obj = options
    if ctx.invoked_subcommand is None:
        sys.exit(_interactive(options))


@cli.command("ask", hidden=True)
@click.argument("words", nargs=-1, required=True)
@_request_options
@click.pass_context
def ask(ctx: click.Context, words: tuple[str, ...], **options: Any) -> None:
    """Answer one request."""
    merged: dict[str, Any] = {k: v or (ctx.obj or {}).get(k) for k, v in options.items()}
    text = " ".join(words).strip()
    if not text:
        raise click.UsageError("Give a request, e.g. python main.py \"Show me the system status\".")
    with _progress(enabled=not merged["as_json"] and sys.stderr.isatty() and not merged["follow"]):
        reply = _answer(text, merged)
    task = (reply.get("data") or {}).get("task")
    if reply.get("ok") and task and (merged["follow"] or (reply.get("args") or {}).get("follow")):
        reply = _follow(reply, task, merged)
        if not merged["as_json"]:
            sys.exit(0 if reply.get("ok") else 1)
    _print_reply(reply, merged["as_json"])
    sys.exit(_exit_code(reply))


FOLLOW_SECONDS = 300.0
"""Longest `follow task N` watches a task before it stops (the task goes on; follow it again)."""


def _follow(reply: dict[str, Any], task: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Show a task's events as they come and end with its answer; with --json, the reply gains data.events."""
    as_json = bool(options.get("as_json"))
    status_line = not as_json and _is_terminal(sys.stderr)
    if not as_json:
        click.echo(f"Following task {task['id']} ({task['pool']} pool):")
    events: list[dict[str, Any]] = []
    try:
        drafted = 0
        for event in _task_events(task["id"], options):
            events.append(event)
            if as_json:
                pass
            elif event["kind"] == "text":  # a draft, never printed as the answer (that comes at the end)
                drafted = _show_draft(event, status_line, drafted)
            else:
                _show_event(event, status_line)
            if event["kind"] == "waiting":
                break
        final = _final_task(task["id"], options)
    except Exception as exc:  # the stream or the server went away: say so, never a traceback
        logger.debug("follow failed", exc_info=True)
        failed = _error_reply(exc, options)
        if not as_json:
            click.echo(failed["response"])
        return failed
    if status_line:
        click.echo("\r" + " " * STATUS_LINE_WIDTH + "\r", err=True, nl=False)
    ok = final["status"] == "succeeded"
    if not as_json:
        result = final.get("result") or {}
        if ok:
            click.echo("\n" + str(result.get("text") or result))
        elif final["status"] in ("failed", "cancelled"):
            click.echo(f"\nTask {final['id']} {final['status']}: {final.get('error') or ''}".rstrip())
        else:
            click.echo(f"\nTask {final['id']} is still {final['status']}; follow it again with "
                       f"python main.py \"follow task {final['id']}\".")
    data = {**(reply.get("data") or {}), "task": final, "events": events}
    # Still running when the watch ended is no failure; queued with nothing to work it is.
    return {**reply, "ok": ok or final["status"] == "running", "data": data}


def _task_events(task_id: int, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The task's events as they are recorded: in-process from the database, or the API's event stream."""
    if options.get("api_url"):
        yield from _stream_over_http(task_id, options)
        return
    svc = _local_services()
    caller = svc.conversations.local_caller(options.get("user") or svc.settings.user)
    svc.controller.get_task(caller, task_id)
    yield from svc.controller.follow_events(task_id, seconds=FOLLOW_SECONDS)


def _stream_over_http(task_id: int, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    import requests

    url = f"{options['api_url'].rstrip('/')}/api/tasks/{task_id}/events"
    headers = {"Accept": "text/event-stream", **_auth_header()}
    with requests.get(url, headers=headers, params={"seconds": FOLLOW_SECONDS}, stream=True,
                      timeout=(10, FOLLOW_SECONDS + 30)) as response:
        if response.status_code != 200:
            from errors import ServiceUnavailable

            raise ServiceUnavailable(f"The API answered HTTP {response.status_code} for task {task_id}'s events.")
        for line in response.iter_lines(decode_unicode=True):
            if line and line.startswith("data: "):
                yield json.loads(line[6:])


def _final_task(task_id: int, options: dict[str, Any]) -> dict[str, Any]:
    if options.get("api_url"):
        import requests

        response = requests.get(f"{options['api_url'].rstrip('/')}/api/tasks/{task_id}", headers=_auth_header(),
                                timeout=30)
        return response.json()  # type: ignore[no-any-return]
    svc = _local_services()
    caller = svc.conversations.local_caller(options.get("user") or svc.settings.user)
    return svc.controller.get_task(caller, task_id)  # type: ignore[no-any-return]


def _auth_header() -> dict[str, str]:
    key = os.environ.get("OPERATOROS_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _show_event(event: dict[str, Any], status_line: bool) -> None:
    """One event as a line on stdout; on a terminal, a progress line on stderr under it."""
    data = event.get("data") or {}
    kind = event["kind"]
    when = str(event.get("at") or "")[11:19]
    described = {
        "queued": lambda: f"queued in the {data.get('pool')} pool",
        "claimed": lambda: (f"claimed by worker {data.get('worker')} on {data.get('process')} "
                            f"(attempt {data.get('attempt')}/{data.get('max_attempts')})"),
        "safety": lambda: (f"safety: {', '.join(data.get('flags') or []) or 'no flags'}"
                           + (f", triage {data['triage']}" if data.get("triage") else "")),
        "provider_call": lambda: (f"{data.get('provider')} {data.get('model')}: {data.get('outcome')}, "
                                  f"{data.get('tokens_in')} in / {data.get('tokens_out')} out tokens, "
                                  f"{data.get('latency_ms')} ms"),
        "tool_call": lambda: f"tool {data.get('tool')} ({'ok' if data.get('ok') else data.get('error')})",
        "retry": lambda: f"retry after: {data.get('error')} (in {data.get('delay_seconds')} s)",
        "succeeded": lambda: f"succeeded ({data.get('provider')})",
        "failed": lambda: f"failed: {data.get('error')}",
        "cancelled": lambda: f"cancelled: {data.get('error')}",
        "waiting": lambda: str(data.get("message")),
    }.get(kind, lambda: kind)()
    if status_line:
        click.echo("\r" + " " * STATUS_LINE_WIDTH + "\r", err=True, nl=False)
    click.echo(f"  {when} {described}" if when else f"  {described}")
    if status_line and kind not in ("succeeded", "failed", "cancelled", "waiting"):
        click.echo(f"\r... task {event.get('task_id')}: {kind.replace('_', ' ')}, waiting for the next step",
                   err=True, nl=False)


DRAFT_TAIL_CHARS = 40
"""How much of the draft's latest text the progress line shows."""

STATUS_LINE_WIDTH = 100
"""Widest progress line `follow` writes on stderr (cleared with as many spaces)."""


def _show_draft(event: dict[str, Any], status_line: bool, drafted: int) -> int:
    """The model's text as it streams: on a terminal, the progress line shows the draft's latest words
    (a draft: the guarded answer is printed at the end); elsewhere, one line when the writing starts.
    Returns how many draft events have been shown."""
    data = event.get("data") or {}
    if status_line:
        tail = " ".join(str(data.get("text") or "").split())[-DRAFT_TAIL_CHARS:]
        click.echo("\r" + " " * STATUS_LINE_WIDTH + "\r", err=True, nl=False)
        line = (f"... task {event.get('task_id')}: the model is writing ({data.get('chars')} chars, draft)"
                + (f": ...{tail}" if tail else ""))
        click.echo("\r" + line[:STATUS_LINE_WIDTH], err=True, nl=False)
    elif not drafted:
        when = str(event.get("at") or "")[11:19]
        click.echo(f"  {when} the model is writing (a draft; the answer follows when it is done)")
    return drafted + 1


_executor_option = click.option(
    "--executor", default=None, metavar="MODULE:FUNCTION",
    help="Advanced: work tasks with this function instead of the domain agents.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@_executor_option
def serve(host: str, port: int, executor: str | None) -> None:
    """Run the API server and this machine's pool workers."""
    from werkzeug.serving import make_server

    app = _build_app_or_exit(executor)
    key_note = _ensure_admin_key(app)
    if key_note:
        click.echo(key_note, err=True)
    controller = _controller(app)
    workers = ("with pool workers" if controller.start_pools()
               else f"({controller.backend.name} backend: workers run `main.py worker`)")
    import health_monitor

    health = health_monitor.HealthLoop(controller.engine, controller.health, controller.sweep_stuck_tasks)
    health.start()
    retention = _start_retention(controller.engine)
    # Fires cron schedules and drives runs, resuming those a crashed process left; safe beside other loops.
    controller.workflows.start()
    server = make_server(host, port, app, threaded=True, request_handler=_request_handler())
    _stop_on_sigterm()
    click.echo(f"OperatorOS API listening on http://{host}:{server.port}/api {workers}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        controller.workflows.stop()
        health.stop()
        retention.stop()
        click.echo("Draining agents (busy ones finish their task)...", err=True)
        controller.stop_pools()


@cli.command("mcp")
def mcp_command() -> None:
    """Serve MCP over stdio (for Claude Code, Codex, Cursor...) as the local operator, as the CLI acts."""
    from mcp_server import run_stdio

    svc = _services_or_exit()
    run_stdio(svc, svc.settings.user)


@cli.command()
@_executor_option
@click.option("--pools", "pool_names", default=None, metavar="POOL,POOL",
              help="Celery backend: the pools this machine serves (default: all five).")
@click.option("--beat/--no-beat", default=True, show_default=True,
              help="Celery backend: also run Celery beat (lease sweeps, workflow schedules).")
def worker(executor: str | None, pool_names: str | None, beat: bool) -> None:
    """Run pool workers only: they work the queue shared through DATABASE_URL (and REDIS_URL with Celery)."""
    import threading

    pools = _pool_names(pool_names)  # bad input is refused before anything is built or connected
    svc = _services_or_exit(executor)  # workers serve no HTTP: no Flask app
    if svc.settings.task_backend == "celery":
        sys.exit(_celery_worker(svc, executor, pools, beat))
    if pool_names is not None:
        raise click.UsageError("--pools is for TASK_BACKEND=celery; local workers serve every pool.")
    controller = svc.controller
    process = controller.start_pools()
    controller.workflows.start()  # with Celery, beat ticks the workflows instead (see _celery_worker)
    retention = _start_retention(controller.engine)
    _stop_on_sigterm()
    click.echo(f"OperatorOS worker {process or ''} started; Ctrl-C to stop.", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.workflows.stop()
        retention.stop()
        click.echo("Draining agents (busy ones finish their task)...", err=True)
        controller.stop_pools()


def _start_retention(engine):  # type: ignore[no-untyped-def]
    """Apply the retention policy (OPERATOROS_RETENTION_*_DAYS) in the background, in small batches."""
    from errors import BadRequest
    from storage.retention import RetentionLoop, RetentionPolicy

    try:
        policy = RetentionPolicy.from_env()
    except BadRequest as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    loop = RetentionLoop(engine, policy)
    loop.start()
    return loop


def _pool_names(pool_names: str | None) -> tuple[str, ...]:
    """The pools of `--pools POOL,POOL` (all five when not given); a usage error names the unknown ones."""
    from values import POOL_NAMES

    pools = tuple(p.strip() for p in (pool_names or ",".join(POOL_NAMES)).split(",") if p.strip())
    unknown = [p for p in pools if p not in POOL_NAMES]
    if unknown or not pools:
        raise click.BadParameter(f"pools are {', '.join(POOL_NAMES)}; not {', '.join(unknown) or 'none'}",
                                 param_hint="--pools")
    return pools


def _celery_worker(svc: Any, executor: str | None, pools: tuple[str, ...], beat: bool) -> int:
    """One Celery worker node per pool (plus the ops node with beat) until SIGTERM or Ctrl-C."""
    from backends.celery_queue import run_workers

    click.echo(f"OperatorOS Celery workers for {', '.join(pools)} starting"
               f"{' with beat' if beat else ''}; Ctrl-C to stop.", err=True)
    code = run_workers(svc.settings, svc.engine, executor=executor, pools=pools, beat=beat,
                       loglevel="INFO" if os.environ.get("OPERATOROS_DEBUG") else "WARNING")
    click.echo("Celery workers stopped.", err=True)
    return code


@cli.group("db")
def db() -> None:
    """Database management: backup, restore, status, purge, a user's data."""


@db.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path | None) -> None:
    """Back up the database to PATH (default: backups/ in the instance folder), while it serves."""
    from storage.backup import backup, default_backup_path

    settings, engine = _db_engine()
    with _db_errors():
        result = backup(engine, path or default_backup_path(settings.home, engine), actor=settings.user)
    click.echo(f"Backed up the database to {result.path} ({result.size_bytes} bytes, {result.seconds:.1f} s).")


@db.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_restore(path: Path, yes: bool) -> None:
    """Replace the database's contents with a backup (refused while serve or worker runs on it)."""
    from database import ensure_schema
    from storage.backup import restore

    settings, engine = _db_engine(migrate=False)
    if not yes:
        click.confirm(f"This replaces everything in {settings.safe_database_url} with the backup {path}. "
                      "Continue?", abort=True, err=True)
    with _db_errors():
        restore(engine, path, actor=settings.user)
        ensure_schema(engine)  # an older backup is brought to this code's schema revision
    click.echo(f"Restored the database from {path}.")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def db_status(as_json: bool) -> None:
    """Size, rows and oldest row per table, last backup, last purge, migration revision."""
    from storage.stats import database_status, format_status

    _, engine = _db_engine()
    with _db_errors():
        status = database_status(engine)
    click.echo(json.dumps(status, default=str) if as_json else format_status(status))


@db.command("purge")
@click.option("--older-than", "days", required=True, type=click.IntRange(1), metavar="DAYS",
              help="Delete rows older than this many days.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["tasks", "messages", "provider_calls", "audit"]),
              help="What to purge (repeat; default: all four).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_purge(days: int, kinds: tuple[str, ...], yes: bool) -> None:
    """Delete finished tasks, messages, provider calls and audit rows older than DAYS, in small batches."""
    from storage.retention import KINDS, purge_older_than

    settings, engine = _db_engine()
    kinds = kinds or KINDS
    if not yes:
        click.confirm(f"Delete {', '.join(kinds)} older than {days} days?", abort=True, err=True)
    with _db_errors():
        report = purge_older_than(engine, days, kinds, actor=settings.user)
    click.echo(f"Deleted {_counts(report.deleted)} in {report.batches} batches.")


@db.command("forget-user")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_forget_user(name: str, yes: bool) -> None:
    """Delete a user's sessions, messages and tasks on their request (running tasks stay until they end)."""
    import sqlalchemy as sa

    from models import User
    from storage.retention import delete_user_data

    settings, engine = _db_engine()
    with engine.connect() as conn:
        user_id = conn.execute(sa.select(User.id).where(User.name == name)).scalar()
    if user_id is None:
        click.echo(f"error: no user named {name!r}.", err=True)
        sys.exit(1)
    if not yes:
        click.confirm(f"Delete every session, message and task of {name}?", abort=True, err=True)
    with _db_errors():
        report = delete_user_data(engine, user_id, actor=settings.user)
    click.echo(f"Deleted {_counts(report.deleted)} of {name}.")


def _db_engine(migrate: bool = True):  # type: ignore[no-untyped-def]
    """The settings and an engine on their database (schema brought up to date unless `migrate` is False)."""
    from config import Settings
    from database import ensure_schema, make_engine

    with _db_errors():
        settings = Settings.from_env()
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url)
        if migrate:
            ensure_schema(engine)
    return settings, engine


@contextlib.contextmanager
def _db_errors() -> Iterator[None]:
    """A db command's failure as one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except Exception as exc:
        logger.debug("db command failed", exc_info=True)
        click.echo(f"error: {_error_reply(exc, {})['response']}", err=True)
        sys.exit(1)


def _counts(deleted: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in deleted.items() if count) or "nothing"


@contextlib.contextmanager
def _progress(enabled: bool, delay: float = PROGRESS_DELAY_SECONDS) -> Iterator[None]:
    """On a terminal, say that long work is still going (on stderr, cleared at the end)."""
    if not enabled:
        yield
        return
    import threading
    import time

    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        if done.wait(delay):
            return
        frames = "|/-\\"
        index = 0
        while not done.wait(0.2):
            click.echo(f"\r{frames[index % 4]} working... {time.monotonic() - started:4.1f} s", err=True, nl=False)
            index += 1
        click.echo("\r" + " " * 30 + "\r", err=True, nl=False)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _answer(text: str, options: dict[str, Any]) -> dict[str, Any]:
    """Answer one request in-process or over HTTP; never raises."""
    try:
        if options.get("api_url"):
            return _answer_over_http(text, options)
        return _answer_in_process(text, options)
    except Exception as exc:  # the CLI's last line of defence: no traceback reaches the user
        logger.debug("request failed", exc_info=True)
        return _error_reply(exc, options)


MACHINE_WORDS = re.compile(r"\b(status|health\w*|system|machine|cpu|memory|load|overview|how (is|are))\b", re.I)
"""Words of a request that may ask for a machine reading (status, health): a hint, never an intent."""


def _answer_in_process(text: str, options: dict[str, Any]) -> dict[str, Any]:
    if not options.get("dry_run") and MACHINE_WORDS.search(text):
        import health_monitor

        # The CPU reading then spans the start-up below instead of a sleep of its own after it.
        health_monitor.start_cpu_sample(exclude_self=True)
    svc = _local_services()
    name = options.get("user") or svc.settings.user
    caller = svc.conversations.local_caller(name)
    return svc.interface.handle(text, caller, options.get("session_id"), dry_run=bool(options.get("dry_run")),
                                background=bool(options.get("background")), narrate_to=_narration(options),
                                local_operator=True)


def _narration(options: dict[str, Any]) -> Any:
    """stderr for live demo narration: text mode with both streams on a terminal (the reply printed
    on stdout then need not repeat it, and a redirected reply keeps it); never with --json."""
    if options.get("as_json") or not (_is_terminal(sys.stderr) and _is_terminal(sys.stdout)):
        return None
    return sys.stderr


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def _answer_over_http(text: str, options: dict[str, Any]) -> dict[str, Any]:
    import requests

    from errors import ServiceUnavailable

    url = options["api_url"].rstrip("/") + "/api/command"
    headers = {}
    key = os.environ.get("OPERATOROS_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body: dict[str, Any] = {"text": text, "dry_run": bool(options.get("dry_run"))}
    if options.get("session_id"):
        body["session_id"] = options["session_id"]
    try:
        response = requests.post(url, json=body, headers=headers, timeout=120)
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"Cannot reach the OperatorOS API at {options['api_url']}: "
                                 f"{exc.__class__.__name__}") from exc
    try:
        payload = response.json()
    except ValueError as exc:
        raise ServiceUnavailable(f"The API at {options['api_url']} did not answer JSON "
                                 f"(HTTP {response.status_code}).") from exc
    if "error" in payload and "ok" not in payload:
        error = dict(payload["error"])
        if response.status_code == 401 and not key:
            error["message"] = (f"{error.get('message', '')} Set OPERATOROS_API_KEY to your API key (the "
                                "first `serve` wrote an admin key to admin_api_key in its instance folder).")
        return _failed(error, options)
    return payload


def _error_reply(exc: Exception, options: dict[str, Any]) -> dict[str, Any]:
    from config import ConfigError
    from errors import OperatorOSError

    if isinstance(exc, OperatorOSError):
        error = exc.to_dict()
    elif isinstance(exc, ConfigError):
        error = {"code": "bad_configuration", "message": str(exc)}
    elif _is_database_error(exc):
        error = {"code": "database_unavailable",
                 "message": f"Cannot use the database ({exc.__class__.__name__}): check DATABASE_URL and that "
                            "its server is running."}
    elif isinstance(exc, ModuleNotFoundError):
        error = {"code": "missing_dependency", "message": MISSING_DEPENDENCY.format(name=exc.name)}
    else:
        error = {"code": "internal_error",
                 "message": f"OperatorOS could not answer ({exc.__class__.__name__}). "
                            "Run with OPERATOROS_DEBUG=1 for details."}
    return _failed(error, options)


CONFIGURATION_ERRORS = ("bad_configuration", "database_unavailable", "usage_error")
"""Error codes the CLI exits 2 for: fix the command or the environment, not a failed request."""


def _exit_code(reply: dict[str, Any]) -> int:
    """0 for a reply that succeeded, 2 for a configuration error, 1 otherwise."""
    if reply.get("ok"):
        return 0
    return 2 if (reply.get("error") or {}).get("code") in CONFIGURATION_ERRORS else 1


def _is_database_error(exc: Exception) -> bool:
    """Whether `exc` is SQLAlchemy's word that the database cannot be reached or opened."""
    sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded whenever such an error could have been raised
    return sa_exc is not None and isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


def _print_reply(reply: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(reply, default=str))
    else:
        click.echo(CONTROL_CHARACTERS.sub("", reply["response"] or ("" if reply.get("ok") else "The request failed.")))


def _interactive(options: dict[str, Any]) -> int:
    """A prompt with a numbered menu, `help` and `exit`; with --json, stdout carries only the JSON replies."""
    as_json = bool(options.get("as_json"))
    click.echo("OperatorOS — ask in plain words. Type a number, 'help', or 'exit'.", err=as_json)
    for number, (request_text, _) in enumerate(MENU, start=1):
        click.echo(f"  {number}. {request_text}", err=as_json)
    import getpass

    asking = awaiting_key = False
    while True:
        click.echo("operatoros> " if not awaiting_key else "", nl=False, err=as_json)
        try:
            line = (getpass.getpass("API key (hidden): ") if awaiting_key and sys.stdin.isatty() else input()).strip()
        except (EOFError, KeyboardInterrupt):
            click.echo("", err=as_json)
            return 0
        if line.lower() in ("exit", "quit", "q"):
            if not sys.stdin.isatty():  # typed input ends its own line; piped input does not
                click.echo("", err=as_json)
            return 0
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(MENU) and not asking:
            line = MENU[int(line) - 1][0]  # a number answers the question just asked, if there is one
        reply = _answer(line, options)
        _print_reply(reply, as_json)
        asking = reply.get("intent") == "clarify" or any(s.get("intent") == "clarify" for s in reply.get("steps", []))
        awaiting_key = _awaits_key(reply)
        options = {**options, "session_id": reply.get("session_id") or options.get("session_id")}


def _awaits_key(reply: dict[str, Any]) -> bool:
    """Whether the reply asked for an API key as the next message (read hidden, then)."""
    return any(step.get("data", {}).get("awaiting") == "api_key" for step in [reply, *reply.get("steps", [])])


@cli.command("login")
@click.argument("name")
@_request_options
@click.pass_context
def login(ctx: click.Context, name: str, **options: Any) -> None:
    """Sign this conversation in as NAME; the key comes from $OPERATOROS_SIGN_IN_KEY or stdin, never argv."""
    merged = {k: v or (ctx.obj or {}).get(k) for k, v in options.items()}
    key = os.environ.get(SIGN_IN_KEY_ENV)
    if not key:
        import getpass

        key = getpass.getpass("API key (hidden): ") if sys.stdin.isatty() else sys.stdin.readline()
    reply = _answer(f"log in as {name}", merged)
    if reply.get("ok"):
        merged["session_id"] = reply.get("session_id") or merged.get("session_id")
        reply = _answer(key.strip(), merged)
    _print_reply(reply, bool(merged["as_json"]))
    sys.exit(_exit_code(reply))


@cli.group("keys")
def keys_group() -> None:
    """API keys, as the local operator (admin): list (never a key or its hash), rotate NAME, revoke NAME."""


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """Every user's key by name, role and prefix, and whether it is active."""
    _keys(ctx, "list", None, as_json)


@keys_group.command("rotate")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.pass_context
def keys_rotate(ctx: click.Context, name: str, as_json: bool) -> None:
    """Give NAME a fresh key, shown once; the old key and its sign-ins stop working at once."""
    _keys(ctx, "rotate", name, as_json)


@keys_group.command("revoke")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.pass_context
def keys_revoke(ctx: click.Context, name: str, as_json: bool) -> None:
    """Remove NAME's key: it and its sign-ins stop working at once."""
    _keys(ctx, "revoke", name, as_json)


def _keys(ctx: click.Context, action: str, name: str | None, as_json: bool) -> None:
    """Carry out one `keys` command through conversation_manager (the REST endpoints' owner) and exit."""
    options = {**(ctx.find_root().obj or {})}
    options["as_json"] = bool(as_json or options.get("as_json"))
    try:
        svc = _local_services()
        operator = svc.conversations.local_caller(svc.settings.user)
        if action == "list":
            data: dict[str, Any] = {"keys": svc.conversations.list_keys(operator)}
            text = "\n".join([f"{len(data['keys'])} users:"] + [
                f"  {k['name']:<20} {k['role']:<6} {(k['key_prefix'] or '-') + '...' if k['active'] else 'no key'}"
                for k in data["keys"]])
        elif action == "rotate":
            data = svc.conversations.rotate_key(operator, str(name))
            text = (f"New key for {name} (shown once; the old one stopped working): {data['api_key']}")
        else:
            data = svc.conversations.revoke_key(operator, str(name))
            text = f"Revoked {name}'s key: it, and every sign-in made with it, stopped working."
        reply = {"ok": True, "intent": "keys", "args": {"action": action, **({"name": name} if name else {})},
                 "response": text, "data": data, "session_id": None, "user": operator.name}
    except Exception as exc:
        logger.debug("keys %s failed", action, exc_info=True)
        reply = _error_reply(exc, options)
    _print_reply(reply, options["as_json"])
    sys.exit(_exit_code(reply))


@functools.lru_cache(maxsize=1)
def _local_services(executor: str | None = None):  # type: ignore[no-untyped-def]
    """The services of an in-process request or a worker, without the web layer (built once per process)."""
    from startup import fast_start

    with fast_start():
        from config import Settings
        from services import build_services

        return build_services(Settings.from_env(), executor=executor)


def _services_or_exit(executor: str | None = None):  # type: ignore[no-untyped-def]
    """The services of a worker or the MCP server (no web layer); a start-up failure is a clear error and exit."""
    return _or_exit(_local_services, executor)


def _or_exit(build: Any, *args: Any) -> Any:
    """`build(*args)`, or, when start-up fails, its error said in one line and the process ended with its code."""
    try:
        return build(*args)
    except Exception as exc:
        logger.debug("start-up failed", exc_info=True)
        failed = _error_reply(exc, {})
        click.echo(f"error: {failed['response']}", err=True)
        sys.exit(_exit_code(failed))


def _build_app(executor: str | None = None):  # type: ignore[no-untyped-def]
    from app import create_app

    return create_app({} if executor is None else {"EXECUTOR": executor})


def _build_app_or_exit(executor: str | None = None):  # type: ignore[no-untyped-def]
    return _or_exit(_build_app, executor)


def _controller(app):  # type: ignore[no-untyped-def]
    from app import services

    return services(app).controller


def _request_handler() -> type:
    """Werkzeug's request handler: JSON errors of its own (431...), keys withheld from the access log,
    and the log without colour codes when stderr is not a terminal."""
    from werkzeug.serving import WSGIRequestHandler

    from conversation_manager import redact_keys

    plain = not sys.stderr.isatty()

    class JsonRequestHandler(WSGIRequestHandler):
        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server answers a request it cannot parse (a header over 64 KB...) with an HTML page.
            self.close_connection = True
            short = self.responses.get(code, ("error", ""))[0]
            body = json.dumps({"error": {"code": short.lower().replace(" ", "_"),
                                         "message": message or short}}).encode()
            self.log_error("code %d, message %s", code, message)
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            line = redact_keys(self.requestline)  # a key sent in the URL (refused) is never written down
            if plain:  # a client controls the request line: escape what it could use to forge or hide log lines
                line = line.encode("unicode_escape").decode("ascii")
                self.log("info", '"%s" %s %s', line, getattr(code, "value", code), size)
                return
            self.requestline = line
            super().log_request(code, size)

    return JsonRequestHandler


def _stop_on_sigterm() -> None:
    """SIGTERM stops like Ctrl-C, so agents drain instead of dying mid-task."""
    import signal

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def _ensure_admin_key(app) -> str | None:  # type: ignore[no-untyped-def]
    """With no OPERATOROS_API_KEY, create (once) an admin key in a file only its owner can read."""
    from app import services
    from conversation_manager import new_api_key
    from models import Role

    svc = services(app)
    if svc.settings.api_key:
        return None
    path = Path(svc.settings.home) / ADMIN_KEY_FILE
    if path.exists():
        svc.conversations.ensure_user_with_key("admin", path.read_text().strip(), Role.ADMIN)
        return f"Admin API key: in {path}"
    key = new_api_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    svc.conversations.ensure_user_with_key("admin", key, Role.ADMIN)
    return f"Created an admin API key; it is in {path} (readable only by you)."


def _configure_logging() -> None:
    level = logging.DEBUG if os.environ.get("OPERATOROS_DEBUG") else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    cli(prog_name="main.py")
