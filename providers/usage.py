"""Provider usage: a price table, one provider_calls row per attempt, each user's token and cost budget."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from database import DirectStatements, direct_insert, direct_statements, session_scope
from errors import OperatorOSError
from models import ProviderCall, User, UTCDateTime, utcnow

logger = logging.getLogger(__name__)

PRICES_PER_MILLION_TOKENS: dict[str, tuple[float, float]] = {
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "builtin-analyzers": (0.0, 0.0),
}
"""USD per million (input, output) tokens; a dated model name takes the price of its longest prefix."""

UNKNOWN_MODEL_PRICE = (1.25, 10.00)
"""Price assumed for a model missing from the table: on the high side, so budgets stay safe."""

DEFAULT_USER_TOKEN_BUDGET = 2_000_000
"""Tokens (in + out) a user may spend before provider calls are refused."""

DEFAULT_USER_COST_BUDGET_USD = 20.0
"""Estimated USD a user may spend before provider calls are refused."""

_CALL_COLUMNS = ("provider", "model", "user_id", "task_id", "request_id", "tokens_in", "tokens_out", "latency_ms",
                 "outcome", "error", "cost_usd", "created_at")
_CHARGE_SQL = ("UPDATE users SET tokens_used = tokens_used + :tokens, cost_used_usd = cost_used_usd + :cost "
               "WHERE id = :user_id")
_CALL_SQL = (f"INSERT INTO provider_calls ({', '.join(_CALL_COLUMNS)}) "
             f"VALUES ({', '.join(':' + c for c in _CALL_COLUMNS)})")


class BudgetExceeded(OperatorOSError):
    """A user's token or cost budget is spent: no more paid provider calls for them."""

    code = "budget_exceeded"
    http_status = 429

    def __init__(self, user_id: int, tokens_used: int, token_budget: int, cost_used_usd: float,
                 cost_budget_usd: float) -> None:
        super().__init__(
            f"User {user_id} has used {tokens_used:,} of {token_budget:,} tokens and "
            f"${cost_used_usd:.2f} of ${cost_budget_usd:.2f}; AI provider calls are stopped for this user "
            f"until an administrator raises the budget.",
            details={"user_id": user_id, "tokens_used": tokens_used, "token_budget": token_budget,
                     "cost_used_usd": round(cost_used_usd, 6), "cost_budget_usd": cost_budget_usd})
        self.user_id = user_id


def estimate_cost(model: str, tokens_in: int, tokens_out: int,
                  prices: Mapping[str, tuple[float, float]] = PRICES_PER_MILLION_TOKENS) -> float:
    """Estimated USD of a call, from the price table."""
    price_in, price_out = price_of(model, prices)
    return (tokens_in * price_in + tokens_out * price_out) / 1_000_000


def price_of(model: str, prices: Mapping[str, tuple[float, float]] = PRICES_PER_MILLION_TOKENS
             ) -> tuple[float, float]:
    """(input, output) USD per million tokens of a model, matching 'gpt-5-mini-2025-08-07' by prefix."""
    name = model.lower().rsplit("/", 1)[-1]
    matches = [key for key in prices if name == key or name.startswith(key + "-")]
    return prices[max(matches, key=len)] if matches else UNKNOWN_MODEL_PRICE


@dataclass(frozen=True)
class CallRecord:
    """One attempt, as it goes into provider_calls."""

    provider: str
    model: str
    request_id: str
    outcome: str
    latency_ms: float
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    user_id: int | None = None
    task_id: int | None = None
    error: str | None = None


class UsageLedger:
    """Writes provider_calls and users' usage, and refuses paid calls past a user's budget.

    Without a session factory it records nothing and enforces nothing (offline tools, benchmarks).
    The budget is checked before each paid attempt and charged after it, so concurrent calls of
    one user may overshoot it by at most the calls in flight.
    """

    def __init__(self, session_factory: sessionmaker[Session] | None, *,
                 token_budget: int = DEFAULT_USER_TOKEN_BUDGET,
                 cost_budget_usd: float = DEFAULT_USER_COST_BUDGET_USD,
                 prices: Mapping[str, tuple[float, float]] = PRICES_PER_MILLION_TOKENS) -> None:
        if token_budget < 0 or cost_budget_usd < 0:
            raise ValueError("budgets must be >= 0")
        self.session_factory = session_factory
        self.token_budget = token_budget
        self.cost_budget_usd = cost_budget_usd
        self.prices = prices
        self._direct: tuple[Any, DirectStatements | None] | None = None

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        """Estimated USD of a call with this ledger's prices."""
        return estimate_cost(model, tokens_in, tokens_out, self.prices)

    def check_budget(self, user_id: int | None) -> None:
        """Raise BudgetExceeded when the user has spent their tokens or money."""
        if user_id is None or self.session_factory is None:
            return
        with session_scope(self.session_factory) as session:
            row = session.execute(sa.select(User.tokens_used, User.cost_used_usd)
                                  .where(User.id == user_id)).first()
        if row is None:
            return
        tokens_used, cost_used = int(row[0] or 0), float(row[1] or 0.0)
        if tokens_used >= self.token_budget or cost_used >= self.cost_budget_usd:
            raise BudgetExceeded(user_id, tokens_used, self.token_budget, cost_used, self.cost_budget_usd)

    def record(self, call: CallRecord) -> None:
        """Store one attempt and charge its usage to the user, in one transaction.

        A failure to write is logged, not raised: an answer is never lost to bookkeeping.
        """
        if self.session_factory is None:
            return
        direct = self._direct_writers()
        try:
            if direct[0] is not None:
                self._record_direct(call, *direct)
                return
            with session_scope(self.session_factory) as session:
                user_id = self._charge(session, call)
                # Core statements: the ORM unit of work would double the cost of this hot path.
                session.execute(sa.insert(ProviderCall.__table__).values(
                    provider=call.provider, model=call.model[:100], user_id=user_id, task_id=call.task_id,
                    request_id=call.request_id, tokens_in=call.tokens_in, tokens_out=call.tokens_out,
                    latency_ms=call.latency_ms, outcome=call.outcome, error=call.error,
                    cost_usd=call.cost_usd))
        except SQLAlchemyError as exc:
            logger.warning("could not record a %s call (request %s): %s", call.provider, call.request_id,
                           exc.__class__.__name__)

    def _direct_writers(self) -> tuple[Any, DirectStatements | None]:
        """On a SQLite file: (insert of one provider_calls row, the charge-and-insert transaction); else (None, None).

        Every model call writes here, concurrently with every agent's claims and results: through the
        ORM session the write cost about 0.35 ms of CPU, most of it the session (4x the SQL's own)."""
        if self._direct is None:
            engine = getattr(self.session_factory, "kw", {}).get("bind")
            insert = both = None
            if isinstance(engine, sa.Engine):
                insert = direct_insert(engine, ProviderCall.__table__, _CALL_COLUMNS)
                both = direct_statements(engine, {
                    "charge": sa.text(_CHARGE_SQL),
                    "call": sa.text(_CALL_SQL).bindparams(sa.bindparam("created_at", type_=UTCDateTime))})
            self._direct = (insert, both)
        return self._direct

    @staticmethod
    def _record_direct(call: CallRecord, insert: Any, both: DirectStatements | None) -> None:
        row = {"provider": call.provider, "model": call.model[:100], "user_id": call.user_id,
               "task_id": call.task_id, "request_id": call.request_id, "tokens_in": call.tokens_in,
               "tokens_out": call.tokens_out, "latency_ms": call.latency_ms, "outcome": call.outcome,
               "error": call.error, "cost_usd": call.cost_usd, "created_at": utcnow()}
        if call.user_id is None or both is None:
            insert(row)  # one autocommit statement: atomic alone
            return
        with both.begin() as run:
            charged = run("charge", {"tokens": call.tokens_in + call.tokens_out, "cost": call.cost_usd,
                                     "user_id": call.user_id}).rowcount
            # An unknown user id is not charged, and the row keeps no dangling reference to it.
            run("call", {**row, "user_id": call.user_id if charged else None})

    @staticmethod
    def _charge(session: Session, call: CallRecord) -> int | None:
        if call.user_id is None:
            return None
        users = User.__table__.c
        result = cast("sa.CursorResult[Any]", session.execute(
            sa.update(User.__table__).where(users.id == call.user_id).values(
                tokens_used=users.tokens_used + call.tokens_in + call.tokens_out,
                cost_used_usd=users.cost_used_usd + call.cost_usd)))
        # An unknown user id is not charged, and the row keeps no dangling reference to it.
        return call.user_id if result.rowcount else None
