"""Rendering: subject lines, escaping of AWS-controlled text, no header injection, CSV formula
guard, dashboard links, the dry-run preview and files, and the `digest` command's arguments and errors."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import email
import io
import json
import textwrap
from email import policy

import pandas as pd
import pytest

from aws.frames import typed_frame
from dashboard.config import settings as settings_mod
from dashboard.digest.commands import add_parsers, cmd_digest
from dashboard.digest.compose import ALERTS_SCHEMA, compose
from dashboard.digest.render import (
    build_message,
    preview_html,
    render_csv,
    render_html,
    render_text,
    sanitize_header,
    subject,
)
from dashboard.figures.pricing import load_prices
from tests.digest_support import SIM_NOW, inventory, metrics, synthetic_inputs

EVIL_TEAM = "<script>alert(1)</script>\r\nBcc: evil@example.com"
END = pd.Timestamp("2026-11-26T08:00:00Z")


def load(tmp_path, extra: str = ""):
    p = tmp_path / "config.yaml"
    p.write_text(
        textwrap.dedent(
            """
            alerts:
              rules:
                - {name: error-rate, metric: error_rate, threshold: 5, period_s: 300, evaluation_periods: 1, missing_data: notBreaching, severity: critical}
            email:
              digests:
                - {name: org, recipients: [ops@example.com], timezone: Europe/Berlin, range: 3h}
            """
        )
        + extra
    )
    return settings_mod.load(p)


def evil_digest(tmp_path, extra: str = ""):
    inv = inventory(
        [
            {"function": "api", "team": EVIL_TEAM, "tags": {"team": EVIL_TEAM}},
            {"function": "sheet", "team": "=HYPERLINK(\"http://x\")"},
        ]
    )
    met = metrics({"api": [(100.0, 50.0)] * 36, "sheet": [(100.0, 0.0)] * 36}, end=END)
    cfg = load(tmp_path, extra)
    return cfg, compose(cfg, cfg.email.digests[0], synthetic_inputs(inv, met, now=END))


def test_aws_text_is_escaped_in_html_and_never_reaches_a_header(tmp_path):
    cfg, d = evil_digest(tmp_path)
    html = render_html(d)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    msg = build_message(d, sender="lambda-lens@example.com")
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "evil@example.com" not in head and "Bcc" not in head
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["To"] == "ops@example.com"

    # A team digest whose name came from a tag: the subject is one sanitised line, the header cannot split.
    team_d = dataclasses.replace(d, team=EVIL_TEAM)
    assert subject(team_d) == "1 alert firing — <script>alert(1)</script> Bcc: evil@example.com, 2026-11-26"
    team_msg = build_message(team_d, sender="lambda-lens@example.com")
    team_head = team_msg.as_bytes().split(b"\r\n\r\n", 1)[0].decode()
    assert not any(line.startswith("Bcc") for line in team_head.split("\r\n"))
    assert email.message_from_bytes(team_msg.as_bytes(), policy=policy.default)["Bcc"] is None
    assert "&lt;script&gt;" in render_html(team_d) and "\r\nBcc" not in render_text(team_d)


def test_csv_cells_a_spreadsheet_would_run_are_defused(tmp_path):
    _, d = evil_digest(tmp_path)
    rows = list(csv.DictReader(io.StringIO(render_csv(d))))
    teams = {r["function"]: r["team"] for r in rows}
    assert teams["sheet"] == "'=HYPERLINK(\"http://x\")"
    assert teams["api"] == EVIL_TEAM  # inside a quoted cell: data, not a new row
    assert {r["function"]: r["alerts_firing"] for r in rows} == {"api": "error-rate", "sheet": ""}


def test_dashboard_links_only_when_configured_and_escaped(tmp_path):
    _, plain = evil_digest(tmp_path)
    assert "<a href" not in render_html(plain)
    _, linked = evil_digest(tmp_path, "  dashboard_url: https://lens.example.com/\n")
    html = render_html(linked)
    assert '<a href="https://lens.example.com/functions?fn=acct/us-east-1/api&amp;range=3h&amp;rule=error-rate"' in html
    assert "Dashboard: https://lens.example.com/" in render_text(linked)


def alerts(*cats: str) -> pd.DataFrame:
    return typed_frame([{"category": c, "severity": "critical", "account": "a", "region": "r", "function": f"f{i}", "rule": "x"} for i, c in enumerate(cats)], ALERTS_SCHEMA)


@pytest.mark.parametrize(
    "cats,status,team,expected",
    [
        ((), "no_budget", None, "No alerts firing — all teams, 2026-11-26"),
        (("new",), "under", "payments", "1 alert firing — payments, 2026-11-26"),
        (("new", "ongoing", "ongoing", "resolved"), "under", "payments", "3 alerts firing (1 new), 1 resolved — payments, 2026-11-26"),
        (("ongoing", "ongoing"), "over", None, "2 alerts firing, over budget — all teams, 2026-11-26"),
        (("resolved", "resolved"), "forecast_over", "web", "No alerts firing, 2 resolved, forecast over budget — web, 2026-11-26"),
    ],
)
def test_subject_says_what_is_inside(tmp_path, cats, status, team, expected):
    _, d = evil_digest(tmp_path)
    d = dataclasses.replace(d, alerts=alerts(*cats), team=team, spend=dataclasses.replace(d.spend, status=status))
    assert subject(d) == expected


def test_headers_are_one_line():
    assert sanitize_header("a\r\nb\tc\x00d\u2028e   f") == "a b c d e f"
    assert sanitize_header("x" * 300, limit=10) == "xxxxxxxxx…"


def test_preview_inlines_the_images_and_text_has_the_same_facts(tmp_path):
    _, d = evil_digest(tmp_path)
    msg = build_message(d, sender="lambda-lens@example.com")
    page = preview_html(msg)
    assert "cid:" not in page and page.count("data:image/png;base64,") == len([p for p in msg.walk() if p.get_content_maintype() == "image"]) == 1
    text = render_text(d)
    assert "[critical] api (us-east-1) error-rate: 50.00 % > 5.00 %" in text
    assert "since 06:05 (2 h 55 min)" in text  # 05:05 UTC (the first period's end) in Berlin time
    assert "error-rate: 50.00 % &gt; 5.00 %" in render_html(d)


# --- the `digest` command ---------------------------------------------------------------------------


def run(*argv: str, clock=None) -> tuple[int, str, str]:
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    kw = {} if clock is None else {"clock": clock}
    return cmd_digest(p.parse_args(["digest", *argv]), out, err, **kw), out.getvalue(), err.getvalue()


def test_every_option_has_help_and_the_mode_is_required():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_parsers(sub)
    for name in ("digest", "schedule"):
        sp = sub.choices[name]
        assert sp.description
        assert all(a.help for a in sp._actions if a.dest != "help")
    with pytest.raises(SystemExit):
        p.parse_args(["digest"])
    with pytest.raises(SystemExit):
        p.parse_args(["digest", "--send", "--dry-run"])


@pytest.mark.aws
def test_dry_run_of_the_shipped_config_writes_eml_html_and_json_and_leaves_the_state(tmp_path, monkeypatch):
    from aws import sim

    sim.set_clock(lambda: SIM_NOW)
    try:
        code, out, err = run("--config", str(settings_mod.DEFAULT_CONFIG), "--dry-run", "--out", str(tmp_path), "--name", "org", clock=lambda: SIM_NOW)
    finally:
        sim.set_clock(None)
    assert code == 0, err
    eml, html, facts = tmp_path / "org-2026-11-26.eml", tmp_path / "org-2026-11-26.html", tmp_path / "org-2026-11-26.json"
    assert out == f"wrote org: {eml}, {html}, {facts} — 4 alerts firing, 3 resolved, forecast over budget — all teams, 2026-11-26\n"
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["To"] == "platform-leads@example.com, finance@example.com"
    page = html.read_text()
    assert "cid:" not in page and "Lambda digest — all teams" in page
    data = json.loads(facts.read_text(encoding="utf-8"))
    assert (data["name"], data["firing_count"], data["resolved_count"], data["spend"]["status"]) == ("org", 4, 3, "forecast_over")
    assert data["generated_at"] == "2026-11-26T15:00:00+00:00" and data["recipients"] == ["platform-leads@example.com", "finance@example.com"]
    assert sorted(f.name for f in tmp_path.iterdir()) == [eml.name, html.name, facts.name]


@pytest.mark.parametrize(
    "argv,expected",
    [
        (("--dry-run",), "error: --dry-run needs --out DIR, the folder to write the .eml, .html and .json files into\n"),
        (("--send", "--team", "search"), "error: no digest for team 'search' in email.digests (teams with a digest: payments)\n"),
        (("--send", "--name", "nightly"), "error: no digest named 'nightly' in email.digests (digests: org, payments)\n"),
    ],
)
def test_bad_arguments_are_one_sentence_and_exit_2(argv, expected):
    code, out, err = run("--config", str(settings_mod.DEFAULT_CONFIG), *argv)
    assert (code, out, err) == (2, "", expected)


def test_a_config_without_digests_exits_2(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("default_range: 24h\n")
    code, _, err = run("--config", str(p), "--send")
    assert code == 2
    assert err == f"error: {p}: email.digests is empty; add a digest (name, recipients, schedule), see docs/digests.md\n"


def test_a_cost_priced_by_assumption_says_so_in_the_digest(tmp_path):
    _, plain = evil_digest(tmp_path)
    assert plain.prices_note is None  # us-east-1's request and duration rates are verified
    inv = inventory([{"function": "api", "team": "payments"}])
    met = metrics({"api": [(100.0, 0.0)] * 36}, end=END)
    cfg = load(tmp_path)
    inputs = synthetic_inputs(inv, met, now=END)
    book = load_prices()
    unverified = dataclasses.replace(book.prices("us-east-1"), assumed_fields=frozenset({"request"}))
    d = compose(cfg, cfg.email.digests[0], dataclasses.replace(inputs, prices=book.with_region(unverified)))
    assert d.prices_note == (
        "Priced by assumption, with rates not verified for the region: us-east-1 (request). Set them under pricing: "
        "in config.yaml, or refresh them with `python -m dashboard prices --refresh`."
    )
    assert d.prices_note in render_text(d)
    assert "Priced by assumption, with rates not verified for the region: us-east-1 (request)." in render_html(d)
