"""Opaque pagination tokens: a position plus a fingerprint of the request that made it."""

from __future__ import annotations

import base64
import hashlib
import json

from aws.sim.wire import ApiError

__all__ = ["make", "read", "fingerprint"]


def fingerprint(params: dict, *, drop: tuple[str, ...]) -> str:
    """A short hash of the request parameters that must not change between pages."""
    kept = {k: v for k, v in params.items() if k not in drop}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def make(position: dict, fp: str) -> str:
    raw = json.dumps({"p": position, "h": fp}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read(token: str | None, fp: str, *, code: str = "InvalidNextToken", what: str = "NextToken") -> dict | None:
    """The position in ``token`` (None for no token); a foreign or garbled token → ApiError(code)."""
    if not token:
        return None
    try:
        pad = "=" * (-len(token) % 4)
        doc = json.loads(base64.urlsafe_b64decode(token + pad))
        if doc.get("h") != fp or not isinstance(doc.get("p"), dict):
            raise ValueError("token of another request")
        return doc["p"]
    except (ValueError, TypeError) as e:
        raise ApiError(code, f"The {what} provided is invalid.") from e
