"""Latency the provider layer adds per call, beside a bare openai SDK call to the same test server.

Run:  .venv/bin/python bench/provider_overhead.py [--calls 300]

Both sides send the same request to tests/fake_openai.py on 127.0.0.1 (an instant answer), in the
same process, interleaved call by call so that both see the same machine load; the medians and
their ratio are printed. The bare side is `client.chat.completions.create(...)` (and
`client.responses.create(...)`) with the SDK's retries off. The layer side is `chain.complete(...)`
from build_providers: request validation, budget check, breaker, timeout, parsing, and one
provider_calls row plus the user's usage written to SQLite per call (a second layer row shows the
same without a database, to separate the bookkeeping from the rest).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

import database  # noqa: E402
from ai_providers import ProviderChain, ProviderOptions, ProviderRequest, build_providers  # noqa: E402
from config import Settings  # noqa: E402
from models import User  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

KEY = "sk-bench-not-a-real-key"
"""Key sent to the local test server."""

MESSAGE = "Summarise the health of the five agent pools in two lines."
"""The one request both sides send."""

MAX_OUTPUT_TOKENS = 256
"""Same output cap on both sides."""

WARMUP_CALLS = 20
"""Calls per side before timing (imports, connections)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per side (default 300)")
    args = parser.parse_args()
    with FakeOpenAI() as server, tempfile.TemporaryDirectory() as folder:
        engine = database.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        database.ensure_schema(engine)
        factory = database.make_session_factory(engine)
        with database.session_scope(factory) as session:
            user = User(name="bench")
            session.add(user)
            session.flush()
            user_id = user.id
        client = openai.OpenAI(api_key=KEY, base_url=server.base_url, max_retries=0, timeout=30)
        chains = {name: _chain(server.base_url, provider, db) for name, provider, db in (
            ("chat", "openai-chat", factory), ("chat-nodb", "openai-chat", None),
            ("responses", "openai-responses", factory))}
        try:
            print(f"{args.calls} timed calls per side, interleaved, after {WARMUP_CALLS} warm-up calls; "
                  f"fake OpenAI server at {server.base_url}")
            _compare("chat completions", lambda: _bare_chat(client), chains["chat"], user_id, args.calls)
            _compare("chat, no database", lambda: _bare_chat(client), chains["chat-nodb"], None, args.calls)
            _compare("responses", lambda: _bare_responses(client), chains["responses"], user_id, args.calls)
        finally:
            client.close()
            for chain in chains.values():
                chain.close()
            engine.dispose()


def _chain(base_url: str, provider: str, factory: Any) -> ProviderChain:
    settings = Settings(home=ROOT / "instance", database_url="sqlite://", openai_api_key=KEY,
                        openai_base_url=base_url, provider=provider)
    return build_providers(settings, factory, options=ProviderOptions(timeout=30))


def _bare_chat(client: openai.OpenAI) -> str:
    completion = client.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": MESSAGE}],
        max_completion_tokens=MAX_OUTPUT_TOKENS, timeout=30)
    return completion.choices[0].message.content or ""


def _bare_responses(client: openai.OpenAI) -> str:
    response = client.responses.create(model="gpt-5-mini", input=[{"role": "user", "content": MESSAGE}],
                                       max_output_tokens=MAX_OUTPUT_TOKENS, timeout=30)
    return response.output_text


def _compare(label: str, bare: Callable[[], str], chain: ProviderChain, user_id: int | None,
             calls: int) -> None:
    def layer() -> str:
        response = chain.complete(ProviderRequest(messages=[{"role": "user", "content": MESSAGE}],
                                                  user_id=user_id, max_output_tokens=MAX_OUTPUT_TOKENS))
        assert response.provider == chain.primary.name, response.fallback_from
        return response.text

    for _ in range(WARMUP_CALLS):
        bare(), layer()
    bare_ms, layer_ms = [], []
    for _ in range(calls):
        bare_ms.append(_timed(bare))
        layer_ms.append(_timed(layer))
    bare_median, layer_median = statistics.median(bare_ms), statistics.median(layer_ms)
    print(f"{label:18} bare SDK median {bare_median:6.2f} ms | provider layer median "
          f"{layer_median:6.2f} ms | added {layer_median - bare_median:5.2f} ms per call | "
          f"ratio {layer_median / bare_median:4.2f}")


def _timed(call: Callable[[], str]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
