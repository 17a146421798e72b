"""The stitching service's exceptions: one base, narrow subclasses. The API maps each to one HTTP status."""

from __future__ import annotations


class StitchingError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(StitchingError):
    """The service's environment settings are missing or malformed (raised at start-up, names the variable)."""


class InvalidRequest(StitchingError):
    """A request's content is wrong (an impossible phone number, a bad date); answered 422 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(StitchingError):
    """The profile, conversation or merge named by the request does not exist; answered 404."""


class Conflict(StitchingError):
    """The request cannot apply to the current state (undo of an undone merge, reused idempotency key); 409."""


class StoreUnavailable(StitchingError):
    """The database cannot be reached or refused the work; answered 503 so callers retry, never a wrong answer."""


class RetryTransaction(StitchingError):
    """Internal: what was read before locking changed (a concurrent merge); the unit of work starts again."""
