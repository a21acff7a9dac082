"""A digest as an e-mail: subject line, HTML with inline styles, plain text, CSV, and the MIME message.

The HTML is built for mail clients, not browsers: nested tables with ``width`` attributes
and inline ``style`` (Outlook's Word engine ignores ``<style>`` blocks, flexbox and most
CSS; Gmail drops ``<style>`` in some views), web-safe fonts, images with explicit size
and ``alt`` text. Everything needed to understand it is in the message: a link to the
dashboard is added only when ``email.dashboard_url`` is set.

The HTML and the plain text are laid out by the Jinja2 templates in ``templates/``
(``digest.html.j2``, its pieces in ``macros.html.j2``; ``digest.txt.j2``). Python decides what
they say (sentences, numbers with their units, colours) and hands them plain values
(:func:`_view`); the templates decide nothing. The HTML templates are autoescaped and mark
nothing ``|safe``, so every string that comes from AWS or the config (function names, tag
values, team names, rule names, error sentences) is text, and no data is ever rendered as a
template. The plain text is not escaped; control characters in its values become spaces.

Headers are built with :class:`email.message.EmailMessage` under :data:`email.policy.SMTP`,
and the subject is sanitised first (control characters, CR and LF become spaces), so no
value can add a header. CSV cells that a spreadsheet would run as a formula (starting
``= + - @``) are prefixed with ``'``.

Message layout::

    multipart/mixed
      multipart/alternative
        text/plain                      (the same facts as the HTML)
        multipart/related
          text/html                     (<img src="cid:...">)
          image/png ...                 (Content-ID, inline)
      text/csv                          (attachment: the numbers per function)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import escape

from dashboard.digest.compose import MOVER_METRICS, NEW, ONGOING, RESOLVED, Digest
from dashboard.digest.images import HEIGHT_PX, WIDTH_PX, alert_chart, omitted, spend_chart
from dashboard.present import registry
from dashboard.present.links import function_link
from dashboard.present.registry import Unit
from dashboard.present.tables import csv_text

__all__ = [
    "Image",
    "subject",
    "render_html",
    "render_text",
    "render_csv",
    "build_images",
    "build_message",
    "preview_html",
    "sanitize_header",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
CMP = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}
SEV_COLOURS = {"critical": ("#ffffff", "#c62828"), "warning": ("#1f2933", "#f5c451"), "info": ("#1f2933", "#d9e2ec")}
CHIP_OTHER = ("#1f2933", "#d9e2ec")  # a severity SEV_COLOURS does not know
STATUS_TEXT = {
    "over": "over budget",
    "forecast_over": "forecast over budget",
    "under": "within budget",
    "no_budget": "no budget set",
    "unavailable": "unavailable",
}
INK, MUTED, LINE, BG, CARD = "#1f2933", "#616e7c", "#e4e7eb", "#f4f5f7", "#ffffff"
RED, GREEN, LINK = "#c62828", "#2e7d32", "#2f6fb0"
FONT = "Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class Image:
    """An inline image: the HTML's key for it, its Content-ID (without angle brackets), PNG bytes, alt text and title."""

    key: str
    cid: str
    png: bytes
    alt: str
    title: str


# --- formatting ------------------------------------------------------------------------------------


def sanitize_header(text: str, *, limit: int = 200) -> str:
    """One line of header text: control characters (CR, LF, tabs, NUL, U+2028 …) become spaces, runs collapse."""
    out = _CONTROL.sub(" ", str(text))
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def _signed(metric: str, v: float) -> str:
    sign = "+" if v > 0 else "−" if v < 0 else "±"
    return sign + registry.format(metric, abs(v))


def _local(ts, tz: ZoneInfo, *, ref: datetime) -> str:
    if ts is None or pd.isna(ts):
        return "–"
    t = pd.Timestamp(ts).tz_convert(tz)
    r = pd.Timestamp(ref).tz_convert(tz)
    if t.date() == r.date():
        return t.strftime("%H:%M")
    if t.year == r.year:
        return t.strftime("%b %-d %H:%M")
    return t.strftime("%Y-%m-%d %H:%M")


def _duration(a, b) -> str:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return ""
    s = max(0, int((pd.Timestamp(b) - pd.Timestamp(a)).total_seconds()))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min"


def subject(d: Digest) -> str:
    """``3 alerts firing (2 new), 1 resolved — payments, 2026-11-26``: counts, scope and local date, on one line."""
    firing, new, resolved = d.firing, d.count(NEW), d.count(RESOLVED)
    if firing:
        head = f"{firing} alert{'s' if firing != 1 else ''} firing"
        if new and new != firing:
            head += f" ({new} new)"
    elif d.no_rules:  # nothing was checked: no health claim
        head = "No alert rules configured"
    elif d.unchecked:  # data could not be read: no health claim
        n = len(d.unchecked)
        head = f"Alerts not all checked ({n} source{'s' if n != 1 else ''} could not be read)"
    else:
        head = "No alerts firing"
    if resolved:
        head += f", {resolved} resolved"
    if d.spend.status == "over":
        head += ", over budget"
    elif d.spend.status == "forecast_over":
        head += ", forecast over budget"
    scope = sanitize_header(d.scope, limit=60)
    return sanitize_header(f"{head} — {scope}, {d.local_time.date().isoformat()}")


def _alert_sentence(rec: dict, tz: ZoneInfo, ref: datetime) -> tuple[str, str]:
    """(what, when) for one alert row, as plain text (the HTML template escapes it)."""
    metric = rec.get("metric")
    metric = None if metric is None or pd.isna(metric) else str(metric)
    cmp_ = CMP.get(str(rec.get("comparison")), "")
    value, threshold = rec.get("value"), rec.get("threshold")
    if metric is not None and cmp_ and not pd.isna(threshold):
        shown = value if not pd.isna(value) else rec.get("last_value")
        what = f"{rec['rule']}: {registry.value_text(metric, shown)} {cmp_} {registry.value_text(metric, threshold)}"
    else:
        what = f"{rec['rule']}" + (f": {registry.value_text(metric, value)}" if not pd.isna(value) else "")
    cat = rec["category"]
    if cat == RESOLVED:
        when = f"fired {_local(rec['since'], tz, ref=ref)}"
        if not pd.isna(rec.get("resolved_at")):
            when += f", resolved {_local(rec['resolved_at'], tz, ref=ref)} (after {_duration(rec['since'], rec['resolved_at'])})"
    else:
        when = f"since {_local(rec['since'], tz, ref=ref)}"
        dur = _duration(rec["since"], ref)
        if dur:
            when += f" ({dur})"
    note = rec.get("note")
    if note is not None and not pd.isna(note) and str(note):
        when += f" — {note}"
    return what, when


def _spend_sentence(d: Digest) -> str:
    s = d.spend
    if s.error:
        return f"Spend unavailable: {s.error}"
    if s.mtd_usd is None:
        return "Spend unavailable."
    month = pd.Timestamp(s.month_start).strftime("%B")
    text = f"{registry.format('spend_mtd', s.mtd_usd)} spent on Lambda in {month} so far"
    if s.forecast_usd is not None:
        text += f"; forecast {registry.format('forecast_usd', s.forecast_usd)} by the end of the month"
    if s.budget_usd is not None:
        used = s.budget_used_pct
        text += f"; budget {Unit.USD.format(s.budget_usd)} ({used:.0f} % used, {STATUS_TEXT[s.status]})"
    return text + "."


# --- HTML and plain text ---------------------------------------------------------------------------

ADVICE_ROWS = 15  # rows of advice in the HTML (the plain text and the CSV have them all)
_TITLES = {NEW: "New", ONGOING: "Still firing", RESOLVED: "Resolved"}


@pass_eval_context
def _finalize(ctx: EvalContext, value):
    """Every ``{{ value }}`` of a template: as is in HTML (autoescaping escapes it); in the plain text,
    control characters (CR, LF, tabs, U+2028 …) become a space, so no value starts a line of its own."""
    if ctx.autoescape:
        return value
    return _CONTROL.sub(" ", str(value))


@functools.cache
def _templates() -> Environment:
    """The templates in ``templates/``, loaded on first use: ``*.html.j2`` autoescaped, ``*.txt.j2`` not; a
    variable the view does not define is an error (:class:`~jinja2.StrictUndefined`), never an empty string."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), disabled_extensions=("txt.j2",), default=True),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["plural"] = registry.plural  # {{ n|plural("source") }} → "1 source", "3 sources"
    env.globals.update(
        INK=INK, MUTED=MUTED, LINE=LINE, BG=BG, CARD=CARD, LINK=LINK, FONT=FONT,
        SEV_COLOURS=SEV_COLOURS, CHIP_OTHER=CHIP_OTHER, WIDTH_PX=WIDTH_PX, HEIGHT_PX=HEIGHT_PX,
    )  # fmt: skip
    return env


def _text(v) -> str:
    """A cell as text; ``""`` when missing (None, NA, NaN)."""
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _function(d: Digest, rec: dict, *, rule: str | None = None) -> dict:
    """``{name, url}``: the function and its dashboard page (``url`` is None without ``email.dashboard_url``)."""
    url = None
    if d.dashboard_url:
        url = d.dashboard_url.rstrip("/") + "/" + function_link(str(rec["account"]), str(rec["region"]), str(rec["function"]), range_text=d.range_text, rule=rule)
    return {"name": _text(rec["function"]), "url": url}


def _alert_groups(d: Digest, tz: ZoneInfo) -> list[dict]:
    """New, still firing, resolved (the empty ones left out): ``{title, rows}``, one row per alert."""
    groups = []
    for cat in (NEW, ONGOING, RESOLVED):
        part = d.alerts[d.alerts["category"] == cat]
        if part.empty:
            continue
        rows = []
        for rec in part.to_dict(orient="records"):
            what, when = _alert_sentence(rec, tz, d.generated_at)
            team = rec.get("team")
            rows.append(
                {
                    "severity": _text(rec["severity"]),
                    "function": _function(d, rec, rule=str(rec["rule"])),
                    "region": _text(rec["region"]),
                    "team": None if d.team is not None or team is None or pd.isna(team) else str(team),  # a team digest does not repeat it
                    "what": what,
                    "when": when,
                }
            )
        groups.append({"title": _TITLES[cat], "rows": rows})
    return groups


def _pct(pct: float, minus: str) -> str:
    return "(new)" if pd.isna(pct) else f"({'+' if pct > 0 else minus}{abs(pct):.0f} %)"


def _movers(d: Digest) -> list[dict]:
    rows = []
    for rec in d.movers.to_dict(orient="records"):
        m, change = str(rec["metric"]), rec["change"]
        worse, better = change > 0 and m != "invocations", change < 0 and m != "invocations"
        rows.append(
            {
                "label": MOVER_METRICS[m],
                "function": _function(d, rec),
                "before": registry.format(m, rec["previous"]),
                "now": registry.format(m, rec["current"]),
                "change": f"{_signed(m, change)} {_pct(rec['change_pct'], '−')}",
                "change_ascii": _pct(rec["change_pct"], "-"),
                "colour": RED if worse else GREEN if better else INK,
            }
        )
    return rows


def _view(d: Digest, images: Sequence[Image]) -> dict:
    """What both templates show, as plain values: text unescaped (the HTML template escapes it), numbers formatted."""
    tz = ZoneInfo(d.timezone)
    local = d.local_time
    firing, new, resolved = d.firing, d.count(NEW), d.count(RESOLVED)
    by_key = {i.key: i for i in images}
    advice = [{"function": _function(d, rec), "region": _text(rec["region"]), "text": _text(rec["text"])} for rec in d.advice.to_dict(orient="records")]
    n = d.function_count
    return {
        "subject": subject(d),
        "scope": d.scope,
        "subtitle": f"{local:%A %-d %B %Y, %H:%M} {local.tzname()} · the last {d.range_text} · {n} function{'s' if n != 1 else ''}",
        "previous_sent": None if d.previous_sent_at is None else _local(d.previous_sent_at, tz, ref=d.generated_at),
        "counts": {"firing": firing, "new": new, "resolved": resolved},
        "unchecked": list(d.unchecked),
        "no_rules": d.no_rules,
        "tiles": [
            {"label": "firing", "value": str(firing), "colour": RED if firing else INK},
            {"label": "new", "value": str(new), "colour": RED if new else INK},
            {"label": "resolved", "value": str(resolved), "colour": GREEN if resolved else INK},
            {"label": "spend this month", "value": registry.format("spend_mtd", d.spend.mtd_usd), "colour": RED if d.spend.status == "over" else INK},
        ],
        "alert_groups": _alert_groups(d, tz),
        "alert_images": [by_key[k] for k in (_chart_cid_key(d, c.key) for c in d.charts) if k in by_key],
        "chart_notes": [note for note in (omitted(c) for c in d.charts) if note],  # a sentence where a chart is left out
        "advice": advice,
        "advice_shown": advice[:ADVICE_ROWS],
        "advice_more": max(0, len(advice) - ADVICE_ROWS),
        "range_text": d.range_text,
        "movers": _movers(d),
        "spend": {
            "mtd": registry.format("spend_mtd", d.spend.mtd_usd),
            "sentence": _spend_sentence(d),
            "note": d.spend.note or "",
            "image": by_key.get(_spend_cid_key(d)),
            "prices_note": d.prices_note or "",
        },
        "problems": list(d.problems),
        "generated": f"{d.generated_at:%Y-%m-%d %H:%M}",
        "dashboard_url": d.dashboard_url or None,
    }


def render_html(d: Digest, *, images: Sequence[Image] = ()) -> str:
    """The HTML body (``templates/digest.html.j2``: inline styles, table layout; images referenced as ``cid:``)."""
    return _templates().get_template("digest.html.j2").render(_view(d, images))


def render_text(d: Digest) -> str:
    """The plain-text alternative (``templates/digest.txt.j2``): the same facts as the HTML, readable in any client."""
    return _templates().get_template("digest.txt.j2").render(_view(d, ()))


# --- CSV -------------------------------------------------------------------------------------------


def _csv_safe(v):
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def render_csv(d: Digest) -> str:
    """The per-function numbers (:data:`~dashboard.digest.compose.FUNCTIONS_SCHEMA`), safe to open in a spreadsheet."""
    frame = d.functions.copy()
    for col in frame.columns:
        if frame[col].dtype == "string" or frame[col].dtype == object:
            frame[col] = frame[col].map(_csv_safe, na_action="ignore")
    return csv_text(frame, lineterminator="\r\n")  # floats at the registry's precision, never 17 digits


# --- the message -----------------------------------------------------------------------------------


def _chart_cid_key(d: Digest, key: str) -> str:
    return "alert-" + hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


def _spend_cid_key(d: Digest) -> str:
    return "spend"


def build_images(d: Digest) -> list[Image]:
    """The inline charts of ``d``: up to three firing alerts and the month's spend (none when there is no data)."""
    out = []
    for c in d.charts:
        png = alert_chart(c)
        if png:
            k = _chart_cid_key(d, c.key)
            out.append(Image(k, k, png, f"Chart: {c.title} over the last {d.range_text}", c.title))
    png = spend_chart(d.spend)
    if png:
        out.append(Image("spend", "spend", png, "Chart: Lambda spend per day this month, the running total, forecast and budget", "Spend this month"))
    return out


def build_message(
    d: Digest,
    *,
    sender: str,
    sender_name: str = "Lambda Lens",
    message_id: str | None = None,
    images: Sequence[Image] | None = None,
) -> EmailMessage:
    """The complete MIME message (see the module docstring for its layout)."""
    images = build_images(d) if images is None else list(images)
    domain = sender.rsplit("@", 1)[-1]
    # Content-IDs unique per message (RFC 2392), made from the short keys the HTML uses; short enough
    # that the header is never folded (some clients mishandle a folded Content-ID).
    suffix = secrets.token_hex(4)
    cids = [Image(i.key, f"{i.key}.{suffix}@{domain}", i.png, i.alt, i.title) for i in images]
    html_body = render_html(d, images=cids)
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject(d)
    msg["From"] = Address(display_name=sanitize_header(sender_name, limit=64), addr_spec=sender)
    msg["To"] = tuple(Address(addr_spec=r) for r in d.recipients)
    msg["Date"] = format_datetime(d.generated_at)
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Lambda-Lens-Digest"] = sanitize_header(d.name, limit=64)
    msg.set_content(render_text(d))
    msg.add_alternative(html_body, subtype="html")
    html_part = msg.get_payload()[1]
    for c in cids:
        html_part.add_related(c.png, maintype="image", subtype="png", cid=f"<{c.cid}>", filename=f"{c.key}.png", disposition="inline")
    stamp = d.local_time.strftime("%Y-%m-%d")
    msg.add_attachment(render_csv(d), subtype="csv", filename=f"lambda-digest-{d.name}-{stamp}.csv")
    return msg


def preview_html(msg: EmailMessage) -> str:
    """The message's HTML with every ``cid:`` image inlined as a ``data:`` URI (a dry run's preview file)."""
    html_part = msg.get_body(preferencelist=("html",))
    if html_part is None:
        raise ValueError("the message has no HTML part")
    text = html_part.get_content()
    for part in msg.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_payload(decode=True)).decode("ascii")
            text = text.replace(f"cid:{escape(cid.strip('<>'))}", f"data:{part.get_content_type()};base64,{data}")  # as the template wrote it
    return text
