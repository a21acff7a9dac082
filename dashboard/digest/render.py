"""A digest as an e-mail: subject line, HTML with inline styles, plain text, CSV, and the MIME message.

The HTML is built for mail clients, not browsers: nested tables with ``width`` attributes
and inline ``style`` (Outlook's Word engine ignores ``<style>`` blocks, flexbox and most
CSS; Gmail drops ``<style>`` in some views), web-safe fonts, images with explicit size
and ``alt`` text. Everything needed to understand it is in the message: a link to the
dashboard is added only when ``email.dashboard_url`` is set.

Every string that comes from AWS or the config (function names, tag values, team
names, rule names) goes through :func:`html.escape`. Headers are built with
:class:`email.message.EmailMessage` under :data:`email.policy.SMTP`, and the subject is
sanitised first (control characters, CR and LF become spaces), so no value can add a
header. CSV cells that a spreadsheet would run as a formula (starting ``= + - @``) are
prefixed with ``'``.

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
import hashlib
import html
import io
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard.digest.compose import MOVER_METRICS, NEW, ONGOING, RESOLVED, Digest
from dashboard.digest.images import HEIGHT_PX, WIDTH_PX, alert_chart, spend_chart
from dashboard.present.links import function_link

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
    "fmt_value",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
CMP = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}
_PCT = {"error_rate", "throttle_rate", "duration_p99_timeout_share", "memory_utilization", "cold_start_rate", "concurrency_account_share"}
_MS = {"duration_p99_ms", "iterator_age_ms", "async_event_age_ms"}
SEV_COLOURS = {"critical": ("#ffffff", "#c62828"), "warning": ("#1f2933", "#f5c451"), "info": ("#1f2933", "#d9e2ec")}
STATUS_TEXT = {
    "over": "over budget",
    "forecast_over": "forecast over budget",
    "under": "within budget",
    "no_budget": "no budget set",
    "unavailable": "unavailable",
}
INK, MUTED, LINE, BG, CARD = "#1f2933", "#616e7c", "#e4e7eb", "#f4f5f7", "#ffffff"
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


def _ms(ms: float) -> str:
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} h"
    if ms >= 60_000:
        return f"{ms / 60_000:.1f} min"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.0f} ms"


def fmt_value(metric: str | None, v) -> str:
    """A rule metric's value with its unit: ``25.3 %``, ``1.20 s``, ``1,234``; ``–`` when missing."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(f):
        return "–"
    if metric in _PCT:
        return f"{f:.1f} %"
    if metric in _MS:
        return _ms(f)
    return f"{f:,.0f}" if abs(f) >= 10 or f == int(f) else f"{f:,.2f}"


def _money(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"${v:,.2f}"


def _mover(metric: str, v: float) -> str:
    if metric == "est_cost_usd":
        return f"${v:,.2f}" if abs(v) >= 0.01 else f"${v:,.4f}"
    if metric == "duration_p99_ms":
        return _ms(v)
    return f"{v:,.0f}"


def _signed(metric: str, v: float) -> str:
    sign = "+" if v > 0 else "−" if v < 0 else "±"
    return sign + _mover(metric, abs(v))


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
    """(what, when) for one alert row, as plain text (escape before putting it in HTML)."""
    metric = rec.get("metric")
    metric = None if metric is None or pd.isna(metric) else str(metric)
    cmp_ = CMP.get(str(rec.get("comparison")), "")
    value, threshold = rec.get("value"), rec.get("threshold")
    if metric is not None and cmp_ and not pd.isna(threshold):
        shown = value if not pd.isna(value) else rec.get("last_value")
        what = f"{rec['rule']}: {fmt_value(metric, shown)} {cmp_} {fmt_value(metric, threshold)}"
    else:
        what = f"{rec['rule']}" + (f": {fmt_value(metric, value)}" if not pd.isna(value) else "")
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


# --- HTML ------------------------------------------------------------------------------------------


def _e(v) -> str:
    return html.escape("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v), quote=True)


def _link(d: Digest, rec: dict, *, rule: str | None = None) -> str:
    """The function's name, linked to its dashboard page when a dashboard URL is configured."""
    name = _e(rec["function"])
    if not d.dashboard_url:
        return f'<strong style="color:{INK};">{name}</strong>'
    url = d.dashboard_url.rstrip("/") + "/" + function_link(str(rec["account"]), str(rec["region"]), str(rec["function"]), range_text=d.range_text, rule=rule)
    return f'<a href="{_e(url)}" style="color:#2f6fb0;font-weight:bold;text-decoration:none;">{name}</a>'


def _chip(severity: str) -> str:
    fg, bg = SEV_COLOURS.get(str(severity), ("#1f2933", "#d9e2ec"))
    return (
        f'<span style="display:inline-block;padding:1px 6px;border-radius:3px;background:{bg};color:{fg};'
        f'font-size:11px;font-weight:bold;text-transform:uppercase;letter-spacing:0.3px;">{_e(severity)}</span>'
    )


def _h2(text: str) -> str:
    return (
        f'<tr><td style="padding:20px 24px 6px 24px;font-family:{FONT};font-size:16px;font-weight:bold;color:{INK};'
        f'border-top:1px solid {LINE};">{text}</td></tr>'
    )


def _p(text: str, *, muted: bool = False, size: int = 14) -> str:
    colour = MUTED if muted else INK
    return f'<tr><td style="padding:4px 24px;font-family:{FONT};font-size:{size}px;line-height:1.45;color:{colour};">{text}</td></tr>'


def _tiles(d: Digest) -> str:
    spend = d.spend
    tiles = [
        ("firing", str(d.firing), "#c62828" if d.firing else INK),
        ("new", str(d.count(NEW)), "#c62828" if d.count(NEW) else INK),
        ("resolved", str(d.count(RESOLVED)), "#2e7d32" if d.count(RESOLVED) else INK),
        ("spend this month", _money(spend.mtd_usd), "#c62828" if spend.status == "over" else INK),
    ]
    cells = "".join(
        f'<td width="25%" align="center" valign="top" style="padding:10px 4px;font-family:{FONT};">'
        f'<div style="font-size:22px;font-weight:bold;color:{colour};">{_e(value)}</div>'
        f'<div style="font-size:12px;color:{MUTED};">{_e(label)}</div></td>'
        for label, value, colour in tiles
    )
    return (
        f'<tr><td style="padding:4px 16px 12px 16px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="background:{BG};border-radius:4px;"><tr>{cells}</tr></table></td></tr>'
    )


def _alert_rows(d: Digest, category: str, tz: ZoneInfo) -> str:
    part = d.alerts[d.alerts["category"] == category]
    if part.empty:
        return ""
    title = {NEW: "New", ONGOING: "Still firing", RESOLVED: "Resolved"}[category]
    rows = []
    for rec in part.to_dict(orient="records"):
        what, when = _alert_sentence(rec, tz, d.generated_at)
        team = rec.get("team")
        team_txt = f" · {_e(team)}" if team is not None and not pd.isna(team) and d.team is None else ""
        rows.append(
            f'<tr><td valign="top" width="76" style="padding:6px 0;font-family:{FONT};">{_chip(rec["severity"])}</td>'
            f'<td valign="top" style="padding:6px 0 6px 8px;font-family:{FONT};font-size:14px;line-height:1.4;color:{INK};">'
            f"{_link(d, rec, rule=str(rec['rule']))} "
            f'<span style="color:{MUTED};font-size:12px;">{_e(rec["region"])}{team_txt}</span><br>'
            f"{_e(what)}<br>"
            f'<span style="color:{MUTED};font-size:12px;">{_e(when)}</span></td></tr>'
        )
    return (
        f'<tr><td style="padding:8px 24px 0 24px;font-family:{FONT};font-size:13px;font-weight:bold;color:{MUTED};'
        f'text-transform:uppercase;letter-spacing:0.5px;">{title} ({len(part)})</td></tr>'
        f'<tr><td style="padding:0 24px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0">{"".join(rows)}</table></td></tr>'
    )


def _img(img: Image) -> str:
    return (
        f'<tr><td style="padding:10px 24px 0 24px;font-family:{FONT};font-size:12px;color:{MUTED};">{_e(img.title)}</td></tr>'
        f'<tr><td style="padding:2px 20px 4px 20px;"><img src="cid:{_e(img.cid)}" width="{WIDTH_PX}" height="{HEIGHT_PX}" '
        f'alt="{_e(img.alt)}" style="display:block;width:100%;max-width:{WIDTH_PX}px;height:auto;border:0;"></td></tr>'
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: Sequence[str]) -> str:
    th = "".join(
        f'<th align="{a}" style="padding:4px 6px;font-family:{FONT};font-size:12px;color:{MUTED};font-weight:normal;'
        f'border-bottom:1px solid {LINE};">{_e(h)}</th>'
        for h, a in zip(header, align, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td align="{a}" valign="top" style="padding:5px 6px;font-family:{FONT};font-size:13px;color:{INK};'
            f'border-bottom:1px solid {LINE};">{cell}</td>'
            for cell, a in zip(row, align, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<tr><td style="padding:4px 24px;"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;"><tr>{th}</tr>{body}</table></td></tr>'
    )


def _spend_sentence(d: Digest) -> str:
    s = d.spend
    if s.error:
        return f"Spend unavailable: {s.error}"
    if s.mtd_usd is None:
        return "Spend unavailable."
    month = pd.Timestamp(s.month_start).strftime("%B")
    text = f"{_money(s.mtd_usd)} spent on Lambda in {month} so far"
    if s.forecast_usd is not None:
        text += f"; forecast {_money(s.forecast_usd)} by the end of the month"
    if s.budget_usd is not None:
        used = s.budget_used_pct
        text += f"; budget {_money(s.budget_usd)} ({used:.0f} % used, {STATUS_TEXT[s.status]})"
    return text + "."


def render_html(d: Digest, *, images: Sequence[Image] = ()) -> str:
    """The HTML body (inline styles, table layout; images referenced as ``cid:``)."""
    tz = ZoneInfo(d.timezone)
    local = d.local_time
    title = f"Lambda digest — {d.scope}"
    sub = f"{local:%A %-d %B %Y, %H:%M} {local.tzname()} · the last {d.range_text} · {d.function_count} function{'s' if d.function_count != 1 else ''}"
    if d.previous_sent_at is not None:
        sub += f" · changes since the digest of {_local(d.previous_sent_at, tz, ref=d.generated_at)}"
    by_key = {i.key: i for i in images}
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="color-scheme" content="light only"><title>{_e(subject(d))}</title></head>',
        f'<body style="margin:0;padding:0;background:{BG};">',
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" bgcolor="{BG}" style="background:{BG};">'
        '<tr><td align="center" style="padding:16px 8px;">',
        f'<table role="presentation" width="640" cellpadding="0" cellspacing="0" bgcolor="{CARD}" '
        f'style="width:100%;max-width:640px;background:{CARD};border:1px solid {LINE};border-radius:6px;">',
        f'<tr><td style="padding:20px 24px 2px 24px;font-family:{FONT};font-size:20px;font-weight:bold;color:{INK};">{_e(title)}</td></tr>',
        _p(_e(sub), muted=True, size=12),
        _tiles(d),
    ]
    # Alerts
    out.append(_h2("Alerts"))
    if d.alerts.empty:
        out.append(_p("No alert fired in this period."))
    else:
        for cat in (NEW, ONGOING, RESOLVED):
            out.append(_alert_rows(d, cat, tz))
    for c in d.charts:
        img = by_key.get(_chart_cid_key(d, c.key))
        if img is not None:
            out.append(_img(img))
    # What to do
    if not d.advice.empty:
        out.append(_h2("What to do"))
        rows = []
        for rec in d.advice.head(15).to_dict(orient="records"):
            rows.append((f"{_link(d, rec)}<br><span style=\"color:{MUTED};font-size:12px;\">{_e(rec['region'])}</span>", _e(rec["text"])))
        out.append(_table(["function", "what to do"], rows, align=["left", "left"]))
        if len(d.advice) > 15:
            out.append(_p(f"… and {len(d.advice) - 15} more in the attached CSV.", muted=True, size=12))
    # Top movers
    out.append(_h2(f"Top movers (the last {_e(d.range_text)} against the {_e(d.range_text)} before)"))
    if d.movers.empty:
        out.append(_p("No large change in invocations, errors, p99 duration or cost."))
    else:
        rows = []
        for rec in d.movers.to_dict(orient="records"):
            m = str(rec["metric"])
            pct = rec["change_pct"]
            pct_txt = f" ({'+' if pct > 0 else '−'}{abs(pct):.0f} %)" if not pd.isna(pct) else " (new)"
            colour = "#c62828" if rec["change"] > 0 and m != "invocations" else ("#2e7d32" if rec["change"] < 0 and m != "invocations" else INK)
            rows.append(
                (
                    _e(MOVER_METRICS[m]),
                    _link(d, rec),
                    _e(f"{_mover(m, rec['previous'])} → {_mover(m, rec['current'])}"),
                    f'<span style="color:{colour};">{_e(_signed(m, rec["change"]) + pct_txt)}</span>',
                )
            )
        out.append(_table(["metric", "function", "before → now", "change"], rows, align=["left", "left", "right", "right"]))
    # Spend
    out.append(_h2("Spend"))
    out.append(_p(_e(_spend_sentence(d))))
    if d.spend.note:
        out.append(_p(_e(d.spend.note), muted=True, size=12))
    img = by_key.get(_spend_cid_key(d))
    if img is not None:
        out.append(_img(img))
    # Problems
    if d.problems:
        out.append(_h2("Data that could not be read"))
        for line in d.problems:
            out.append(_p(_e(line), size=13))
    foot = (
        f"Generated by Lambda Lens at {d.generated_at:%Y-%m-%d %H:%M} UTC. "
        "Alert states follow CloudWatch's rules (M of N datapoints, missing-data treatment); costs per function are "
        "estimates at list price, spend is from Cost Explorer. The numbers per function are in the attached CSV."
    )
    if d.dashboard_url:
        foot += f' Dashboard: <a href="{_e(d.dashboard_url)}" style="color:#2f6fb0;">{_e(d.dashboard_url)}</a>'
    out.append(
        f'<tr><td style="padding:16px 24px 20px 24px;font-family:{FONT};font-size:11px;line-height:1.4;color:{MUTED};'
        f'border-top:1px solid {LINE};">{foot if d.dashboard_url else _e(foot)}</td></tr>'
    )
    out.append("</table></td></tr></table></body></html>")
    return "\n".join(x for x in out if x)


# --- plain text ------------------------------------------------------------------------------------


def render_text(d: Digest) -> str:
    """The plain-text alternative: the same facts as the HTML, readable in any client."""
    tz = ZoneInfo(d.timezone)
    local = d.local_time
    lines = [
        f"Lambda digest — {d.scope}",
        f"{local:%A %-d %B %Y, %H:%M} {local.tzname()} · the last {d.range_text} · {d.function_count} functions",
        "",
        f"Firing: {d.firing}   New: {d.count(NEW)}   Resolved: {d.count(RESOLVED)}   Spend this month: {_money(d.spend.mtd_usd)}",
        "",
        "ALERTS",
    ]
    if d.alerts.empty:
        lines.append("  No alert fired in this period.")
    for cat in (NEW, ONGOING, RESOLVED):
        part = d.alerts[d.alerts["category"] == cat]
        if part.empty:
            continue
        lines.append(f"  {({NEW: 'New', ONGOING: 'Still firing', RESOLVED: 'Resolved'})[cat]} ({len(part)})")
        for rec in part.to_dict(orient="records"):
            what, when = _alert_sentence(rec, tz, d.generated_at)
            lines.append(f"  - [{rec['severity']}] {rec['function']} ({rec['region']}) {what}")
            lines.append(f"      {when}")
    if not d.advice.empty:
        lines += ["", "WHAT TO DO"]
        for rec in d.advice.to_dict(orient="records"):
            lines.append(f"  - {rec['function']} ({rec['region']}): {rec['text']}")
    lines += ["", f"TOP MOVERS (the last {d.range_text} against the {d.range_text} before)"]
    if d.movers.empty:
        lines.append("  No large change in invocations, errors, p99 duration or cost.")
    for rec in d.movers.to_dict(orient="records"):
        m = str(rec["metric"])
        pct = rec["change_pct"]
        pct_txt = f" ({'+' if pct > 0 else '-'}{abs(pct):.0f} %)" if not pd.isna(pct) else " (new)"
        lines.append(f"  - {MOVER_METRICS[m]}: {rec['function']} {_mover(m, rec['previous'])} -> {_mover(m, rec['current'])}{pct_txt}")
    lines += ["", "SPEND", f"  {_spend_sentence(d)}"]
    if d.spend.note:
        lines.append(f"  ({d.spend.note})")
    if d.problems:
        lines += ["", "DATA THAT COULD NOT BE READ"] + [f"  - {p}" for p in d.problems]
    lines += ["", f"Generated by Lambda Lens at {d.generated_at:%Y-%m-%d %H:%M} UTC. The numbers per function are in the attached CSV."]
    if d.dashboard_url:
        lines.append(f"Dashboard: {d.dashboard_url}")
    return "\n".join(_CONTROL.sub(" ", line) for line in lines) + "\n"


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
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue()


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
            text = text.replace(f"cid:{html.escape(cid.strip('<>'), quote=True)}", f"data:{part.get_content_type()};base64,{data}")
    return text
