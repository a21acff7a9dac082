"""``python -m dashboard digest`` and ``python -m dashboard schedule``: argument parsing and reporting only.

:func:`add_parsers` adds both commands to the CLI's subparsers; :func:`cmd_digest` and
:func:`cmd_schedule` take the parsed arguments and two text streams and return the exit
code (DESIGN.md: 0 success, 2 bad input, 1 a failure to reach AWS or to deliver). Errors
are one sentence on ``err``. The keyword-only arguments (clock, sleep, transport, stop)
exist for tests and are never set by the CLI.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from dashboard.config import settings as settings_mod
from dashboard.config.echo import cut, echo
from dashboard.config.settings import ConfigError, DigestSettings, Settings
from dashboard.digest.compose import check_settings
from dashboard.digest.errors import DeliveryError, StateError
from dashboard.digest.pipeline import InputsCache, Outcome, run_digest, state_path
from dashboard.digest.schedule import Scheduler, utc_now
from dashboard.digest.state import StateStore
from dashboard.digest.transport import Transport, from_settings

__all__ = ["add_parsers", "cmd_digest", "cmd_schedule", "COMMANDS"]

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2
_LOGGER = "dashboard.digest"


def add_parsers(subparsers) -> None:
    """Add ``digest`` and ``schedule`` to ``subparsers`` (the CLI's ``add_subparsers()`` result)."""
    d = subparsers.add_parser(
        "digest",
        help="compose the e-mail digests now: write them (--dry-run) or send them (--send)",
        description=(
            "Compose each digest in config.yaml (email.digests), or only those chosen with --team / --name, "
            "and either write it as .eml, .html and .json files (--dry-run --out DIR) or send it (--send). "
            "Run it from cron, a systemd timer or a Kubernetes CronJob; see docs/digests.md."
        ),
    )
    d.add_argument("--config", metavar="PATH", help="config.yaml to use (default: ./config.yaml, else the demo account)")
    d.add_argument("--team", metavar="NAME", help="only the digest(s) of this team")
    d.add_argument("--name", metavar="DIGEST", help="only the digest with this name")
    mode = d.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="write the messages to --out instead of sending; the state is not changed")
    mode.add_argument("--send", action="store_true", help="send the messages with the transport in email.transport and record them in the state")
    d.add_argument("--out", metavar="DIR", help="the folder a dry run writes <digest>-<date>.eml, .html and .json into")
    d.add_argument("--force", action="store_true", help="send even when this minute was already sent or nothing changed (only_when_changed)")

    s = subparsers.add_parser(
        "schedule",
        help="run forever, sending each digest on its cron schedule",
        description=(
            "Send each digest of config.yaml on its cron expression (schedule, in its timezone), logging each send "
            "to stderr. A slot is never sent twice, across restarts too; a slot missed by less than email.catch_up_s "
            "while the scheduler was down is sent when it starts. Stop it with SIGTERM or Ctrl-C."
        ),
    )
    s.add_argument("--config", metavar="PATH", help="config.yaml to use (default: ./config.yaml, else the demo account)")
    s.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info", help="how much to log (default: info)")


def _settings(path: str | None) -> Settings:
    cfg = settings_mod.load(path)
    check_settings(cfg)
    return cfg


def _select(cfg: Settings, *, team: str | None, name: str | None) -> list[DigestSettings]:
    digests = list(cfg.email.digests)
    if not digests:
        raise ConfigError(f"{cfg.source}: email.digests is empty; add a digest (name, recipients, schedule), see docs/digests.md")
    if team is not None:
        digests = [d for d in digests if d.team == team]
        if not digests:
            teams = sorted({d.team for d in cfg.email.digests if d.team is not None})
            raise ConfigError(f"no digest for team {echo(team)} in email.digests (teams with a digest: {', '.join(teams) or 'none'})")
    if name is not None:
        digests = [d for d in digests if d.name == name]
        if not digests:
            raise ConfigError(f"no digest named {echo(name)} in email.digests (digests: {', '.join(d.name for d in cfg.email.digests)})")
    return digests


_KERNEL = ("/proc", "/sys", "/dev")  # file systems of the kernel's, never a folder for files


def _out_dir(text: str) -> Path:
    """``--out``: a folder, created when missing, that this user can write into; else :class:`ConfigError`
    (one sentence, exit 2) before anything is composed."""
    shown = cut(text)
    path = Path(text)
    try:
        real = path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise ConfigError(f"--out {shown} cannot be used ({getattr(e, 'strerror', None) or e}); give a folder") from None
    kernel = next((k for k in _KERNEL if real == Path(k) or Path(k) in real.parents), None)
    if kernel:
        raise ConfigError(f"--out {shown} is under {kernel}, the kernel's files; give a folder of your own")
    if real.exists() and not real.is_dir():
        raise ConfigError(f"--out {shown} is a file, not a folder; give a folder (it is created when missing)")
    try:
        real.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {shown} cannot be created ({e.strerror or type(e).__name__}); give a folder you can write into") from None
    if not os.access(real, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {shown} cannot be written into (permission denied); give a folder you can write into")
    return path


def _describe(o: Outcome) -> str:
    if o.status == "sent":
        return f"sent {o.digest} ({o.slot}) to {', '.join(o.recipients)}: {o.subject}"
    if o.status == "dry_run":
        return f"wrote {o.digest}: {', '.join(str(f) for f in o.files)} — {o.subject}"
    if o.status == "skipped_unchanged":
        return f"skipped {o.digest} ({o.slot}): nothing changed since the last send"
    if o.status == "busy":
        return f"skipped {o.digest} ({o.slot}): {o.note}"
    return f"skipped {o.digest} ({o.slot}): already sent for this slot (--force sends it again)"


def cmd_digest(
    args: argparse.Namespace,
    out,
    err,
    *,
    clock: Callable[[], datetime] = utc_now,
    transport: Transport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """``digest``: compose now; write (``--dry-run --out DIR``) or send (``--send``) each chosen digest."""
    try:
        cfg = _settings(args.config)
        digests = _select(cfg, team=args.team, name=args.name)
        if args.dry_run and not args.out:
            raise ConfigError("--dry-run needs --out DIR, the folder to write the .eml, .html and .json files into")
        out_dir = _out_dir(args.out) if args.dry_run else None
        if args.send and transport is None:
            transport = from_settings(cfg)
    except ConfigError as e:
        err.write(f"error: {e}\n")
        return EXIT_INPUT
    now = cfg.fixed_now or clock()  # a config's simulation.now composes the digest as at that moment, as the pages
    slot_at = now.replace(second=0, microsecond=0)
    store = StateStore(state_path(cfg))
    cache = InputsCache(cfg, now=now)
    code = EXIT_OK
    extra = {} if sleep is None else {"sleep": sleep}
    for d in digests:
        try:
            o = run_digest(
                cfg,
                d,
                slot_at=slot_at,
                inputs=cache,
                store=store,
                transport=transport,
                dry_run_dir=out_dir,
                force=bool(args.force),
                **extra,
            )
        except DeliveryError as e:
            err.write(f"error: digest {d.name}: {e}\n")
            code = EXIT_FAIL
            continue
        except StateError as e:
            err.write(f"error: {e}\n")
            return EXIT_FAIL
        except OSError as e:  # the dry run's files (a full disk, a folder removed meanwhile)
            err.write(f"error: digest {d.name}: cannot write into {cut(str(out_dir))} ({e.strerror or type(e).__name__})\n")
            code = EXIT_FAIL
            continue
        out.write(_describe(o) + "\n")
    failed = _failed_sources(cache)
    for line in failed:
        err.write(f"warning: {line}\n")
    return EXIT_FAIL if failed and code == EXIT_OK else code


def _failed_sources(cache: InputsCache) -> list[str]:
    lines = []
    for inputs in cache.loaded:
        lines += [s.error for s in inputs.statuses if s.failed and s.error]
    return list(dict.fromkeys(lines))


class _Inputs:
    """Inputs shared by the digests of one scheduler wake-up (same minute)."""

    def __init__(self, cfg: Settings, clock: Callable[[], datetime]):
        self.cfg = cfg
        self.clock = clock
        self._cache: InputsCache | None = None

    def get(self) -> InputsCache:
        now = self.clock()
        if self._cache is None or now - self._cache.now > timedelta(minutes=1):
            self._cache = InputsCache(self.cfg, now=now)
        return self._cache


def cmd_schedule(
    args: argparse.Namespace,
    out,
    err,
    *,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] | None = None,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    until: datetime | None = None,
) -> int:
    """``schedule``: run the scheduler until SIGTERM / Ctrl-C (or ``until``, in tests)."""
    try:
        cfg = _settings(args.config)
        digests = _select(cfg, team=None, name=None)
        transport = transport or from_settings(cfg)
    except ConfigError as e:
        err.write(f"error: {e}\n")
        return EXIT_INPUT
    store = StateStore(state_path(cfg))
    try:
        store.check_lock()  # a file system without locks is refused now, not at the first send
        store.load()
    except StateError as e:
        err.write(f"error: {e}\n")
        return EXIT_FAIL
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger(_LOGGER)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # our handler says it; the root logger (the CLI's basicConfig) would say it again
    logger.setLevel(getattr(logging, str(getattr(args, "log_level", "info")).upper()))
    stop = stop or threading.Event()
    restore = _on_signals(stop)
    shared = _Inputs(cfg, clock)

    def job(d: DigestSettings, slot_at: datetime) -> Outcome:
        kw = {} if sleep is None else {"sleep": sleep}
        return run_digest(cfg, d, slot_at=slot_at, inputs=shared.get(), store=store, transport=transport, **kw)

    sched = Scheduler(
        digests,
        store=store,
        job=job,
        clock=clock,
        sleep=sleep,
        catch_up=timedelta(seconds=cfg.email.catch_up_s),
        stop=stop,
    )
    try:
        out.write(f"scheduling {len(digests)} digest(s) from {cfg.source}; state in {store.path}\n")
        for name, due in sched.plan():
            out.write(f"  {name}: next at {due:%Y-%m-%d %H:%M} UTC\n")
        sched.run(until=until)
    except StateError as e:
        err.write(f"error: {e}\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    out.write(f"stopped after {len(sched.outcomes)} digest run(s), {len(sched.failures)} failure(s)\n")
    return EXIT_OK


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM and SIGINT set ``stop`` (main thread only); returns a function that restores the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in old:
        signal.signal(sig, lambda _s, _f: stop.set())

    def restore() -> None:
        for sig, h in old.items():
            signal.signal(sig, h)

    return restore


COMMANDS = {"digest": cmd_digest, "schedule": cmd_schedule}
