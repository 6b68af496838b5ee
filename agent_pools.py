"""Agent pools: per-domain agents (threads) that work the queue, supervised and reconciled to the database."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import Agent, AgentPool, AgentStatus, utcnow
from storage.checkpoints import wal_checkpointer
from task_processor import Claim, LocalDispatcher, TaskQueue
from telemetry import events as task_events
from telemetry import tracing
from telemetry.events import EventKind, emit, recording
from values import POOL_NAMES

if TYPE_CHECKING:
    from safety.policies import SafetyDecision

logger = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 3
"""An agent that fails this many tasks in a row is marked failed and leaves the rotation."""

RECONCILE_SECONDS = 0.5
"""How often a process compares its agents with the desired sizes in the database."""

HEARTBEAT_SECONDS = 1.0
"""How often leases are renewed and agent heartbeats written (well inside the lease)."""

IDLE_POLL_SECONDS = 0.2
"""Longest an idle agent sleeps before looking for work again."""

EVENT_FLUSH_SECONDS = 0.5
"""Longest an agent's task event waits in memory for the task's next write (the result's transaction) before
the supervisor writes it by itself: followers see it by then, and a quick task's events cost no commit of their own."""

STALE_AGENT_SECONDS = 30.0
"""Agent rows whose heartbeat is older than this (dead process) are marked stopped."""

_A = Agent.__table__


class TaskCancelled(Exception):
    """Raised by an executor that noticed its task was cancelled."""


class PermanentTaskError(Exception):
    """A failure that retrying cannot fix (bad input); the task fails at once."""


@dataclass
class ExecutionResult:
    """What an executor produced for a task."""

    result: dict[str, Any]
    """JSON-ready result recorded on the task."""
    tokens_in: int = 0
    tokens_out: int = 0
    provider: str | None = None


class CancelToken:
    """Set when the task's cancellation is requested or its time is up; executors check it."""

    def __init__(self) -> None:
        # A plain flag, not a threading.Event: executors only poll it, and one is made per task.
        self._set = False
        self.reason = ""

    def cancel(self, reason: str) -> None:
        """Ask the running executor to stop."""
        self.reason = reason
        self._set = True

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._set

    def check(self) -> None:
        """Raise TaskCancelled if cancelled (call between steps of long work)."""
        if self._set:
            raise TaskCancelled(self.reason)


DEADLINE_RESERVE_SECONDS = 5.0
"""Time kept, within a task's limit, for the offline answer, the safety policy and recording the result."""

Executor = Callable[[Claim, CancelToken], "ExecutionResult | dict[str, Any]"]
"""Works one claimed task; raises to fail the attempt."""


def default_executor(settings: Any, session_factory: Any = None) -> Executor:
    """The executor of domain tasks: the pool's agent behind the providers, inside its safety policy."""
    return DomainExecutor(settings, session_factory)


class DomainExecutor:
    """Works a domain task in three steps, whatever the provider says.

    1. The request's safety decision, made when the task was submitted, comes with the claim (a task
       queued without one is decided now, once); an emergency is answered by the rules alone.
    2. The provider chain answers (a model with the agent's prompt and tools, or, offline, the
       agent's built-in analyzers), falling back along the chain on faults; the request carries the decision.
    3. The reply guard runs once on whichever answer came: emergency guidance first, disclaimers,
       no certainty claims.
    """

    def __init__(self, settings: Any, session_factory: Any = None) -> None:
        self.settings = settings
        self._sessions = session_factory
        self._chain: Any = None
        self._lock = threading.Lock()

    def chain(self) -> Any:
        """The provider chain, built on first use (remote providers import the openai SDK)."""
        with self._lock:
            if self._chain is None:
                from ai_providers import build_providers

                self._chain = build_providers(self.settings, self._sessions, analyzer=self._offline)
            return self._chain

    def breaker_states(self) -> dict[str, Any]:
        """Each provider's circuit state; {} before the chain is first used (asking must not build it:
        that imports the openai SDK)."""
        with self._lock:
            chain = self._chain
        return dict(chain.breaker_states()) if chain is not None else {}

    def _offline(self, request: Any) -> str:
        from domains import agents as domain_agents

        topic = request.safety.topic if request.safety is not None else None
        return domain_agents.offline_answer(request.pool, request.last_user_text, topic=topic,
                                            data_dir=self.settings.data_dir)

    def __call__(self, claim: Claim, token: CancelToken) -> ExecutionResult:
        from ai_providers import ProviderRequest
        from domains import agents as domain_agents
        from errors import OperatorOSError

        decision = claim_decision(claim)
        triage = domain_agents.triage_of(decision, claim.input)  # once: the reply's level and result.triage
        _note_safety(decision, triage)
        if decision.short_circuit:
            text = domain_agents.guard_reply(decision, domain_agents.emergency_reply(claim.input, triage), triage)
            return ExecutionResult({"text": text, "provider": "safety-policy", "safety": list(decision.flags),
                                    **triage_field(claim.pool, triage)}, provider="safety-policy")
        agent = domain_agents.get_agent(claim.pool, data_dir=self.settings.data_dir)
        token.check()
        request = ProviderRequest(messages=[{"role": "user", "content": claim.input}], system=agent.system_prompt,
                                  tools=list(agent.tools), pool=claim.pool, user_id=claim.user_id,
                                  task_id=claim.task_id, session_id=claim.session_id,
                                  deadline=provider_deadline(claim.timeout_seconds), safety=decision,
                                  on_delta=_draft_stream(decision, triage) if self.settings.drafts else None)
        try:
            response = self.chain().complete(request)
        except OperatorOSError as exc:  # a spent budget or a bad request: retrying cannot help
            raise PermanentTaskError(exc.message) from exc
        token.check()
        text = domain_agents.guard_reply(decision, response.text, triage)
        if tracing.content_enabled():  # prompts and answers only on an explicit opt-in
            tracing.annotate(None, {"gen_ai.input.messages": tracing.messages_attribute("user", claim.input),
                                    "gen_ai.output.messages": tracing.messages_attribute("assistant", text)})
        result = {"text": text, "provider": response.provider, "model": response.model,
                  "fallback_from": response.fallback_from, "safety": list(decision.flags),
                  **triage_field(claim.pool, triage)}
        return ExecutionResult(result, tokens_in=response.tokens_in, tokens_out=response.tokens_out,
                               provider=response.provider)


def _draft_stream(decision: SafetyDecision, triage: Any) -> task_events.DraftStream | None:
    """The model's text as draft events of the task while it streams (when its events are recorded);
    the request's safety decides whether a draft's words may be shown (domains.agents.draft_screen)."""
    if not task_events.active():
        return None
    from domains import agents as domain_agents

    return task_events.DraftStream(domain_agents.draft_screen(decision, triage))


def _note_safety(decision: SafetyDecision, triage: Any) -> None:
    """The request's safety decision and triage level: an event of the task, and attributes of its span."""
    level = getattr(triage, "level", None)
    emit(EventKind.SAFETY, {"flags": list(decision.flags), "topic": decision.topic,
                            "short_circuit": decision.short_circuit, "triage": level})
    tracing.annotate(None, {"operatoros.safety.flags": list(decision.flags) or None,
                            "operatoros.safety.short_circuit": decision.short_circuit,
                            "operatoros.safety.topic": decision.topic, "operatoros.triage.level": level})


def triage_field(pool: str, triage: Any) -> dict[str, Any]:
    """`{"triage": {level, reasons, sources}}` for a healthcare task's result, else nothing."""
    return {"triage": triage.as_data()} if triage is not None and pool == "healthcare" else {}


def claim_decision(claim: Claim) -> SafetyDecision:
    """The safety decision of a claimed task: the one made at submission, or (a task queued before
    decisions were kept, or with an unreadable one) one made now, keeping the claimed pool."""
    from domains import routing
    from safety.policies import SafetyDecision

    if claim.safety is not None:
        try:
            return SafetyDecision.from_json(claim.safety)
        except ValueError:
            logger.warning("task %s: unreadable safety decision; deciding again", claim.task_id)
    return routing.decide(claim.input, claim.pool, keep_pool=True)


def provider_breakers(executor: Executor) -> dict[str, Any]:
    """Each provider's circuit state in an executor's provider chain; {} before the chain is first used
    (asking must not build it: that imports the openai SDK) and for an executor without providers."""
    return executor.breaker_states() if isinstance(executor, DomainExecutor) else {}


def provider_deadline(task_timeout: float, now: float | None = None) -> float:
    """When remote providers must give way to the offline one: before the task's own time limit,
    so that a hung model is answered by the built-in analyzers instead of the task being failed."""
    reserve = min(DEADLINE_RESERVE_SECONDS, task_timeout * 0.25)
    return (time.monotonic() if now is None else now) + task_timeout - reserve


def load_executor(spec: str) -> Executor:
    """Import an executor named as 'module:function' (for custom task handlers, tests and benchmarks)."""
    import importlib

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"executor must be given as module:function, not {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


def process_identity() -> str:
    """host:pid of this process, as recorded on its agents."""
    return f"{socket.gethostname()}:{os.getpid()}"


class EventBuffer:
    """The events of the task an agent works, kept until the task's next write (the result's transaction).

    A sink for telemetry.events.recording: each event becomes its row at once (its time is when it happened),
    and rows are written in order, under one lock: with the result (`writing`), or by `flush` (the
    supervisor's, for rows older than EVENT_FLUSH_SECONDS; or at once for a draft's text, which is live).
    """

    def __init__(self, queue: TaskQueue, task_id: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.queue, self.task_id, self.clock = queue, task_id, clock
        self._rows: list[dict[str, Any]] = []
        self._since: float | None = None
        self._lock = threading.Lock()

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        """Keep one event of the task (a draft's text is written at once, with what waits before it)."""
        with self._lock:
            self._rows.append(task_events.event_row(self.task_id, kind, data))
            if self._since is None:
                self._since = self.clock()
        if kind == EventKind.TEXT.value:
            self.flush()

    @contextmanager
    def writing(self) -> Iterator[list[dict[str, Any]]]:
        """The rows waiting, for a write of the caller's: kept back if the block raises."""
        with self._lock:
            rows, self._rows, since, self._since = self._rows, [], self._since, None
            try:
                yield rows
            except BaseException:
                self._rows, self._since = rows + self._rows, since
                raise

    def flush(self, older_than: float = 0.0, wait: bool = True) -> None:
        """Write the waiting rows if the oldest waited `older_than` seconds (without `wait`: unless a write is on)."""
        if self._since is None or self.clock() - self._since < older_than:
            return
        if not self._lock.acquire(blocking=wait):
            return
        try:
            rows, self._rows, self._since = self._rows, [], None
            self.queue.record_events(rows)
        finally:
            self._lock.release()


@dataclass
class _Running:
    claim: Claim
    token: CancelToken
    started: float
    timed_out: bool = False
    events: EventBuffer | None = None


@dataclass
class AgentWorker:
    """One agent: a thread that claims tasks of its pool and runs them through the executor."""

    pool: str
    queue: TaskQueue
    executor: Executor
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    status: AgentStatus = AgentStatus.IDLE
    tasks_done: int = 0
    tasks_failed: int = 0
    consecutive_failures: int = 0
    total_latency_ms: float = 0.0
    last_latency_ms: float | None = None
    last_error: str | None = None
    running: _Running | None = None
    stop_requested: bool = False
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the agent's thread."""
        self.thread = threading.Thread(target=self._loop, name=f"agent-{self.pool}-{self.id[:6]}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        try:
            claim: Claim | None = None
            idle = False
            while not self.stop_requested:
                # After a claim found nothing, a read asks first whether there is work: an idle agent's poll
                # then takes no write lock (a claim is a write transaction) until a task is ready.
                if claim is None and (not idle or self.queue.has_ready(self.pool)):
                    claim = self.queue.claim(self.pool, self.id)
                idle = claim is None
                if claim is None:
                    self._idle_wait()
                    continue
                claim = self.work(claim)
                if self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                    self.status = AgentStatus.FAILED
                    logger.warning("agent %s of %s failed %d tasks in a row; leaving the rotation",
                                   self.id, self.pool, self.consecutive_failures)
                    return
            self.status = AgentStatus.STOPPED
        except BaseException as exc:  # the thread died: mark the agent failed, never lose the reason
            self.status = AgentStatus.FAILED
            self.last_error = f"agent thread died: {exc.__class__.__name__}: {exc}"
            logger.exception("agent %s of %s died", self.id, self.pool)

    def _idle_wait(self) -> None:
        dispatcher = self.queue.dispatcher
        if isinstance(dispatcher, LocalDispatcher):
            dispatcher.wait(self.pool, IDLE_POLL_SECONDS)
        else:
            time.sleep(IDLE_POLL_SECONDS)

    def work(self, claim: Claim) -> Claim | None:
        """Run one claimed task to an outcome recorded under its lease; returns the next claim if any."""
        self.status = AgentStatus.BUSY
        running = _Running(claim, CancelToken(), time.monotonic(), events=EventBuffer(self.queue, claim.task_id))
        self.running = running
        following = None
        try:
            # Recording a success also claims the next task in the same transaction, unless draining.
            outcome, following = execute_claim(self.queue, self.executor, claim, running.token,
                                               next_for=None if self.stop_requested else self.id,
                                               events=running.events)
        finally:
            self.running = None
            if self.status is AgentStatus.BUSY:
                self.status = AgentStatus.IDLE
        elapsed_ms = (time.monotonic() - running.started) * 1000
        self.last_latency_ms = elapsed_ms
        self.total_latency_ms += elapsed_ms
        if outcome == "succeeded" or outcome == "cancelled":
            self.tasks_done += outcome == "succeeded"
            self.consecutive_failures = 0
        else:
            self.tasks_failed += 1
            self.consecutive_failures += 1
            self.last_error = outcome
        return following


def execute_claim(queue: TaskQueue, executor: Executor, claim: Claim, token: CancelToken,
                  next_for: str | None = None, events: EventBuffer | None = None) -> tuple[str, Claim | None]:
    """Run `executor` on a claim and record the outcome: ('succeeded' | 'cancelled' | the error, next claim).

    The queue recorded the claim's event and records the outcome's; the executor's provider and tool
    calls are recorded as events of this task while it runs (each at once, or through `events`, which
    writes them with the outcome unless flushed before), and, when tracing is on, run inside an
    `invoke_agent {pool}` span joined to the trace the task was submitted under.
    """
    sink = events if events is not None else queue.events.sink(claim.task_id)
    if not tracing.enabled():  # no span to open, name or annotate
        with recording(sink):
            return _execute(queue, executor, claim, token, next_for, events)
    parent = queue.events.trace_context(claim.task_id)
    attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": claim.pool,
                  "gen_ai.conversation.id": claim.session_id, "operatoros.task.id": claim.task_id,
                  "operatoros.task.attempt": claim.attempt}
    with recording(sink), tracing.span(f"invoke_agent {claim.pool}", attributes, parent=parent) as span:
        outcome, following = _execute(queue, executor, claim, token, next_for, events)
        tracing.annotate(span, {"operatoros.task.outcome": outcome if outcome in ("succeeded", "cancelled")
                                else "failed"})
    return outcome, following


def _execute(queue: TaskQueue, executor: Executor, claim: Claim, token: CancelToken,
             next_for: str | None, events: EventBuffer | None) -> tuple[str, Claim | None]:
    try:
        produced = executor(claim, token)
        if token.cancelled:
            raise TaskCancelled(token.reason)
    except TaskCancelled:
        _flush(events)  # the attempt's events come before its end
        if token.reason == "timeout":
            return f"timed out after {claim.timeout_seconds:g} s", None
        queue.mark_cancelled(claim)
        return "cancelled", None
    except PermanentTaskError as exc:
        _flush(events)
        queue.fail(claim, str(exc), retryable=False)
        return str(exc) or "failed", None
    except Exception as exc:
        _flush(events)
        error = f"{exc.__class__.__name__}: {exc}"
        logger.info("task %s attempt %d failed: %s", claim.task_id, claim.attempt, error)
        queue.fail(claim, error)
        return error, None
    result = produced if isinstance(produced, ExecutionResult) else ExecutionResult(dict(produced))
    recorded, following = _complete(queue, claim, result, next_for, events)
    return ("succeeded" if recorded else "lease lost; result discarded"), following


def _complete(queue: TaskQueue, claim: Claim, result: ExecutionResult, next_for: str | None,
              events: EventBuffer | None) -> tuple[bool, Claim | None]:
    """Record the result (and claim the next task) in one transaction with the task's waiting events."""
    def record(rows: list[dict[str, Any]]) -> tuple[bool, Claim | None]:
        return queue.complete_and_claim(claim, result.result, tokens_in=result.tokens_in,
                                        tokens_out=result.tokens_out, provider=result.provider,
                                        next_for=next_for, events=rows)

    if events is None:
        return record([])
    with events.writing() as rows:
        try:
            return record(rows)
        except sa.exc.SQLAlchemyError:  # an event that cannot be stored must not cost the result
            if not rows:
                raise
            logger.warning("task %s: %d event(s) not recorded with its result", claim.task_id, len(rows),
                           exc_info=True)
            return record([])


def _flush(events: EventBuffer | None) -> None:
    if events is not None:
        events.flush()


class PoolSupervisor:
    """Runs this process's agents: reconciles them to the desired sizes, renews leases, sweeps."""

    def __init__(self, engine: Engine, queue: TaskQueue, executor: Executor, *,
                 pools: tuple[str, ...] = POOL_NAMES, reconcile_seconds: float = RECONCILE_SECONDS,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.engine = engine
        self.queue = queue
        self.executor = executor
        self.pools = pools
        self.reconcile_seconds = reconcile_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.process = process_identity()
        self.agents: dict[str, list[AgentWorker]] = {p: [] for p in pools}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.checkpointer = wal_checkpointer(engine)
        """On a SQLite file, the thread that checkpoints its log while the agents write (else None)."""

    def start(self) -> None:
        """Start agents to the desired sizes, the supervising thread and (SQLite) the WAL checkpointer."""
        self.queue.requeue_expired()
        if self.checkpointer is not None:
            self.checkpointer.start()
        self.reconcile()
        self._thread = threading.Thread(target=self._supervise, name="pool-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Drain every agent (busy ones finish their task) and stop supervising."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            workers = [a for agents in self.agents.values() for a in agents]
            for agent in workers:
                agent.stop_requested = True
        for agent in workers:
            if agent.thread is not None:
                agent.thread.join(max(0.0, deadline - time.monotonic()))
        self._write_heartbeats(final=True)
        if self.checkpointer is not None:
            self.checkpointer.stop()

    def reconcile(self) -> None:
        """Start or drain agents so each pool has its desired size; replace restarted failed agents."""
        with self.engine.connect() as conn:
            desired = dict(conn.execute(sa.select(AgentPool.name, AgentPool.desired_size)).all())
            mine = [a.id for agents in self.agents.values() for a in agents]
            released = set(conn.execute(sa.select(_A.c.id).where(
                _A.c.id.in_(mine), _A.c.status == AgentStatus.STOPPED)).scalars()) if mine else set()
        new_rows: list[dict[str, Any]] = []
        with self._lock:
            if self._stop.is_set():
                return
            for pool in self.pools:
                agents = [a for a in self.agents[pool] if not self._gone(a, released)]
                want = int(desired.get(pool, 0))
                active = [a for a in agents if not a.stop_requested]
                for agent in sorted(active, key=lambda a: a.status is AgentStatus.BUSY)[:max(0, len(active) - want)]:
                    agent.stop_requested = True
                for _ in range(want - len(active)):
                    agent = AgentWorker(pool, self.queue, self.executor)
                    agents.append(agent)
                    new_rows.append({"id": agent.id, "pool": pool, "process": self.process,
                                     "status": AgentStatus.IDLE, "heartbeat_at": utcnow(), "started_at": utcnow(),
                                     "tasks_done": 0, "tasks_failed": 0, "consecutive_failures": 0,
                                     "total_latency_ms": 0.0})
                self.agents[pool] = agents
        if new_rows:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(_A), new_rows)
            by_id = {a.id: a for agents in self.agents.values() for a in agents}
            for row in new_rows:
                by_id[row["id"]].start()

    @staticmethod
    def _gone(agent: AgentWorker, released: set[str]) -> bool:
        # A failed agent keeps its slot until a restart releases it; stopped agents are dropped
        # by the heartbeat once their final status is written.
        return agent.status is AgentStatus.FAILED and agent.id in released

    def live_agents(self, pool: str) -> list[AgentWorker]:
        """This process's agents of `pool` that are idle or busy."""
        with self._lock:
            return [a for a in self.agents.get(pool, []) if a.status in (AgentStatus.IDLE, AgentStatus.BUSY)
                    and not a.stop_requested]

    def _supervise(self) -> None:
        next_beat = next_reconcile = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                self._flush_events()
                if now >= next_beat:
                    self._enforce_timeouts()
                    self._renew_and_cancel()
                    self._write_heartbeats()
                    self.queue.requeue_expired()
                    next_beat = now + self.heartbeat_seconds
                if now >= next_reconcile:
                    self.reconcile()
                    next_reconcile = now + self.reconcile_seconds
            except Exception:  # a database hiccup must not stop supervision; try again next round
                logger.exception("pool supervision round failed")
            self._stop.wait(min(self.heartbeat_seconds, self.reconcile_seconds) / 2)

    def _busy(self) -> list[AgentWorker]:
        with self._lock:
            return [a for agents in self.agents.values() for a in agents if a.running is not None]

    def _flush_events(self) -> None:
        """Write the busy agents' task events that waited EVENT_FLUSH_SECONDS (long model calls, tool calls)."""
        for agent in self._busy():
            running = agent.running
            if running is not None and running.events is not None:
                running.events.flush(EVENT_FLUSH_SECONDS, wait=False)

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for agent in self._busy():
            running = agent.running
            if running is None or running.timed_out or now - running.started <= running.claim.timeout_seconds:
                continue
            running.timed_out = True
            running.token.cancel("timeout")
            if running.events is not None:  # the attempt's events come before its end
                running.events.flush()
            self.queue.fail(running.claim, f"timed out after {running.claim.timeout_seconds:g} s")

    def _renew_and_cancel(self) -> None:
        running = [a.running for a in self._busy() if a.running is not None and not a.running.timed_out]
        cancelled = self.queue.renew([r.claim.owner for r in running])
        for r in running:
            if r.claim.owner in cancelled:
                r.token.cancel("cancelled")

    def _write_heartbeats(self, final: bool = False) -> None:
        with self._lock:
            agents = [a for pool_agents in self.agents.values() for a in pool_agents]
        if not agents:
            return
        now = utcnow()
        rows = [{"b_id": a.id, "status": AgentStatus.STOPPED if final and a.status is not AgentStatus.FAILED
                 else a.status, "heartbeat_at": now, "tasks_done": a.tasks_done, "tasks_failed": a.tasks_failed,
                 "consecutive_failures": a.consecutive_failures, "total_latency_ms": a.total_latency_ms,
                 "last_latency_ms": a.last_latency_ms, "last_error": a.last_error,
                 "current_task_id": a.running.claim.task_id if a.running else None} for a in agents]
        with self.engine.begin() as conn:
            # A failed agent released by a restart (status 'stopped' in the database) stays stopped.
            conn.execute(
                sa.update(_A).where(_A.c.id == sa.bindparam("b_id"), _A.c.status != AgentStatus.STOPPED)
                .values(status=sa.bindparam("status"), heartbeat_at=sa.bindparam("heartbeat_at"),
                        tasks_done=sa.bindparam("tasks_done"), tasks_failed=sa.bindparam("tasks_failed"),
                        consecutive_failures=sa.bindparam("consecutive_failures"),
                        total_latency_ms=sa.bindparam("total_latency_ms"),
                        last_latency_ms=sa.bindparam("last_latency_ms"), last_error=sa.bindparam("last_error"),
                        current_task_id=sa.bindparam("current_task_id")),
                rows,
            )
            conn.execute(sa.update(_A).where(
                _A.c.heartbeat_at < utcnow() - timedelta(seconds=STALE_AGENT_SECONDS),
                _A.c.status.in_([AgentStatus.IDLE, AgentStatus.BUSY])).values(status=AgentStatus.STOPPED))
        with self._lock:
            for pool in self.pools:
                self.agents[pool] = [a for a in self.agents[pool]
                                     if not (a.status is AgentStatus.STOPPED and a.thread is not None
                                             and not a.thread.is_alive())]


def run_inline(queue: TaskQueue, executor: Executor, task_id: int, pool: str) -> str | None:
    """Work one queued task in this thread with an ephemeral agent; None if another agent took it."""
    claim = queue.claim(pool, f"inline-{uuid.uuid4().hex[:10]}", task_id=task_id)
    if claim is None:
        return None
    token = CancelToken()
    with _lease_keeper(queue, claim, token):
        return execute_claim(queue, executor, claim, token)[0]


@contextmanager
def _lease_keeper(queue: TaskQueue, claim: Claim, token: CancelToken) -> Iterator[None]:
    stop = threading.Event()

    def keep() -> None:
        started = time.monotonic()
        while not stop.wait(HEARTBEAT_SECONDS):
            if time.monotonic() - started > claim.timeout_seconds:
                token.cancel("timeout")
                queue.fail(claim, f"timed out after {claim.timeout_seconds:g} s")
                return
            if claim.owner in queue.renew([claim.owner]):
                token.cancel("cancelled")

    thread = threading.Thread(target=keep, name=f"lease-{claim.task_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

