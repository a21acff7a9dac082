"""Digests over the wire: a real SMTP server (aiosmtpd on 127.0.0.1) with STARTTLS, implicit TLS and
AUTH; retries; and Amazon SES (SendRawEmail and SESv2) through moto's server."""

from __future__ import annotations

import argparse
import csv
import email
import io
from email import policy

import pytest
import requests

from aws.session import Account
from dashboard.config import settings as settings_mod
from dashboard.config.settings import ConfigError, SmtpSettings
from dashboard.digest import pipeline
from dashboard.digest.commands import add_parsers, cmd_digest
from dashboard.digest.compose import FUNCTIONS_SCHEMA
from dashboard.digest.errors import DeliveryError
from dashboard.digest.pipeline import run_digest
from dashboard.digest.state import StateStore
from dashboard.digest.transport import SesTransport, SmtpTransport, from_settings, send_with_retry
from tests.digest_support import (
    SIM_NOW,
    SmtpSink,
    authenticator,
    demo_inputs,
    self_signed,
    server_context,
    write_config,
)

ORG_SUBJECT = "4 alerts firing, 3 resolved — all teams, 2026-11-26"
TEAM_SUBJECT = "1 alert firing — payments, 2026-11-26"


def layout(images: int) -> list[str]:
    return ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html"] + ["image/png"] * images + ["text/csv"]


LAYOUT = layout(2)  # the payments digest: its firing alert's chart and the spend chart


@pytest.fixture(scope="module")
def sim_inputs():
    return demo_inputs("24h")


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


def digest_args(config, *extra: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    return p.parse_args(["digest", "--config", str(config), *extra])


def email_section(port: int, **smtp) -> dict:
    return {
        "sender": "lambda-lens@example.com",
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", **smtp},
        "retry_backoff_s": 0,
        "digests": [
            {"name": "org", "recipients": ["platform-leads@example.com", "finance@example.com"], "timezone": "UTC"},
            {"name": "payments", "team": "payments", "recipients": ["payments-oncall@example.com"], "timezone": "UTC"},
        ],
    }


def csv_rows(part) -> list[dict]:
    return list(csv.DictReader(io.StringIO(part.get_content())))


def test_send_over_smtp_multipart_with_inline_images_and_csv_right_recipients_per_team(tmp_path, monkeypatch, sink, sim_inputs):
    config = write_config(tmp_path, email_section(sink.port))
    monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
    out, err = io.StringIO(), io.StringIO()
    assert cmd_digest(digest_args(config, "--send"), out, err, clock=lambda: SIM_NOW) == 0, err.getvalue()
    assert out.getvalue().splitlines() == [
        f"sent org (2026-11-26T15:00 UTC) to platform-leads@example.com, finance@example.com: {ORG_SUBJECT}",
        f"sent payments (2026-11-26T15:00 UTC) to payments-oncall@example.com: {TEAM_SUBJECT}",
    ]
    org, team = sink.received
    assert org.mail_from == team.mail_from == "lambda-lens@example.com"
    assert org.rcpt_tos == ["platform-leads@example.com", "finance@example.com"]
    assert team.rcpt_tos == ["payments-oncall@example.com"]

    for got, subject, n_rows, n_images in ((org, ORG_SUBJECT, 48, 4), (team, TEAM_SUBJECT, 5, 2)):
        msg = got.message
        assert msg["Subject"] == subject
        assert msg["From"] == "Lambda Lens <lambda-lens@example.com>"
        assert [p.get_content_type() for p in msg.walk()] == layout(n_images)  # 3 firing alerts with data, and spend
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        images = [p for p in msg.walk() if p.get_content_maintype() == "image"]
        for img in images:
            cid = img["Content-ID"].strip("<>")
            assert f'src="cid:{cid}"' in html
            assert img.get_content_disposition() == "inline"
            assert img.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
        (attachment,) = [p for p in msg.walk() if p.get_content_type() == "text/csv"]
        assert attachment.get_content_disposition() == "attachment"
        assert attachment.get_filename() == f"lambda-digest-{'org' if got is org else 'payments'}-2026-11-26.csv"
        rows = csv_rows(attachment)
        assert list(rows[0]) == list(FUNCTIONS_SCHEMA)
        assert len(rows) == n_rows
        # The same fact in both alternatives.
        assert "error-rate: 25.00 % > 5.00 %" in text and "error-rate: 25.00 % &gt; 5.00 %" in html
        assert "payments-checkout-api" in text and "payments-checkout-api" in html

    team_msg = team.message
    assert {r["team"] for r in csv_rows([p for p in team_msg.walk() if p.get_content_type() == "text/csv"][0])} == {"payments"}
    team_html = team_msg.get_body(("html",)).get_content()
    assert "media-image-resizer" not in team_html and "media-image-resizer" in org.message.get_body(("html",)).get_content()
    assert "Cost Explorer, tag team = payments" in team_html


def test_starttls_with_a_self_signed_certificate_and_auth(tmp_path, monkeypatch, sim_inputs):
    cert, key = self_signed(tmp_path)
    logins: list[str] = []
    sink = SmtpSink().start(
        tls_context=server_context(cert, key), require_starttls=True, auth_required=True, authenticator=authenticator("digest", "s3cret!", logins)
    )
    try:
        config = write_config(tmp_path, email_section(sink.port, security="starttls", username="digest", password_env="DIGEST_SMTP_PW", ca_file=str(cert), timeout_s=5))
        monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
        monkeypatch.setenv("DIGEST_SMTP_PW", "s3cret!")
        out, err = io.StringIO(), io.StringIO()
        assert cmd_digest(digest_args(config, "--send", "--team", "payments"), out, err, clock=lambda: SIM_NOW) == 0, err.getvalue()
        assert logins == ["digest"]
        assert [r.message["Subject"] for r in sink.received] == [TEAM_SUBJECT]

        # A wrong password is refused for good: reported, not retried, and the password never printed.
        monkeypatch.setenv("DIGEST_SMTP_PW", "wrong-password")
        out, err = io.StringIO(), io.StringIO()
        assert cmd_digest(digest_args(config, "--send", "--team", "payments", "--force"), out, err, clock=lambda: SIM_NOW) == 1
        assert err.getvalue().startswith("error: digest payments: Not sent: the SMTP server 127.0.0.1:")
        assert "refused the login of 'digest' (535); check the user and the password in $DIGEST_SMTP_PW" in err.getvalue()
        assert "wrong-password" not in err.getvalue() + out.getvalue()
        assert len(sink.received) == 1

        # Without the CA, the self-signed certificate is not trusted.
        plain = SmtpSettings(host="127.0.0.1", port=sink.port, security="starttls", username="digest", password_env="X")
        with pytest.raises(DeliveryError, match="certificate of 127.0.0.1:.* is not trusted"):
            send_with_retry(SmtpTransport(plain, password="s3cret!"), team_message(sim_inputs), sender="lambda-lens@example.com", recipients=["a@example.com"], sleep=lambda s: None)
    finally:
        sink.stop()


_MESSAGES: dict[int, object] = {}


def team_message(inputs):
    """The payments digest as a message, built once per module (the inputs are shared)."""
    if id(inputs) not in _MESSAGES:
        cfg = settings_mod.load(settings_mod.DEFAULT_CONFIG)
        digest = next(d for d in cfg.email.digests if d.team == "payments")
        _, _MESSAGES[id(inputs)] = pipeline.build(cfg, digest.model_copy(update={"range": "24h"}), inputs, previous=None, slot="s")
    return _MESSAGES[id(inputs)]


def test_implicit_tls(tmp_path, sim_inputs):
    cert, key = self_signed(tmp_path)
    sink = SmtpSink().start(ssl_context=server_context(cert, key))
    try:
        cfg = SmtpSettings(host="127.0.0.1", port=sink.port, security="tls", ca_file=str(cert))
        sent = send_with_retry(SmtpTransport(cfg), team_message(sim_inputs), sender="lambda-lens@example.com", recipients=["a@example.com"])
        assert sent.attempts == 1 and sent.recipients == ("a@example.com",)
        assert sink.received[0].message["Subject"] == TEAM_SUBJECT
    finally:
        sink.stop()


def test_a_server_refusing_then_accepting_is_retried_with_backoff_and_the_message_sent_once(tmp_path, monkeypatch, sim_inputs):
    sink = SmtpSink(defer_first=2).start()
    try:
        section = email_section(sink.port)
        section["retry_backoff_s"] = 1.5
        config = write_config(tmp_path, section)
        monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
        waits: list[float] = []
        out, err = io.StringIO(), io.StringIO()
        assert cmd_digest(digest_args(config, "--send", "--name", "payments"), out, err, clock=lambda: SIM_NOW, sleep=waits.append) == 0
        assert sink.attempts == 3 and len(sink.received) == 1
        assert waits == [1.5, 3.0]
        rec = StateStore(tmp_path / ".lambda-lens" / "digest-state.json").load().record("payments")
        assert rec.slots == ("2026-11-26T15:00 UTC",) and rec.last_error is None and rec.pending is None
    finally:
        sink.stop()


def test_a_send_failing_every_time_is_reported_and_recorded_never_dropped(tmp_path, monkeypatch, sim_inputs):
    sink = SmtpSink(defer_first=99).start()
    try:
        config = write_config(tmp_path, email_section(sink.port))
        monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
        out, err = io.StringIO(), io.StringIO()
        assert cmd_digest(digest_args(config, "--send", "--name", "payments"), out, err, clock=lambda: SIM_NOW, sleep=lambda s: None) == 1
        assert sink.attempts == 4 and sink.received == []
        assert err.getvalue() == (
            f"error: digest payments: Not sent after 4 attempts: the SMTP server 127.0.0.1:{sink.port} answered 451 4.3.0 Try again later.\n"
        )
        rec = StateStore(tmp_path / ".lambda-lens" / "digest-state.json").load().record("payments")
        assert rec.slots == () and rec.pending is None
        assert rec.last_error == f"2026-11-26T15:00 UTC: Not sent after 4 attempts: the SMTP server 127.0.0.1:{sink.port} answered 451 4.3.0 Try again later."
    finally:
        sink.stop()


def test_permanent_refusal_is_not_retried_and_nothing_listening_is(sim_inputs):
    sink = SmtpSink(reject_reply="550 5.7.1 Relaying denied").start()
    msg = team_message(sim_inputs)
    try:
        with pytest.raises(DeliveryError) as info:
            send_with_retry(SmtpTransport(SmtpSettings(host="127.0.0.1", port=sink.port, security="none")), msg, sender="a@example.com", recipients=["b@example.com"], sleep=lambda s: None)
        assert info.value.permanent and info.value.attempts == 1 and sink.attempts == 1
        assert str(info.value) == f"Not sent: the SMTP server 127.0.0.1:{sink.port} answered 550 5.7.1 Relaying denied."
    finally:
        sink.stop()
    waits: list[float] = []
    with pytest.raises(DeliveryError, match=r"Not sent after 3 attempts: cannot reach the SMTP server 127.0.0.1:\d+ \(Connection refused\)"):
        send_with_retry(
            SmtpTransport(SmtpSettings(host="127.0.0.1", port=sink.port, security="none", timeout_s=2)),
            msg,
            sender="a@example.com",
            recipients=["b@example.com"],
            attempts=3,
            backoff_s=0.25,
            sleep=waits.append,
        )
    assert waits == [0.25, 0.5]


def test_the_smtp_password_comes_only_from_the_named_environment_variable(tmp_path, monkeypatch):
    config = write_config(tmp_path, email_section(2525, security="starttls", username="digest", password_env="DIGEST_SMTP_PW"))
    monkeypatch.delenv("DIGEST_SMTP_PW", raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert cmd_digest(digest_args(config, "--send"), out, err) == 2
    assert err.getvalue() == "error: email.smtp.password_env: the environment variable DIGEST_SMTP_PW is not set; export the SMTP password in it\n"
    cfg = settings_mod.load(config)
    t = from_settings(cfg, env={"DIGEST_SMTP_PW": "hunter2"})
    assert isinstance(t, SmtpTransport) and t._password == "hunter2" and "hunter2" not in repr(t)
    with pytest.raises(ConfigError):
        from_settings(cfg, env={})


# --- SES through moto ---------------------------------------------------------------------------------


def verify_sender(moto_url: str) -> None:
    import boto3

    boto3.client("ses", region_name="us-east-1", endpoint_url=moto_url).verify_email_identity(EmailAddress="lambda-lens@example.com")


def moto_ses_messages(moto_url: str) -> list[dict]:
    return requests.get(f"{moto_url}/moto-api/data.json", timeout=10).json()["ses"]["RawMessage"]


@pytest.mark.parametrize("api", ["raw", "v2"])
def test_ses_send_raw_email_and_sesv2_through_moto(tmp_path, moto_account, moto_url, sim_inputs, api):
    verify_sender(moto_url)
    cfg = settings_mod.load(write_config(tmp_path, email_section(25)))
    store = StateStore(tmp_path / "state.json")
    transport = SesTransport(moto_account, region="us-east-1", api=api)
    out = run_digest(cfg, cfg.email.digests[1], slot_at=SIM_NOW, inputs=sim_inputs, store=store, transport=transport)
    assert out.status == "sent"
    (stored,) = moto_ses_messages(moto_url)
    assert sorted(set(stored["destinations"])) == ["payments-oncall@example.com"]
    assert stored["source"] == "lambda-lens@example.com"
    msg = email.message_from_string(stored["raw_data"], policy=policy.default)
    assert msg["Subject"] == TEAM_SUBJECT
    assert [p.get_content_type() for p in msg.walk()] == LAYOUT
    assert store.load().record("payments").slots == ("2026-11-26T15:00 UTC",)


def test_ses_from_the_config_and_a_refused_sender(tmp_path, monkeypatch, moto_url, sim_inputs):
    section = email_section(25) | {"transport": "ses", "ses_endpoint_url": moto_url, "ses_region": "us-east-1"}
    config = write_config(tmp_path, section, aws={"max_attempts": 1})
    monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
    # The sender is not verified yet: SES refuses the message for good.
    out, err = io.StringIO(), io.StringIO()
    assert cmd_digest(digest_args(config, "--send", "--name", "org"), out, err, clock=lambda: SIM_NOW) == 1
    assert "error: digest org: Not sent: AWS refused ses SendRawEmail in ses/us-east-1: MessageRejected: Did not have authority to send from email lambda-lens@example.com." in err.getvalue()
    assert moto_ses_messages(moto_url) == []
    verify_sender(moto_url)
    out, err = io.StringIO(), io.StringIO()
    assert cmd_digest(digest_args(config, "--send", "--name", "org"), out, err, clock=lambda: SIM_NOW) == 0, err.getvalue()
    (stored,) = moto_ses_messages(moto_url)
    assert sorted(set(stored["destinations"])) == ["finance@example.com", "platform-leads@example.com"]
    assert email.message_from_string(stored["raw_data"], policy=policy.default)["Subject"] == ORG_SUBJECT


def test_ses_transport_is_built_with_a_configured_accounts_credentials(tmp_path):
    config = write_config(
        tmp_path,
        email_section(25) | {"transport": "ses", "ses_account": "prod", "ses_region": "eu-west-1", "ses_api": "v2", "ses_configuration_set": "digests"},
        accounts=[{"name": "demo", "demo": True}, {"name": "prod", "profile": "prod-mail", "regions": ["us-east-1"]}],
    )
    t = from_settings(settings_mod.load(config))
    assert isinstance(t, SesTransport)
    assert t.account == Account(name="prod", regions=("eu-west-1",), profile="prod-mail", max_attempts=8)
    assert (t.region, t.api, t.configuration_set) == ("eu-west-1", "v2", "digests")


def test_a_server_that_never_answers_is_a_timeout_not_a_closed_connection(sim_inputs):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection (the kernel does), never says a word
    port = listener.getsockname()[1]
    try:
        with pytest.raises(DeliveryError) as info:
            send_with_retry(
                SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_s=0.5)),
                team_message(sim_inputs), sender="a@example.com", recipients=["b@example.com"], attempts=1, sleep=lambda s: None,
            )  # fmt: skip
        assert str(info.value) == f"Not sent: the SMTP server 127.0.0.1:{port} did not answer within 0.5 s."
    finally:
        listener.close()


def test_cannot_reach_names_the_service_inside_the_sentence():
    import botocore.exceptions as bce

    from aws.errors import translate

    e = translate(bce.EndpointConnectionError(endpoint_url="https://tagging.example"), service="resourcegroupstaggingapi", operation="GetResources", account="a", region="r")
    assert str(e).startswith("Cannot reach the Resource Groups Tagging API in a/r (")
