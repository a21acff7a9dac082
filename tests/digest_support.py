"""Helpers shared by the digest tests: an SMTP sink (aiosmtpd on 127.0.0.1), a self-signed
certificate, synthetic inputs with alerts we choose, and the simulated account's inputs at a
fixed time."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pandas as pd

from aws import functions as lam
from aws import metrics as cw
from aws.frames import typed_frame
from dashboard.digest.compose import Inputs
from dashboard.figures.pricing import load_prices
from dashboard.query.sources import MEMORY_SCHEMA
from tests.conftest import free_port

# The simulated account's clock in the tests: the hour its seeded error incident (payments-checkout-api) ends.
SIM_NOW = dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


@dataclass
class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps what it accepts; it can defer the first N messages."""

    defer_first: int = 0
    defer_reply: str = "451 4.3.0 Try again later"
    reject_reply: str | None = None  # e.g. "550 5.7.1 Relaying denied": refuse every message
    delay_s: float = 0.0  # wait this long in DATA before accepting (a slow send)
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    logins: list[str] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: object = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        with self._lock:
            self.attempts += 1
            if self.reject_reply:
                return self.reject_reply
            if self.attempts <= self.defer_first:
                return self.defer_reply
        if self.delay_s:  # a slow server: the message is taken only after this long
            await asyncio.sleep(self.delay_s)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 2.0.0 OK"

    def message_ids(self) -> Counter:
        """How many times each Message-ID was received."""
        with self._lock:
            return Counter(str(r.message["Message-ID"]) for r in self.received)

    def start(self, **smtp_kwargs) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **smtp_kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


def authenticator(user: str, password: str, logins: list[str]):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        if ok:
            logins.append(user)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    return check


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, made now (cryptography ships with moto)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert: Path, key: Path):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


# --- synthetic inputs ----------------------------------------------------------------------------------

T_END = pd.Timestamp("2026-11-26T08:00:00Z")
MIN5 = pd.Timedelta(minutes=5)


def inventory(rows: list[dict]) -> pd.DataFrame:
    base = {
        "account": "acct",
        "region": "us-east-1",
        "arn": "arn",
        "architecture": "x86_64",
        "memory_mb": 512,
        "timeout_s": 30,
        "ephemeral_storage_mb": 512,
        "code_size_bytes": 1,
        "last_modified": T_END,
    }
    f = typed_frame([{**base, **{k: v for k, v in r.items() if k not in ("tags", "team")}} for r in rows], lam.SCHEMA)
    f["tags"] = [r.get("tags", {}) for r in rows]
    f["team"] = pd.Series([r.get("team", "untagged") for r in rows], dtype="string")
    return f


def metrics(per_function: dict[str, list[tuple[float, float]]], *, end: pd.Timestamp = T_END) -> pd.DataFrame:
    """Five-minute (invocations, errors) per function, the last period ending at ``end``."""
    rows = []
    for fn, points in per_function.items():
        start = end - len(points) * MIN5
        for i, (inv, err) in enumerate(points):
            rows.append(
                {
                    "account": "acct",
                    "region": "us-east-1",
                    "function": fn,
                    "timestamp": start + i * MIN5,
                    "period_s": 300,
                    "invocations": inv,
                    "errors": err,
                    "throttles": 0.0,
                    "duration_avg_ms": 100.0,
                    "duration_p99_ms": 200.0,
                    "duration_max_ms": 250.0,
                }
            )
    return typed_frame(rows, cw.LAMBDA_SCHEMA)


def synthetic_inputs(inv: pd.DataFrame, met: pd.DataFrame, *, now: pd.Timestamp = T_END, prev_met: pd.DataFrame | None = None) -> Inputs:
    """Inputs for :func:`dashboard.digest.compose.compose` from our own frames (no AWS, no costs)."""
    from aws import costs as ce
    from dashboard.query.timerange import TimeRange

    nowdt = now.to_pydatetime()
    tr = TimeRange(nowdt - dt.timedelta(hours=3), nowdt, "3h")
    empty_mem = typed_frame([], MEMORY_SCHEMA)
    empty_stats = typed_frame([], cw.RANGE_SCHEMA)
    return Inputs(
        now=nowdt,
        trange=tr,
        previous=tr.previous(),
        inventory=inv,
        metrics=met,
        memory=empty_mem,
        stats=empty_stats,
        prev_metrics=prev_met if prev_met is not None else typed_frame([], cw.LAMBDA_SCHEMA),
        prev_memory=empty_mem,
        prev_stats=empty_stats,
        costs=typed_frame([], ce.SCHEMA),
        team_costs=typed_frame([], ce.SCHEMA),
        forecast=typed_frame([], ce.FORECAST_SCHEMA),
        today=nowdt.date(),
        prices=load_prices(),
    )


def demo_inputs(range_text: str = "24h"):
    """The simulated account's inputs at :data:`SIM_NOW` (about 8 s: two ranges of metrics and logs)."""
    from aws import sim
    from dashboard.config import settings
    from dashboard.digest.compose import gather

    sim.set_clock(lambda: SIM_NOW)
    try:
        cfg = settings.load(settings.DEFAULT_CONFIG)
        return gather(cfg, now=SIM_NOW, range_text=range_text)
    finally:
        sim.set_clock(None)


def write_config(folder: Path, email_section: dict, **top) -> Path:
    """The shipped config.yaml (demo account, alert rules) with our ``email:`` section (and other top-level keys)."""
    import yaml

    from dashboard.config import settings

    data = yaml.safe_load(settings.DEFAULT_CONFIG.read_text())
    data["email"] = email_section
    data.update(top)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
