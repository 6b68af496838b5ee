"""One error hierarchy for OperatorOS; api_routes maps it to HTTP once."""
from __future__ import annotations

from typing import Any


class OperatorOSError(Exception):
    """Base of every error a user may see; carries a stable code and an HTTP status."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The contract's error object: {code, message}."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(OperatorOSError):
    """The request is malformed or a field is invalid."""

    code = "bad_request"
    http_status = 400


class Unauthorized(OperatorOSError):
    """No valid credentials were given."""

    code = "unauthorized"
    http_status = 401


class Forbidden(OperatorOSError):
    """The caller is known but may not do this."""

    code = "forbidden"
    http_status = 403


class NotFound(OperatorOSError):
    """No such object, or not one the caller may see."""

    code = "not_found"
    http_status = 404


class Conflict(OperatorOSError):
    """The object is in a state that does not allow this."""

    code = "conflict"
    http_status = 409


class Unprocessable(OperatorOSError):
    """Well-formed but cannot be carried out (out of limits, unknown pool...)."""

    code = "unprocessable"
    http_status = 422


class NotUnderstood(OperatorOSError):
    """The request's text could not be turned into a command."""

    code = "not_understood"
    http_status = 422


class NotAvailableYet(OperatorOSError):
    """A feature of the design that this build does not provide yet."""

    code = "not_available_yet"
    http_status = 501


class ServiceUnavailable(OperatorOSError):
    """A dependency (database, broker, provider) cannot be reached."""

    code = "unavailable"
    http_status = 503


class UnknownPool(BadRequest):
    """A pool name that is not one of the five (values.Pool); the one error for it everywhere."""

    code = "unknown_pool"

    def __init__(self, name: object, pools: tuple[str, ...]) -> None:
        super().__init__(f"Unknown pool {name!r}; pools are: {', '.join(pools)}.")
        self.name = name
