"""Task executors used by the tests and benchmarks (`--executor tests.fixtures:NAME`)."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from agent_pools import CancelToken, ExecutionResult
from task_processor import Claim, RetryPolicy, TaskQueue

RECORD_ENV = "OPERATOROS_TEST_RECORD"
"""File to which `record` appends one line per execution."""


def noop(claim: Claim, token: CancelToken) -> dict[str, Any]:
    """Do nothing and succeed."""
    return {"ok": True}


def record(claim: Claim, token: CancelToken) -> ExecutionResult:
    """Append 'task_id owner pid' to the record file (O_APPEND: one write per line), then succeed."""
    line = f"{claim.task_id} {claim.owner} {os.getpid()}\n".encode()
    fd = os.open(os.environ[RECORD_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    delay = float(os.environ.get("OPERATOROS_TEST_DELAY", "0"))
    if delay:
        time.sleep(delay)
    return ExecutionResult({"owner": claim.owner, "pid": os.getpid()}, tokens_in=1, tokens_out=2, provider="test")


def always_raise(claim: Claim, token: CancelToken) -> dict[str, Any]:
    """Fail every attempt."""
    raise RuntimeError(f"task {claim.task_id} always fails")


def wait_for_cancel(claim: Claim, token: CancelToken) -> dict[str, Any]:
    """Run until cancelled (or 30 s), checking the token as long work should."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        token.check()
        time.sleep(0.02)
    return {"finished": True}


def echo(claim: Claim, token: CancelToken) -> dict[str, Any]:
    """Succeed with the input as text."""
    return {"text": f"echo: {claim.input}"}


def offline_domain_agents(claim: Claim, token: CancelToken) -> ExecutionResult:
    """Work a task as DomainExecutor does offline: the task's decision, the pool's agent, the reply guard once."""
    from agent_pools import claim_decision
    from domains import agents as domain_agents

    decision = claim_decision(claim)
    body = (domain_agents.emergency_reply(claim.input) if decision.short_circuit
            else domain_agents.offline_answer(claim.pool, claim.input, topic=decision.topic))
    return ExecutionResult({"text": domain_agents.guard_reply(decision, body)}, provider="local")



def domain_reply(pool: str, text: str, provider: Callable[[str], str] | None = None) -> str:
    """The reply a task of `pool` gets, on the executor's path: the decision, the triage once, the provider
    (offline when None) unless an emergency, then the reply guard once."""
    from domains import agents as domain_agents
    from domains import routing

    decision = routing.decide(text, pool, keep_pool=True)
    triage = domain_agents.triage_of(decision, text)
    if decision.short_circuit:
        reply = domain_agents.emergency_reply(text, triage)
    else:
        reply = provider(text) if provider else domain_agents.offline_answer(pool, text, topic=decision.topic)
    return domain_agents.guard_reply(decision, reply, triage)


def guarded(pool: str, text: str, reply: str) -> str:
    """The reply guard on a provider's `reply`, with the decision and triage a task of `pool` would carry."""
    return domain_reply(pool, text, lambda _text: reply)


@contextmanager
def queue_on(url: str, direct: bool = False, dispatcher: Any = None) -> Iterator[TaskQueue]:
    """A TaskQueue (or, with `direct`, the Celery worker's DirectTaskQueue) on a migrated database, with a fast
    seeded retry policy; closed and disposed afterwards."""
    import random

    import database
    import task_processor

    engine = database.make_engine(url)
    database.ensure_schema(engine)
    kind = task_processor.DirectTaskQueue if direct else TaskQueue
    made = kind(engine, dispatcher, retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.05, rng=random.Random(1)))
    try:
        yield made
    finally:
        if isinstance(made, task_processor.DirectTaskQueue):
            made.close()
        engine.dispose()


def claim_one(queue: TaskQueue, pool: str = "general", agent: str = "a1") -> Claim:
    """The next claim of `pool`, which must exist."""
    claim = queue.claim(pool, agent)
    assert claim is not None
    return claim
