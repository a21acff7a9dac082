"""Scheduled e-mail digests: what is firing, what changed, what it costs, and what to do.

- ``compose``: the facts (alerts new / ongoing / resolved, top movers, spend against the
  forecast and the budget, one line of advice per function), from the data layer and
  the alert engine the dashboard uses;
- ``render``: the subject, HTML (inline styles) and plain text from the Jinja2 templates in
  ``templates/``, CSV and the MIME message; ``export``: the facts as JSON (a dry run's .json);
- ``charts``: small PNG charts (matplotlib, Agg) embedded as inline CID images;
- ``transport``: SMTP (STARTTLS / TLS / AUTH) or SES, with retries and backoff;
- ``state``: the durable memory of what was sent (atomic writes);
- ``pipeline``: one digest end to end; ``schedule``: cron in a time zone, restart-safe;
- ``commands``: ``python -m dashboard digest`` and ``schedule``.

Submodules are imported on use: ``import dashboard.digest`` loads nothing heavy.
"""

from __future__ import annotations

from dashboard.digest.errors import DeliveryError, DigestError, StateError

__all__ = ["DigestError", "DeliveryError", "StateError"]
