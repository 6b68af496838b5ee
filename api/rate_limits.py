"""Rate limits of the API and MCP doors: fixed windows per user and endpoint, failed sign-ins per address,
concurrent long polls per user, counted in the `limits` library's storage (memory, Redis...)."""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from werkzeug.exceptions import TooManyRequests

from config import DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_MAX_LONG_POLLS, ConfigError
from values import Caller

LIMIT_SWEEP_SECONDS = 60.0
"""How often ProcessMemoryStorage drops the counters of windows that have ended."""


class RateLimiter:
    """Fixed-window limits per authenticated user and endpoint: 429 with Retry-After past any of them.

    What Flask-Limiter's default limits did for this API, counted in the same library's storage
    (`limits`: memory, Redis...) by the same fixed-window rule and answered with the same headers,
    without its per-request work (limit strings parsed again, exemption flags and blueprint scopes
    resolved again for every request), which cost more than the view it guarded. Requests that
    match no route and `exempt` endpoints are not counted.
    """

    def __init__(self, limits_text: str, storage_uri: str = "memory://", *,
                 exempt: frozenset[str] = frozenset(), failure_limit: str = DEFAULT_AUTH_FAILURE_LIMIT,
                 max_long_polls: int = DEFAULT_MAX_LONG_POLLS, scope: str = "") -> None:
        # Shortest window first: it is counted first and, unless another is exceeded, named in the headers.
        self.items: list[RateLimitItem] = sorted(parse_many(limits_text))
        self.failure_items: list[RateLimitItem] = sorted(parse_many(failure_limit))
        self._windows = [_Window(item) for item in self.items]
        self._failure_windows = [_Window(item) for item in self.failure_items]
        storage = ProcessMemoryStorage() if storage_uri == "memory://" else storage_from_string(storage_uri)
        if not isinstance(storage, Storage):  # an "async+..." URI: limits' asyncio storages return coroutines
            raise ConfigError(f"OPERATOROS_RATE_LIMIT_STORAGE={storage_uri!r} is an asyncio storage; "
                              "give its synchronous URI (without 'async+').")
        self.storage: Storage = storage
        self.exempt = exempt
        self.max_long_polls = max_long_polls
        self.scope = scope
        """Prefix of the per-user counters: user ids are per database, a shared Redis is not."""
        self._polls: dict[int, int] = {}
        self._polls_lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        """Add the headers of the limit that applied to every answer (authenticate counts the requests)."""
        app.after_request(self.add_headers)

    def hit(self, caller: Caller, endpoint: str | None) -> None:
        """Count this request of the authenticated `caller` at `endpoint` in each limit's window; 429 at the
        first exceeded.

        Counted per user, not per header: 'bearer', 'BEARER' or two spaces in front of one key are one caller.
        """
        if endpoint is None or endpoint in self.exempt:
            return
        applied, exceeded = self.count_user(caller, endpoint)
        g.applied_rate_limit = applied
        if exceeded:
            raise TooManyRequests(description=str(applied[0]))

    def count_user(self, caller: Caller, endpoint: str) -> tuple[tuple[RateLimitItem, str, int], bool]:
        """count() for the authenticated `caller`'s own counters (scoped to this database)."""
        return self.count(f"{self.scope}user:{caller.user_id}", endpoint)

    def failures_exceeded(self, address: str) -> bool:
        """Whether `address` has failed authentication more often than the failure limit allows."""
        return any(self.storage.get(w.key("authfail", address)) >= w.amount for w in self._failure_windows)

    def fail(self, address: str) -> None:
        """Count one failed authentication of `address`."""
        for window in self._failure_windows:
            self.storage.incr(window.key("authfail", address), window.expiry)

    @contextlib.contextmanager
    def long_poll(self, caller: Caller) -> Iterator[None]:
        """Hold one of the caller's long-poll places for the block; TooManyRequests (429) when all are taken."""
        with self._polls_lock:
            held = self._polls.get(caller.user_id, 0)
            if held >= self.max_long_polls:
                raise TooManyRequests(description=f"At most {self.max_long_polls} concurrent long polls per user; "
                                                  "wait for one to end.")
            self._polls[caller.user_id] = held + 1
        try:
            yield
        finally:
            with self._polls_lock:
                left = self._polls.get(caller.user_id, 1) - 1
                if left > 0:
                    self._polls[caller.user_id] = left
                else:
                    self._polls.pop(caller.user_id, None)

    def count(self, caller: str, endpoint: str) -> tuple[tuple[RateLimitItem, str, int], bool]:
        """Count one request of `caller` at `endpoint` in each window, shortest first, up to the first
        exceeded: (item, key, count) of the limit that applies, and whether it is exceeded."""
        applied: tuple[RateLimitItem, str, int] | None = None
        for window in self._windows:
            key = window.key(caller, endpoint)
            count = self.storage.incr(key, window.expiry)  # limits' FixedWindowRateLimiter.hit, unrolled
            if count > window.amount:
                return (window.item, key, count), True
            if applied is None:
                applied = (window.item, key, count)
        assert applied is not None  # parse_many gives at least one limit
        return applied, False

    def add_headers(self, response: Response) -> Response:
        """X-RateLimit-Limit, -Remaining, -Reset and Retry-After of the limit that applied, if one did."""
        applied = g.pop("applied_rate_limit", None)
        if applied is None:
            return response
        item, key, count = applied
        reset_at = int(self.storage.get_expiry(key) + 1)
        headers = response.headers
        headers.add("X-RateLimit-Limit", str(item.amount))
        headers.add("X-RateLimit-Remaining", str(max(0, item.amount - count)))
        headers.add("X-RateLimit-Reset", str(reset_at))
        headers["Retry-After"] = str(int(reset_at - time.time()))  # replaces any the view set
        return response


class _Window:
    """One limit with what a request needs of it computed once: limits' `key_for` and `get_expiry`
    rebuild the same strings and numbers from the item on every call."""

    __slots__ = ("amount", "expiry", "head", "item", "tail")

    def __init__(self, item: RateLimitItem) -> None:
        self.item = item
        self.amount: int = item.amount
        self.expiry: int = item.get_expiry()
        # key_for joins its identifiers with '/' between the namespace and the limit's own parts, so a
        # single marker stands for 'a/b' and splits the key into what comes before and after it.
        self.head, self.tail = item.key_for(_KEY_MARKER).split(_KEY_MARKER)

    def key(self, first: str, second: str) -> str:
        """item.key_for(first, second), for two strings."""
        return f"{self.head}{first}/{second}{self.tail}"


_KEY_MARKER = "\x00"
"""Stands for the identifiers when a _Window splits its key template (no limit's own part holds it)."""


class ProcessMemoryStorage(Storage):
    """Fixed-window rate-limit counters in this process, as limits' "memory://" keeps them, minus its timers.

    limits' MemoryStorage expires counters from a threading.Timer of 10 ms that it starts again on
    the next hit after each run: under steady load a new thread on almost every request, and the
    request waits for that thread to start. Here ended windows are dropped on a hit at most every
    LIMIT_SWEEP_SECONDS, in the caller's thread. Counting is the same: per key, per window.
    """

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._windows: dict[str, list[float]] = {}  # key -> [count, time the window ends]
        self._lock = threading.Lock()
        self._next_sweep = time.time() + LIMIT_SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception]:
        """What this storage raises (nothing it can recover from)."""
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count `amount` hits in the key's current window (a new one of `expiry` seconds if it ended)."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return int(window[0])

    def get(self, key: str) -> int:
        """Hits in the key's current window."""
        window = self._windows.get(key)
        return int(window[0]) if window is not None and window[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the key's current window ends (now if it has none)."""
        window = self._windows.get(key)
        return window[1] if window is not None and window[1] > time.time() else time.time()

    def check(self) -> bool:
        """Always reachable: it is this process's memory."""
        return True

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        with self._lock:
            count = len(self._windows)
            self._windows.clear()
        return count

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        with self._lock:
            self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        self._next_sweep = now + LIMIT_SWEEP_SECONDS
