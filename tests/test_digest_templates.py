"""The digest's Jinja2 templates: text from AWS or the config (function names, tag values, teams, rule
names, error sentences) is text in the HTML and verbatim in the plain text, never markup and never a
template; every variable the templates use is defined, in a digest with nothing to say and in one with
everything in it."""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from jinja2 import UndefinedError, meta, nodes
from markupsafe import escape

from aws.frames import typed_frame
from dashboard.config import settings as settings_mod
from dashboard.digest import render
from dashboard.digest.compose import ADVICE_SCHEMA, ALERTS_SCHEMA, MOVERS_SCHEMA, compose
from dashboard.digest.render import ADVICE_ROWS, build_images, build_message, preview_html, render_html, render_text
from tests.digest_support import inventory, metrics, synthetic_inputs

HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}")
PAYLOAD = " ".join(HOSTILE)
FUNCTION = f"api {PAYLOAD}"
TEAM = f"team {PAYLOAD}\r\nBcc: evil@example.com"
RULE = f"rule {PAYLOAD}"
END = pd.Timestamp("2026-11-26T08:00:00Z")
TEMPLATES = Path(render.__file__).with_name("templates")


def config(tmp_path, extra: str = ""):
    rule = {"name": RULE, "metric": "error_rate", "threshold": 5, "period_s": 300, "evaluation_periods": 1, "missing_data": "notBreaching", "severity": "critical"}
    p = tmp_path / "config.yaml"
    p.write_text(
        f"alerts:\n  rules:\n    - {json.dumps(rule)}\n"
        + textwrap.dedent(
            """
            email:
              digests:
                - {name: org, recipients: [ops@example.com], timezone: Europe/Berlin, range: 3h}
            """
        )
        + extra
    )
    return settings_mod.load(p)


def hostile_digest(tmp_path):
    """A digest whose function, team, rule, tag, advice, spend error and problems all carry the payloads."""
    inv = inventory([{"function": FUNCTION, "team": TEAM, "tags": {"team": TEAM, "note": PAYLOAD}}, {"function": "quiet"}])
    met = metrics({FUNCTION: [(100.0, 50.0)] * 36, "quiet": [(100.0, 0.0)] * 36}, end=END)
    cfg = config(tmp_path, "  dashboard_url: https://lens.example.com/\n")
    d = compose(cfg, cfg.email.digests[0], synthetic_inputs(inv, met, now=END))
    assert d.firing == 1 and not d.advice.empty and not d.movers.empty  # the payloads reach every section
    return dataclasses.replace(
        d,
        spend=dataclasses.replace(d.spend, error=f"Cost Explorer: {PAYLOAD}", note=PAYLOAD),
        problems=(f"Metrics missing: {PAYLOAD}",),
    )


class Tags(HTMLParser):
    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("team_digest", [False, True], ids=["org", "team"])
def test_hostile_values_are_text_in_the_html_and_verbatim_in_the_plain_text(tmp_path, team_digest):
    d = hostile_digest(tmp_path)
    if team_digest:
        d = dataclasses.replace(d, team=TEAM)
    images = build_images(d)
    page = render_html(d, images=images)

    tags = Tags(page).tags
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed")]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]  # no event handler attribute
    assert [attrs["src"] for t, attrs in tags if t == "img"] == [f"cid:{i.cid}" for i in images]
    for s in HOSTILE:
        assert str(escape(s)) in page  # shown, as text
    assert "<script>" not in page and "<img src=x" not in page
    assert page.count("{{ 7*7 }}") == page.count("{% raw %}") > 0  # data is never evaluated as a template
    if team_digest:
        assert f"Lambda digest — {escape(TEAM)}</td>" in page

    text = render_text(d)
    for s in HOSTILE:
        assert s in text
    assert f"[critical] {FUNCTION} (us-east-1) {RULE}: 50.00 % > 5.00 %" in text
    assert f"Spend unavailable: Cost Explorer: {PAYLOAD}" in text and f"  - Metrics missing: {PAYLOAD}" in text
    assert "&lt;" not in text and "&#34;" not in text  # not HTML-escaped
    assert not any(line.startswith("Bcc") for line in text.splitlines())  # CR/LF in a value became a space
    if team_digest:
        assert text.splitlines()[0] == f"Lambda digest — team {PAYLOAD} Bcc: evil@example.com"


def test_the_message_keeps_them_so_and_the_preview_still_inlines_the_images(tmp_path):
    d = dataclasses.replace(hostile_digest(tmp_path), team=TEAM)
    msg = build_message(d, sender="lambda-lens@example.com")
    assert PAYLOAD in msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    assert str(escape(PAYLOAD)) in html_part and "<script>" not in html_part
    page = preview_html(msg)
    assert "cid:" not in page and page.count("data:image/png;base64,") == len([p for p in msg.walk() if p.get_content_maintype() == "image"]) > 0


def test_links_to_a_hostile_function_are_encoded_in_the_href(tmp_path):
    page = render_html(hostile_digest(tmp_path))
    hrefs = [attrs["href"] for t, attrs in Tags(page).tags if t == "a"]
    fn_links = [h for h in hrefs if "/functions?" in h]
    assert fn_links and all(h.startswith("https://lens.example.com/functions?fn=acct/us-east-1/") for h in fn_links)
    assert any(h.startswith("https://lens.example.com/functions?fn=acct/us-east-1/api+%3Cscript%3E") for h in fn_links)
    assert not [h for h in fn_links if re.search(r"[<>\"'{}\s]", h)]  # percent-encoded, then escaped in the attribute


# --- every variable defined -------------------------------------------------------------------------


def empty_digest(tmp_path):
    """Nothing to say: no alert, mover, advice, chart or problem; spend unreadable; no dashboard link."""
    inv = inventory([{"function": "quiet"}])
    cfg = config(tmp_path)
    d = compose(cfg, cfg.email.digests[0], synthetic_inputs(inv, metrics({"quiet": [(0.0, 0.0)] * 36}, end=END), now=END))
    return dataclasses.replace(
        d,
        alerts=typed_frame([], ALERTS_SCHEMA),
        movers=typed_frame([], MOVERS_SCHEMA),
        advice=typed_frame([], ADVICE_SCHEMA),
        charts=(),
        problems=(),
        dashboard_url=None,
        previous_sent_at=None,
        function_count=1,
        spend=dataclasses.replace(d.spend, mtd_usd=None, forecast_usd=None, budget_usd=None, status="unavailable", note="", error=None),
    )


def full_digest(tmp_path):
    """Everything: new, still firing and resolved alerts (with team and note), more advice than the HTML
    shows, movers up and down, problems, a budget, the previous send, a dashboard link and the charts."""
    d = hostile_digest(tmp_path)
    t0 = pd.Timestamp("2026-11-26T05:00:00Z")
    base = {"severity": "warning", "account": "acct", "region": "us-east-1", "team": "payments", "metric": "error_rate", "state": "ALARM",
            "since": t0, "value": 12.5, "last_value": 12.5, "threshold": 5.0, "comparison": "GreaterThanThreshold"}  # fmt: skip
    alerts = typed_frame(
        [
            {**base, "category": "new", "function": "a", "rule": "error-rate"},
            {**base, "category": "ongoing", "function": "b", "rule": "error-rate", "severity": "info", "note": "not re-checked"},
            {**base, "category": "resolved", "function": "c", "rule": "error-rate", "state": "OK", "resolved_at": t0 + pd.Timedelta(hours=1)},
        ],
        ALERTS_SCHEMA,
    )
    advice = typed_frame(
        [{"account": "acct", "region": "us-east-1", "function": f"f{i}", "team": "t", "kind": "idle", "priority": 8, "text": f"advice {i}"} for i in range(ADVICE_ROWS + 2)],
        ADVICE_SCHEMA,
    )
    mover = {"account": "acct", "region": "us-east-1", "function": "m", "team": "t"}
    movers = typed_frame(
        [
            {**mover, "metric": "errors", "previous": 10.0, "current": 30.0, "change": 20.0, "change_pct": 200.0},
            {**mover, "metric": "est_cost_usd", "previous": 2.0, "current": 1.0, "change": -1.0, "change_pct": -50.0},
        ],
        MOVERS_SCHEMA,
    )
    spend = dataclasses.replace(d.spend, error=None, mtd_usd=80.0, forecast_usd=120.0, budget_usd=100.0, status="forecast_over", note="forecast pro rata")
    return dataclasses.replace(
        d, alerts=alerts, advice=advice, movers=movers, spend=spend, previous_sent_at=datetime(2026, 11, 26, 6, 0, tzinfo=UTC), function_count=20
    )


def test_a_digest_with_nothing_to_say_renders(tmp_path):
    d = empty_digest(tmp_path)
    page, text = render_html(d, images=build_images(d)), render_text(d)
    for s in ("No alert fired in this period.", "No large change in invocations, errors, p99 duration or cost.", "Spend unavailable."):
        assert s in page and s in text
    assert "What to do" not in page and "WHAT TO DO" not in text and "Dashboard:" not in page + text and "<a " not in page
    assert "changes since" not in page and " · 1 function\n" in text


def test_a_digest_with_everything_renders(tmp_path):
    d = full_digest(tmp_path)
    images = build_images(d)
    page, text = render_html(d, images=images), render_text(d)
    for s in ("New (1)", "Still firing (1)", "Resolved (1)", "What to do", "Top movers", "Data that could not be read"):
        assert s in page
    assert "changes since the digest of 07:00" in page and "… and 2 more in the attached CSV." in page
    assert "+20 (+200 %)" in page and "−$1.00 (−50 %)" in page
    assert "budget $100.00 (80 % used, forecast over budget)" in page and "forecast pro rata" in page
    assert len(images) == len([t for t, _ in Tags(page).tags if t == "img"]) > 0
    assert "us-east-1 · payments</span>" in page  # the team beside the region
    assert "since 06:00 (3 h 0 min) — not re-checked" in text and "fired 06:00, resolved 07:00 (after 1 h 0 min)" in text
    assert text.count("  - f") == ADVICE_ROWS + 2  # the plain text lists all the advice
    assert "  - errors: m 10 -> 30 (+200 %)" in text and "  - estimated cost: m $2.00 -> $1.00 (-50 %)" in text
    assert "Dashboard: https://lens.example.com/" in text and text.endswith("\n")


@pytest.mark.parametrize("template", ["digest.html.j2", "digest.txt.j2"])
def test_an_undefined_variable_is_an_error_not_an_empty_string(tmp_path, template):
    view = render._view(empty_digest(tmp_path), ())
    env = render._templates()
    env.get_template(template).render(view)
    del view["scope"]
    with pytest.raises(UndefinedError):
        env.get_template(template).render(view)


def test_every_name_the_templates_use_is_in_the_view_or_a_global(tmp_path):
    env = render._templates()
    known = set(render._view(empty_digest(tmp_path), ())) | set(env.globals)
    for path in sorted(TEMPLATES.glob("*.j2")):
        used = meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
        assert used <= known, f"{path.name}: {sorted(used - known)}"


def test_html_is_autoescaped_text_is_not_and_nothing_is_marked_safe():
    env = render._templates()
    assert env.autoescape("digest.html.j2") and env.autoescape("macros.html.j2") and not env.autoescape("digest.txt.j2")
    assert env.autoescape(None)  # a template from a string (none today) would be escaped
    for path in TEMPLATES.glob("*.j2"):
        tree = env.parse(path.read_text(encoding="utf-8"))
        assert not [f.name for f in tree.find_all(nodes.Filter) if f.name == "safe"], path.name
        assert not list(tree.find_all((nodes.MarkSafe, nodes.MarkSafeIfAutoescape, nodes.ScopedEvalContextModifier))), path.name
