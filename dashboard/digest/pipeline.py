"""One digest, end to end: compose, render, send (or write a dry run), and record the state.

Order of a real send, so that a crash at any point neither loses a digest nor sends
one twice without cause, and two senders at once (two schedulers, a cron overlap, a
restart during a slow send) send a slot once:

1. the slot is claimed under the state file's lock (:meth:`~dashboard.digest.state.StateStore.claim`)
   before anything is composed: a slot already handled is skipped (unless ``force``), a
   slot another live sender holds is left to it, and while another slot of the same
   digest is held the claim waits for it. The lease lasts :func:`lease_seconds`, so a
   sender that died leaves the slot to the next run once it expires (at once on the same
   machine, where a dead pid is seen);
2. the digest is composed with the alerts remembered from the previous send, as read
   under the lock by the claim;
3. with ``only_when_changed`` and nothing new, resolved or different in the budget
   status, the slot is recorded as handled, the claim dropped, and nothing is sent;
4. the claim is renewed for a whole send with its retries; if another run took it over
   meanwhile (the lease had expired), nothing is sent;
5. the message is sent, retried with backoff (:func:`~dashboard.digest.transport.send_with_retry`);
6. the slot, the alerts now firing and the budget status are recorded atomically, and
   the claim is dropped. A failure after retries records ``last_error``, leaves the
   slot unhandled (the scheduler's catch-up may retry it) and raises
   :class:`~dashboard.digest.errors.DeliveryError`.

The Message-ID is derived from the digest and the slot, so if the process dies between
5 and 6 and the slot is sent again, mail systems that de-duplicate by Message-ID see the
same message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from dashboard.config.settings import DigestSettings, Settings
from dashboard.digest.compose import Digest, Inputs, compose, gather
from dashboard.digest.errors import DeliveryError, StateError
from dashboard.digest.export import digest_dict
from dashboard.digest.render import build_message, preview_html
from dashboard.digest.state import Claim, DigestRecord, Lease, StateStore
from dashboard.digest.transport import Sent, Transport, send_with_retry

__all__ = ["Outcome", "slot_key", "message_id", "state_path", "lease_seconds", "build", "run_digest", "write_dry_run", "InputsCache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one digest for one slot."""

    digest: str
    slot: str
    status: str  # sent | skipped_unchanged | already_sent | busy (another sender has it) | dry_run
    subject: str = ""
    recipients: tuple[str, ...] = ()
    message_id: str = ""
    attempts: int = 0
    files: tuple[Path, ...] = ()
    facts: Digest | None = field(default=None, repr=False, compare=False)  # what the message said
    note: str = ""  # busy: who is sending the slot


def slot_key(when: datetime, tz: str) -> str:
    """A slot's name: the local wall-clock minute in the digest's time zone, e.g. ``2026-11-26T08:00 Europe/Berlin``.

    Keyed by local time, the two 01:30s of a night when clocks go back are one slot, so a
    daily digest goes out once.
    """
    local = when.astimezone(ZoneInfo(tz))
    return f"{local:%Y-%m-%dT%H:%M} {tz}"


def message_id(digest: str, slot: str, sender: str) -> str:
    """A Message-ID fixed by the digest and slot (so a resend after a crash is recognisably the same message)."""
    h = hashlib.sha256(f"{digest}\0{slot}".encode()).hexdigest()[:24]
    return f"<lambda-lens.{h}@{sender.rsplit('@', 1)[-1]}>"


def state_path(settings: Settings) -> Path:
    """``email.state_path``, relative to the config file's folder (the working directory for the built-in default)."""
    p = Path(settings.email.state_path)
    if p.is_absolute():
        return p
    src = Path(settings.source)
    base = src.parent if src.suffix in (".yaml", ".yml") else Path.cwd()
    return (base / p).resolve()


SMTP_STEPS = 10  # connect, greeting, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, the message: each may wait the whole timeout
WAIT_POLL_S = 0.5  # how often a sender waiting for another slot's claim looks again


def lease_seconds(settings: Settings) -> float:
    """How long a claim on a slot holds: twice the longest a send can take with every retry, plus a minute.

    One SMTP try waits at most :data:`SMTP_STEPS` × ``email.smtp.timeout_s``; one SES try
    at most ``aws.max_attempts`` × (``aws.connect_timeout_s`` + ``aws.read_timeout_s``).
    A send is ``email.retry_attempts`` tries and the backoff waits between them. With the
    defaults (SMTP, 30 s, 4 tries, 2 s backoff) that is 2 × 1,214 s + 60 s, about 41 minutes.
    """
    e = settings.email
    if e.transport == "smtp":
        per_try = SMTP_STEPS * e.smtp.timeout_s
    else:
        a = settings.aws
        per_try = a.max_attempts * (a.connect_timeout_s + a.read_timeout_s)
    waits = sum(e.retry_backoff_s * 2**i for i in range(e.retry_attempts - 1))
    return 2 * (e.retry_attempts * per_try + waits) + 60


class InputsCache:
    """The inputs of one run, loaded once per range and shared by its digests."""

    def __init__(self, settings: Settings, *, now: datetime, loader: Callable[..., Inputs] | None = None):
        self.settings = settings
        self.now = now
        self._loader = loader
        self._by_range: dict[str, Inputs] = {}

    def get(self, range_text: str) -> Inputs:
        if range_text not in self._by_range:
            teams = any(d.team is not None for d in self.settings.email.digests)
            load = self._loader or gather
            self._by_range[range_text] = load(self.settings, now=self.now, range_text=range_text, team_costs=teams)
        return self._by_range[range_text]

    @property
    def loaded(self) -> list[Inputs]:
        return list(self._by_range.values())


def build(settings: Settings, digest: DigestSettings, inputs: Inputs, *, previous: DigestRecord | None, slot: str) -> tuple[Digest, EmailMessage]:
    """The digest's facts and its message (Message-ID fixed by the slot)."""
    d = compose(settings, digest, inputs, previous=previous)
    msg = build_message(d, sender=settings.email.sender, sender_name=settings.email.sender_name, message_id=message_id(digest.name, slot, settings.email.sender))
    return d, msg


def write_dry_run(out_dir: Path, digest: DigestSettings, d: Digest, msg: EmailMessage) -> tuple[Path, Path, Path]:
    """``<name>-<local date>.eml`` (the exact message), ``.html`` (a preview with the images inlined) and
    ``.json`` (the composed facts, :func:`~dashboard.digest.export.digest_dict`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{digest.name}-{d.local_time:%Y-%m-%d}"
    eml = out_dir / f"{stem}.eml"
    page = out_dir / f"{stem}.html"
    facts = out_dir / f"{stem}.json"
    eml.write_bytes(msg.as_bytes())
    page.write_text(preview_html(msg), encoding="utf-8")
    facts.write_text(json.dumps(digest_dict(d), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return eml, page, facts


def run_digest(
    settings: Settings,
    digest: DigestSettings,
    *,
    slot_at: datetime,
    inputs: Inputs | InputsCache,
    store: StateStore,
    transport: Transport | None = None,
    dry_run_dir: Path | None = None,
    force: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    wait: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Compose and send (or, with ``dry_run_dir``, write) ``digest`` for the slot at ``slot_at``.

    A dry run reads the state (so "new" and "resolved" are what the next send would say)
    but never writes it, and claims nothing. ``force`` sends even when the slot was
    handled or nothing changed, but never while another sender holds the slot.
    ``sleep`` waits between send retries; ``wait`` while another slot's claim is held.
    """
    slot = slot_key(slot_at, digest.timezone)
    if dry_run_dir is not None:
        record = store.load().record(digest.name)
        data = inputs.get(digest.range) if isinstance(inputs, InputsCache) else inputs
        d, msg = build(settings, digest, data, previous=record if record.sent_at else None, slot=slot)
        files = write_dry_run(dry_run_dir, digest, d, msg)
        return Outcome(digest.name, slot, "dry_run", str(msg["Subject"]), d.recipients, str(msg["Message-ID"]), 0, files, d)

    lease_s = lease_seconds(settings)
    claim = _claim(store, digest.name, slot, lease_s=lease_s, force=force, wait=wait)
    if claim.status == "handled":
        log.info("digest %s: slot %s was already handled; not sending it again", digest.name, slot)
        return Outcome(digest.name, slot, "already_sent")
    if claim.status == "busy":
        return _busy(digest.name, slot, claim.lease)
    lease = claim.lease
    assert lease is not None
    stale = claim.took_over
    if stale is not None and stale.slot == slot:
        log.warning("digest %s: slot %s was being sent by %s, which stopped before recording it; sending it again with the same Message-ID", digest.name, slot, stale.owner)
    elif stale is not None:
        log.warning("digest %s: slot %s was claimed by %s, which stopped before recording it; it may not have been sent", digest.name, stale.slot, stale.owner)
    record = claim.record
    at_iso = slot_at.astimezone(UTC).isoformat()
    try:
        data = inputs.get(digest.range) if isinstance(inputs, InputsCache) else inputs
        d, msg = build(settings, digest, data, previous=record if record.sent_at else None, slot=slot)
        subj = str(msg["Subject"])
        if digest.only_when_changed and not d.changed and not force:
            store.finish(digest.name, lease, lambda r: r.with_slot(slot, at_iso))
            log.info("digest %s: nothing changed since the last send; slot %s not sent", digest.name, slot)
            return Outcome(digest.name, slot, "skipped_unchanged", subj, d.recipients, facts=d)
        if transport is None:
            raise ValueError("a transport is needed to send")
        renewed = store.renew(digest.name, lease, lease_s=lease_s)
    except Exception:
        with contextlib.suppress(StateError):
            store.release(digest.name, lease)
        raise
    if renewed is None:  # our lease expired while composing and another run took the slot over
        log.warning("digest %s: slot %s was taken over by another sender while this one composed it; not sending it", digest.name, slot)
        return _busy(digest.name, slot, store.load().record(digest.name).lease)
    try:
        sent: Sent = send_with_retry(
            transport,
            msg,
            sender=settings.email.sender,
            recipients=d.recipients,
            attempts=settings.email.retry_attempts,
            backoff_s=settings.email.retry_backoff_s,
            sleep=sleep,
        )
    except DeliveryError as e:
        failure = f"{slot}: {e}"
        store.finish(digest.name, renewed, lambda r: replace(r, last_error=failure))
        raise
    except Exception:
        with contextlib.suppress(StateError):
            store.release(digest.name, renewed)
        raise
    sent_iso = d.generated_at.astimezone(UTC).isoformat()
    ours = store.finish(
        digest.name,
        renewed,
        lambda r: replace(
            r.with_slot(slot, at_iso),
            sent_at=sent_iso,
            message_id=str(msg["Message-ID"]),
            alerts=dict(d.memo),
            budget_status=d.spend.status,
            last_error=None,
        ),
    )
    if not ours:
        log.warning("digest %s: the send of slot %s outlasted its claim (%.0f s), so another run may have sent it too", digest.name, slot, lease_s)
    log.info(
        "digest %s: sent slot %s via %s to %d recipient(s) in %d attempt(s): %s",
        digest.name,
        slot,
        sent.transport,
        len(sent.recipients),
        sent.attempts,
        subj,
    )
    return Outcome(digest.name, slot, "sent", subj, d.recipients, str(msg["Message-ID"]), sent.attempts, facts=d)


def _claim(store: StateStore, name: str, slot: str, *, lease_s: float, force: bool, wait: Callable[[float], None]) -> Claim:
    """Claim the slot; while another slot of the digest is held by a live sender, wait for it."""
    waited = False
    while True:
        claim = store.claim(name, slot, lease_s=lease_s, force=force)
        if claim.status != "wait":
            return claim
        if not waited:
            assert claim.lease is not None
            log.info("digest %s: %s is sending slot %s; slot %s waits for it", name, claim.lease.owner, claim.lease.slot, slot)
            waited = True
        wait(WAIT_POLL_S)


def _busy(name: str, slot: str, held: Lease | None) -> Outcome:
    note = f"being sent by {held.owner} (claimed until {held.until[:19].replace('T', ' ')} UTC)" if held else "being sent by another run"
    log.info("digest %s: slot %s is %s; not sending it here", name, slot, note)
    return Outcome(name, slot, "busy", note=note)
