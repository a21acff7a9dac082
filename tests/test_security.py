"""Security (docs/security.md): planted secrets never reach logs or output, hostile tag values (HTML,
markdown, quotes, CR/LF) are shown as text on every page and in the digest, the server binds to loopback
by default. The browser side (Chromium: no injected element in the DOM; the bound address; the
server's DEBUG log) is ``tests/browser/test_security.py``."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tomllib
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aws.session import Account, SimSpec
from dashboard.cli import main
from tests.digest_support import SmtpSink, authenticator, self_signed, server_context

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
AWS_SECRET = "PLANTED/aws+Secret/0123456789abcdefghijklmnopqrstuv"
SMTP_SECRET = "PLANTED-smtp-pa55word-9f8e7d"
HOSTILE_TEAM = "<script id=\"pwned\">alert('x')</script> **bold** [link](http://evil.example) :red[x] \"q\" 'q'\r\nX"
HOSTILE_TAGS = {"team": HOSTILE_TEAM, "note": "<img src=x onerror=alert(1)>", "cost-center": "=HYPERLINK(\"http://evil.example\")"}
RAW_MARKERS = ('<script id="pwned"', "<img src=x", "onerror=alert")  # what would run if the value were HTML


def hostile_yaml(functions: int = 4) -> str:
    return (
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n"
        f"    simulation: {{functions: {functions}, extra_tags: {json.dumps(HOSTILE_TAGS)}}}\n"
        "allocation:\n  tag_keys: [team]\n"
    )


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


# --- secrets ------------------------------------------------------------------------------------------


@pytest.mark.aws
def test_planted_secrets_never_reach_the_debug_log_or_the_output(moto_url, tmp_path, monkeypatch, caplog, capfd):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPLANTEDKEY000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("LENS_SMTP_PW", SMTP_SECRET)
    caplog.set_level(logging.DEBUG)  # the root logger: botocore, urllib3, smtplib's callers, ours

    real = tmp_path / "real.yaml"
    real.write_text(f"accounts:\n  - name: dev\n    regions: [us-east-1]\n    endpoint_url: {moto_url}\naws:\n  max_attempts: 1\n")
    code, out1, err1 = run_cli("summary", "--config", str(real), "--range", "1h", "--format", "json")
    assert code == 0, err1
    assert any(r.name.startswith("botocore") and r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was on
    assert any("Authorization" in r.getMessage() or "Signature" in r.getMessage() for r in caplog.records)  # requests were signed

    cert, key = self_signed(tmp_path)
    logins: list[str] = []
    sink = SmtpSink().start(
        tls_context=server_context(cert, key), require_starttls=True, auth_required=True, authenticator=authenticator("lens", SMTP_SECRET, logins)
    )
    try:
        mail = tmp_path / "mail.yaml"
        mail.write_text(
            "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n    simulation: {functions: 4}\n"
            f"email:\n  smtp: {{host: 127.0.0.1, port: {sink.port}, security: starttls, username: lens, password_env: LENS_SMTP_PW, "
            f"ca_file: '{cert}', timeout_s: 5}}\n  retry_backoff_s: 0\n"
            "  digests:\n    - {name: org, recipients: [ops@example.com]}\n"
        )
        code, out2, err2 = run_cli("digest", "--config", str(mail), "--send")
        assert code == 0, err2
        assert logins == ["lens"] and len(sink.received) == 1  # the password was used ...
    finally:
        sink.stop()
    captured = capfd.readouterr()
    everything = "\n".join([caplog.text, out1, err1, out2, err2, captured.out, captured.err, sink.received[0].message.as_string()])
    assert len(caplog.records) > 50
    for secret in (AWS_SECRET, SMTP_SECRET):  # ... and never written anywhere
        assert secret not in everything
        assert secret.replace("/", "\\/") not in everything


def test_config_refuses_a_secret_and_the_loopback_default_is_configured(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("email:\n  smtp:\n    password: hunter2\n")
    code, _, err = run_cli("demo", "--config", str(cfg))
    assert code == 2 and "secrets never go in config.yaml" in err and "hunter2" not in err
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"


# --- injection through tags: every page ------------------------------------------------------------------


def hostile_function_names() -> list[str]:
    from aws import sim

    acct = Account(name="demo", demo=True, sim=SimSpec(functions=4, extra_tags=tuple(HOSTILE_TAGS.items())))
    return sorted(sim.model_for(acct).functions["function"].tolist())


def markdown_texts(at: AppTest) -> list[tuple[str, str, bool]]:
    """(kind, text, allows HTML) of every element whose text Streamlit renders as markdown."""
    out = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "error", "warning", "info", "success", "text"):
        for el in at.get(kind):
            proto = el.proto
            body = getattr(proto, "body", None) or getattr(proto, "text", None) or getattr(el, "value", "")
            out.append((kind, str(body), bool(getattr(proto, "allow_html", False))))
    return out


@pytest.fixture
def hostile_app(monkeypatch, tmp_path):
    cfg = tmp_path / "hostile.yaml"
    cfg.write_text(hostile_yaml())
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))


@pytest.mark.parametrize("page", ["overview", "functions", "alerts", "function", "costs", "teams"])
@pytest.mark.aws
def test_hostile_tags_are_text_on_every_page(page, hostile_app):
    at = AppTest.from_file(APP, default_timeout=90)
    if page == "function":
        at.query_params["fn"] = f"demo/us-east-1/{hostile_function_names()[0]}"
    if page in ("functions", "function"):
        at.switch_page("dashboard/pages/functions.py")
    elif page in ("alerts", "costs", "teams"):
        at.switch_page(f"dashboard/pages/{page}.py")
    at.run(timeout=90)
    assert not at.exception, [e.value for e in at.exception]
    texts = markdown_texts(at)
    assert texts, "nothing rendered"
    assert not any(allow for _, _, allow in texts)  # no element may render raw HTML
    for kind, body, _ in texts:
        for marker in RAW_MARKERS:  # wherever the value appears in markdown, its '<' is escaped
            assert marker not in body.replace("\\<", "&lt;"), (kind, body)
    # the value itself is there: in the team filter's options, and (detail page) in the caption, escaped
    assert HOSTILE_TEAM in at.multiselect(key="f_team").options
    if page == "function":
        caption = next(b for k, b, _ in texts if k == "caption" and "team" in b)
        assert r"""team \<script id="pwned"\>alert\('x'\)\</script\> \*\*bold\*\* \[link\]\(http\://evil\.example\) \:red\[x\]""" in caption
    frames = [d.value for d in at.dataframe]
    if page in ("overview", "functions"):
        assert any("team" in f.columns and (f["team"] == HOSTILE_TEAM).all() and len(f) == 4 for f in frames)


def test_spreadsheet_csv_neutralises_formulas_and_the_cli_csv_stays_verbatim():
    import pandas as pd

    from dashboard.present.tables import render, spreadsheet_safe

    frame = pd.DataFrame(
        {"team": pd.array(['=HYPERLINK("http://evil.example")', "+1", "-2", "@SUM(A1)", "payments", None], dtype="string"),
         "errors": [-5, 1, 2, 3, 4, 5]}
    )  # fmt: skip
    safe = spreadsheet_safe(frame)
    assert safe["team"].tolist()[:5] == ["'=HYPERLINK(\"http://evil.example\")", "'+1", "'-2", "'@SUM(A1)", "payments"]
    assert pd.isna(safe["team"].iloc[5]) and safe["errors"].tolist() == [-5, 1, 2, 3, 4, 5]  # numbers untouched
    assert frame["team"].iloc[0].startswith("=")  # a copy: the (shared, cached) frame is not changed
    assert render(frame, "csv").splitlines()[1] == '"=HYPERLINK(""http://evil.example"")",-5'  # --format csv: verbatim


def test_the_pages_csv_download_is_spreadsheet_safe_and_at_the_registrys_precision():
    import pandas as pd

    from dashboard.present.tables import spreadsheet_csv

    frame = pd.DataFrame({"team": pd.array(['=HYPERLINK("http://evil.example")', "payments"], dtype="string"),
                          "invocations": [24919.0, 3.0], "est_cost_usd": [0.1 + 0.2, 1.0]})  # fmt: skip
    lines = spreadsheet_csv(frame).splitlines()
    assert lines[1].startswith('"\'=HYPERLINK(') and ",24919," in lines[1]  # a formula made text; no "24919.0"
    assert "0.30000000000000004" not in lines[1] and lines[2].startswith("payments,3,")


@pytest.mark.aws
def test_the_digest_shows_hostile_tags_as_text(tmp_path):
    cfg = tmp_path / "hostile.yaml"
    cfg.write_text(hostile_yaml() + "email:\n  digests:\n    - {name: org, recipients: [ops@example.com]}\n")
    code, out, err = run_cli("digest", "--config", str(cfg), "--dry-run", "--out", str(tmp_path / "out"))
    assert code == 0, err
    (html_file,) = (tmp_path / "out").glob("*.html")
    (eml_file,) = (tmp_path / "out").glob("*.eml")
    html_text = html_file.read_text(encoding="utf-8")
    for marker in RAW_MARKERS:
        assert marker not in html_text
    msg = message_from_bytes(eml_file.read_bytes(), policy=policy.default)
    assert set(msg.keys()) >= {"Subject", "From", "To"} and "Bcc" not in msg and "X" not in msg
    assert not re.search(r"[\r\n]", str(msg["Subject"]))
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            assert not any(m in part.get_content() for m in RAW_MARKERS)
    (attachment,) = [p for p in msg.walk() if p.get_content_type() == "text/csv"]
    rows = list(csv.DictReader(io.StringIO(attachment.get_content(), newline="")))
    assert len(rows) == 4 and {r["team"].replace("\r\n", "\n") for r in rows} == {HOSTILE_TEAM.replace("\r\n", "\n")}
