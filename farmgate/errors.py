"""The error family every layer raises; delivery layers turn it into JSON or HTML."""

from __future__ import annotations

from typing import Any


class FarmgateError(Exception):
    """Base error: a user-facing message (Simplified Chinese), a stable code and a status."""

    status: int = 400
    code: str = "bad_request"
    # The request's work is committed even though it fails (a failed sign-in is counted for
    # throttling); the session dependency reads this.
    commit_anyway: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict[str, str] | None = None,
        context: dict[str, Any] | None = None,
        commit_anyway: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if commit_anyway is not None:
            self.commit_anyway = commit_anyway
        self.fields = fields or {}
        self.context = context or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(FarmgateError):
    status = 422
    code = "validation_failed"


class NotFound(FarmgateError):
    status = 404
    code = "not_found"


class PermissionDenied(FarmgateError):
    status = 403
    code = "forbidden"


class AuthenticationRequired(FarmgateError):
    status = 401
    code = "unauthenticated"


class Conflict(FarmgateError):
    status = 409
    code = "conflict"


class Throttled(FarmgateError):
    status = 429
    code = "too_many_attempts"


class InvalidTransition(Conflict):
    code = "invalid_transition"
