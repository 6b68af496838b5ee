"""OpenAI Responses + Conversations: one server-side conversation per OperatorOS session, and a tool loop.

The Responses API with the Conversations API is the successor of the Assistants API (threads,
runs), which OpenAI shut down on 2026-08-26; nothing here calls /v1/assistants or /v1/threads.

A session's conversation id is kept in sessions.provider_conversation_id, so a later request of
the same session, from this process or another one, continues the same conversation and sends
only its new turn. A conversation the server no longer knows (404), or refuses to continue
(400, e.g. a tool call left without its output by a killed process), is replaced once by a new
one seeded from our own message history, which stays the source of truth.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from database import session_scope
from models import ConversationSession
from providers.base import CallState, ModelReply, ProviderRequest, ProviderResponse, RemoteProvider
from providers.faults import CallOutcome, MalformedReply, ProviderError

logger = logging.getLogger(__name__)

CONVERSATION_ITEMS_PER_CALL = 20
"""Most items the Conversations API accepts in one create or items.create call."""

STALE_CONVERSATION_STATUSES = (400, 404)
"""Statuses on the first call into a reused conversation that make us start a fresh one."""


@dataclass
class _Binding:
    """The provider conversation a request runs in (None: no session, stateless)."""

    conversation_id: str | None
    reused: bool = False


class OpenAIResponsesProvider(RemoteProvider):
    """The Responses API, with a persistent conversation per session and function tools run by us.

    Streamed when the request has on_delta (text deltas as they come; the answer from the final event).
    """

    name = "openai-responses"

    def __init__(self, *, session_factory: sessionmaker[Session] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_factory = session_factory

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer in the session's conversation, running the model's function calls.

        1. Find the session's conversation, or create one seeded with the earlier messages.
        2. Send the new turn (with tools, if any) to /responses in that conversation.
        3. On 404/400 from a reused conversation, start a fresh seeded one and send again, once.
        4. For each function call, run our handler and send its function_call_output items; the
           last allowed call sends tool_choice='none' (at most max_tool_rounds + 1 model calls).
        """
        state = CallState(request)
        history, turn = _split_turn(request.messages)
        binding = self._bind(state, history)
        pending: list[dict[str, Any]] = turn if binding.conversation_id else history + turn
        previous: str | None = None
        rounds = self.options.max_tool_rounds
        for round_no in range(rounds + 1):
            final = round_no == rounds
            try:
                reply = self._send(state, binding, pending, previous, final)
            except ProviderError as exc:
                if not (round_no == 0 and binding.reused and exc.status in STALE_CONVERSATION_STATUSES):
                    raise
                logger.info("%s: conversation of session %s is unusable (HTTP %s); starting a new one",
                            self.name, request.session_id, exc.status)
                binding = self._replace(state, binding, history)
                reply = self._send(state, binding, pending, previous, final)
            text, calls, response_id = reply.value
            if not calls:
                return self.response(state, text, binding.conversation_id)
            if final:
                break
            pending = [{"type": "function_call_output", "call_id": result.call_id, "output": result.output}
                       for result in self.run_tools(state, calls)]
            previous = None if binding.conversation_id else response_id
        raise self.tool_loop_error(state)

    def _send(self, state: CallState, binding: _Binding, items: list[dict[str, Any]], previous: str | None,
              final: bool) -> ModelReply:
        request = state.request
        kwargs: dict[str, Any] = {"model": self.model, "input": items, "timeout": self.call_timeout(state),
                                  "max_output_tokens": request.max_output_tokens}
        if request.system:
            kwargs["instructions"] = request.system
        if binding.conversation_id:
            kwargs["conversation"] = binding.conversation_id
        elif previous:
            kwargs["previous_response_id"] = previous
        if request.tools:
            kwargs.update(tools=[tool.openai_responses_schema() for tool in request.tools],
                          tool_choice="none" if final else "auto")
        if state.emit is not None:
            return self.attempt(state, functools.partial(self._streamed_send, state, kwargs))
        return self.attempt(state, lambda: _parse_response(self.client.responses.create(**kwargs)))

    def _streamed_send(self, state: CallState, kwargs: dict[str, Any]) -> ModelReply:
        """One streamed call: text deltas go to on_delta as they come; the answer (text, function calls,
        usage) is read from the final response.completed event, exactly as from an unstreamed reply."""
        assert state.emit is not None
        final = None
        with self.client.responses.create(**kwargs, stream=True) as stream:
            for event in stream:
                kind = getattr(event, "type", None)
                if kind == "response.output_text.delta":
                    state.emit(event.delta)
                elif kind in ("response.completed", "response.failed", "response.incomplete"):
                    final = event.response
        if final is None:
            raise MalformedReply("openai-responses: the stream ended without its response")
        return _parse_response(final)

    # -- conversations ------------------------------------------------------------------------
    def _bind(self, state: CallState, history: list[dict[str, Any]]) -> _Binding:
        session_id = state.request.session_id
        if session_id is None or self.session_factory is None:
            return _Binding(None)
        with session_scope(self.session_factory) as session:
            row = session.get(ConversationSession, session_id)
            if row is None:
                logger.info("%s: session %s is not in the database; answering without a conversation",
                            self.name, session_id)
                return _Binding(None)
            stored = row.provider_conversation_id
        if stored:
            return _Binding(stored, reused=True)
        created = self._create(state, history)
        return _Binding(self._store(state, created, expected=None))

    def _replace(self, state: CallState, stale: _Binding, history: list[dict[str, Any]]) -> _Binding:
        created = self._create(state, history)
        return _Binding(self._store(state, created, expected=stale.conversation_id))

    def _create(self, state: CallState, history: list[dict[str, Any]]) -> str:
        """A new conversation holding the earlier messages (20 per call, as the API allows)."""
        first, rest = history[:CONVERSATION_ITEMS_PER_CALL], history[CONVERSATION_ITEMS_PER_CALL:]
        metadata = {"operatoros_session": str(state.request.session_id)[:512]}
        reply = self.attempt(state, lambda: _conversation_reply(
            self.client.conversations.create(items=first, metadata=metadata, timeout=self.call_timeout(state))),
            operation="create_conversation")
        conversation_id: str = reply.value
        for start in range(0, len(rest), CONVERSATION_ITEMS_PER_CALL):
            chunk = rest[start:start + CONVERSATION_ITEMS_PER_CALL]
            self.attempt(state, functools.partial(self._add_items, conversation_id, chunk, self.call_timeout(state)),
                         operation="add_conversation_items")
        return conversation_id

    def _add_items(self, conversation_id: str, items: list[dict[str, Any]], timeout: Any) -> ModelReply:
        return _items_reply(self.client.conversations.items.create(conversation_id, items=items, timeout=timeout))

    def _store(self, state: CallState, created: str, expected: str | None) -> str:
        """Save the new id on the session unless another process got there first; the id in force."""
        assert self.session_factory is not None
        session_id = state.request.session_id
        column = ConversationSession.provider_conversation_id
        with session_scope(self.session_factory) as session:
            changed = cast("sa.CursorResult[Any]", session.execute(
                sa.update(ConversationSession)
                .where(ConversationSession.id == session_id, column.is_(None) if expected is None else
                       column == expected)
                .values(provider_conversation_id=created))).rowcount
            current = created if changed else session.scalar(sa.select(column).where(
                ConversationSession.id == session_id))
        if current and current != created:
            logger.info("%s: session %s got a conversation from another process; using it", self.name,
                        session_id)
            self._discard(state, created)
            return current
        return created

    def _discard(self, state: CallState, conversation_id: str) -> None:
        try:
            self.attempt(state, lambda: _deleted_reply(self.client.conversations.delete(
                conversation_id, timeout=self.call_timeout(state))), max_attempts=1,
                operation="delete_conversation")
        except ProviderError:
            logger.info("%s: could not delete unused conversation %s", self.name, conversation_id)


def _split_turn(messages: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(earlier messages, the new turn): the new turn is what follows the last assistant message."""
    items = [{"type": "message", "role": m["role"], "content": m["content"]} for m in messages]
    cut = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1) + 1
    if cut >= len(items):
        cut = len(items) - 1
    return items[:cut], items[cut:]


def _parse_response(response: Any) -> ModelReply:
    try:
        if getattr(response, "status", None) == "failed":
            error = getattr(response, "error", None)
            raise ProviderError(f"openai-responses: the response failed: {getattr(error, 'message', error)}",
                                provider="openai-responses", outcome=CallOutcome.SERVER_ERROR)
        calls = [(item.call_id, item.name, item.arguments) for item in response.output
                 if getattr(item, "type", None) == "function_call"]
        text = response.output_text
        usage = response.usage
        tokens = (usage.input_tokens, usage.output_tokens) if usage is not None else (0, len(text) // 4 + 1)
        response_id = response.id
    except (AttributeError, TypeError, KeyError) as exc:
        raise MalformedReply(f"not a response object: {type(response).__name__}") from exc
    outcome = CallOutcome.TOOL_CALLS if calls else CallOutcome.OK
    return ModelReply((text, calls, response_id), outcome, *tokens)


def _conversation_reply(conversation: Any) -> ModelReply:
    conversation_id = getattr(conversation, "id", None)
    if not isinstance(conversation_id, str) or not conversation_id:
        raise MalformedReply(f"not a conversation: {type(conversation).__name__}")
    return ModelReply(conversation_id, CallOutcome.CONVERSATION)


def _items_reply(item_list: Any) -> ModelReply:
    if not isinstance(getattr(item_list, "data", None), list):
        raise MalformedReply(f"not a conversation item list: {type(item_list).__name__}")
    return ModelReply(len(item_list.data), CallOutcome.CONVERSATION)


def _deleted_reply(deleted: Any) -> ModelReply:
    return ModelReply(getattr(deleted, "deleted", None), CallOutcome.CONVERSATION)
