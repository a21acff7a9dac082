"""The digest's typed errors: each ``str()`` is one sentence naming the cause and the fix."""

from __future__ import annotations

__all__ = ["DigestError", "DeliveryError", "StateError"]


class DigestError(Exception):
    """Base of every error the digest package raises on purpose."""


class DeliveryError(DigestError):
    """A message was not delivered after every retry (or the server refused it for good)."""

    def __init__(self, message: str, *, transport: str, attempts: int, permanent: bool = False):
        super().__init__(message)
        self.transport = transport
        self.attempts = attempts
        self.permanent = permanent


class StateError(DigestError):
    """The state file cannot be read or written."""
