"""The frame every page shares: settings, sidebar filters, the demo banner, freshness and the API meter.

Page scripts only lay out widgets and charts; they read the current selection
from :func:`selection` and turn :class:`dashboard.query.sources.Loaded` statuses into one
sentence each with :func:`show_statuses`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from aws.meter import METER
from dashboard.config import access
from dashboard.config import settings as settings_mod
from dashboard.config.settings import ConfigError, Settings
from dashboard.present.registry import plural
from dashboard.present.text import escape_markdown
from dashboard.query import progress
from dashboard.query.selection import Selection
from dashboard.query.sources import Loaded
from dashboard.query.timerange import PRESETS, RangeError, parse_range

__all__ = ["load_settings", "sign_in", "viewer", "Selection", "sidebar", "selection", "note", "show_statuses", "LoadProgress", "loading", "fmt_age", "meter_panel", "freshness_panel", "refresh_text"]

log = logging.getLogger(__name__)


# Streamlit writes a page link's label on one line, cut with "…": on the Overview's first screen that cut the
# value off an entry ("error-rate · 23.94…"). Labels wrap instead (every page; in-app links only).
PAGE_STYLE = """<style>
[data-testid="stPageLink"] span, [data-testid="stPageLink"] [data-testid="stMarkdownContainer"], [data-testid="stPageLink"] p {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
}
</style>"""


def page_style() -> None:
    """The app's few style rules (:data:`PAGE_STYLE`), once per run; they take no space on the page."""
    st.html(PAGE_STYLE)


def load_settings() -> Settings:
    """The settings the app runs with; a bad file stops the page with its one line."""
    try:
        return settings_mod.load()  # $LAMBDA_LENS_CONFIG, else ./config.yaml, as every command
    except ConfigError as e:
        st.error(escape_markdown(e), icon=":material/error:")
        st.stop()
        raise  # unreachable; st.stop raises


def _auth_secrets() -> dict | None:
    try:
        auth = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets.toml at all (Streamlit's error subclasses it)
        return None
    return None if auth is None else auth.to_dict() if hasattr(auth, "to_dict") else dict(auth)


def sign_in(cfg: Settings) -> access.Viewer:
    """The viewer of this session. With ``access.sign_in`` on, a visitor who has not signed in sees the
    sign-in page and nothing else: the page stops here, before anything is read from AWS."""
    if not cfg.access.sign_in:
        return access.EVERYONE
    auth = _auth_secrets()
    if problem := access.auth_problem(cfg.access, auth):
        st.error(escape_markdown(problem), icon=":material/lock:")
        st.stop()
    if not st.user.is_logged_in:
        st.title("Lambda Lens", anchor=False)
        st.markdown("Sign in to see your teams' Lambda functions, alerts and costs.")
        down = access.provider_problem(access.metadata_url(cfg.access, auth))  # type: ignore[arg-type]
        if down:
            st.error(escape_markdown(down), icon=":material/cloud_off:")
        st.button(
            "Sign in", key="sign_in", icon=":material/login:", type="primary", disabled=bool(down),
            on_click=st.login, args=(cfg.access.provider,),
        )  # fmt: skip
        st.stop()
    who = access.resolve(cfg.access, st.user.to_dict())
    if st.session_state.get("_audited") != who:  # once per session and identity: who opened the dashboard, seeing what
        st.session_state["_audited"] = who
        seen = "every team" if who.teams is None else sorted(who.teams)
        log.info("sign-in: %r sees %s%s", who.identity, seen, " (refused: maps to no team)" if who.problem else "")
    with st.sidebar:
        st.caption(escape_markdown(who.describe()))  # the identity comes from the token: text, not markdown
        st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
    if who.problem:
        st.warning(escape_markdown(who.problem), icon=":material/no_accounts:")
        st.stop()
    return who


def viewer() -> access.Viewer:
    return st.session_state.get("viewer", access.EVERYONE)


def fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _query_list(name: str) -> list[str]:
    return [v for v in st.query_params.get_all(name) if v]


def sidebar(cfg: Settings, teams: list[str], who: access.Viewer = access.EVERYONE, *, month_page: bool = False) -> Selection:
    """Filters shared by every page, mirrored in the URL so a pasted link shows the same view.

    A team-scoped viewer is offered only their teams, and choosing none means all of theirs. On a page that
    shows a calendar month (``month_page``: Costs, Teams) the time range is kept (and stays in the URL) but
    shown disabled, with one line saying the page picks its month itself: no filter that silently does nothing."""
    teams = who.visible(teams)
    accounts = [a.name for a in cfg.accounts]
    regions = sorted({r for a in cfg.accounts for r in a.regions})
    with st.sidebar:
        st.header("Lambda Lens")
        sel_acc = st.multiselect(
            "Account", accounts, default=[a for a in _query_list("account") if a in accounts], key="f_account", placeholder="All accounts"
        )
        sel_reg = st.multiselect(
            "Region", regions, default=[r for r in _query_list("region") if r in regions], key="f_region", placeholder="All regions"
        )
        sel_team = st.multiselect(
            "Team", teams, default=[t for t in _query_list("team") if t in teams], key="f_team",
            placeholder="All your teams" if who.scoped else "All teams",
        )
        options = list(PRESETS) + ["custom"]
        wanted = st.query_params.get("range", cfg.default_range)
        default_idx = options.index(wanted) if wanted in options else (options.index("custom") if ".." in wanted else options.index(cfg.default_range))
        choice = st.selectbox("Time range", options, index=default_idx, key="f_range", disabled=month_page)
        if month_page:
            st.caption(MONTH_ONLY)
        range_text = choice
        if choice == "custom":
            custom = st.text_input(
                "From..to (UTC, ISO 8601)", value=wanted if ".." in wanted else "", key="f_custom",
                placeholder="2026-11-20..2026-11-21T12:00", disabled=month_page,
            )  # fmt: skip
            range_text = custom or cfg.default_range
        now = cfg.now()
        try:
            trange = parse_range(range_text, now=now)
        except RangeError as e:  # ?range= or the custom box: one sentence, the page goes on over the default range
            st.error(escape_markdown(str(e)), icon=":material/event_busy:")
            trange = parse_range(cfg.default_range, now=now)
            range_text = cfg.default_range
    st.query_params["range"] = range_text
    for name, values in (("account", sel_acc), ("region", sel_reg), ("team", sel_team)):
        if values:
            st.query_params[name] = values
        elif name in st.query_params:
            del st.query_params[name]
    return Selection(trange, range_text, now, tuple(sel_acc), tuple(sel_reg), tuple(who.team_filter(sel_team)))


def selection() -> Selection:
    return st.session_state["selection"]


def note(loaded: Loaded) -> None:
    """Remember the statuses of a load for the sidebar's freshness panel (this run only)."""
    st.session_state.setdefault("_statuses", []).extend(loaded.statuses)


def show_statuses(loaded: Loaded, *, what: str) -> None:
    """One sentence per failed or stale part, where the data would be (each said once)."""
    note(loaded)
    for msg in dict.fromkeys(f"{what} missing for {s.account}/{s.region}: {s.error}" for s in loaded.failed):
        st.error(escape_markdown(msg), icon=":material/warning:")
    oldest: dict[tuple[str, str, str | None], float | None] = {}  # one line per part and cause, with its oldest age
    for s in loaded.stale:
        k = (s.account, s.region, s.error)
        age = s.age_s()
        oldest[k] = age if oldest.get(k) is None else max(oldest[k] or 0.0, age or 0.0)
    for (account, region, error), age in oldest.items():
        st.warning(escape_markdown(f"{what} for {account}/{region} is stale ({fmt_age(age)} old): {error}"), icon=":material/history:")
    for w in dict.fromkeys(loaded.warnings):
        st.info(escape_markdown(w))


class LoadProgress:
    """A long load's status box: its step as the label, with the parts answered so far in counts
    ("The trend… — metrics (trend): 3 of 8 account-regions"); under it, what was loaded.

    Call it from the page's script thread only (``load_overview`` calls ``counts`` there:
    :mod:`dashboard.query.progress`). Create it inside the ``st.status`` block."""

    def __init__(self, status) -> None:
        self._status = status
        self._step = ""
        self._counts = ""
        self._detail = st.empty()
        self.tracker = progress.Progress(self.count)  # for progress.tracking around a load that takes no ``counts``

    def _show(self) -> None:
        self._status.update(label=escape_markdown(" — ".join(t for t in (self._step, self._counts) if t)))

    def step(self, label: str) -> None:
        self._step, self._counts = label, ""
        self._show()

    def count(self, line: str) -> None:
        self._counts = line
        self._show()

    def finish(self, label: str, detail: str | None = None) -> None:
        """The load is done: ``label`` says what it found; ``detail`` (under it; by default the last counts) what was read."""
        detail = detail if detail is not None else (self.tracker.summary() or self._counts)
        if detail:
            self._detail.caption(escape_markdown(f"Read: {detail}."))
        self._status.update(label=escape_markdown(label), state="complete")


@contextmanager
def loading(label: str) -> Iterator[LoadProgress]:
    """A collapsed status box for a long load, its label counting the parts answered as they arrive
    ("metrics: 3 of 8 account-regions"); call ``finish`` on what it yields when done."""
    with st.status(label, expanded=False) as status:
        doing = LoadProgress(status)
        with progress.tracking(doing.tracker):
            yield doing


def meter_panel(scope: str) -> None:
    """This session's AWS calls and their estimated cost (and the whole server's, for context)."""
    mine = METER.scope_snapshot(scope)
    total = METER.snapshot()
    with st.sidebar:
        st.caption(
            f"AWS use this session: {mine.total_calls:,} calls · ${mine.cost_usd:,.4f} "
            f"({mine.metrics_requested:,} metrics, {mine.ce_requests} Cost Explorer requests). "
            f"Whole server: {total.total_calls:,} calls · ${total.cost_usd:,.4f}."
        )


def freshness_panel() -> None:
    """Age of each source's data, stale and failed parts marked; from the loads of this run."""
    statuses = st.session_state.get("_statuses") or []
    if not statuses:
        return
    now = time.time()
    latest: dict[tuple[str, str, str], object] = {}
    for s in statuses:
        latest[(s.source, s.account, s.region)] = s
    lines = []
    marks = 0
    for (source, account, region), s in sorted(latest.items()):
        if s.failed:
            mark, marks = "**failed**", marks + 1
        elif s.stale:
            mark, marks = f"**stale**, {fmt_age(s.age_s(now))} old", marks + 1
        else:
            mark = f"{fmt_age(s.age_s(now))} old"
        lines.append(f"- {escape_markdown(source)} · {escape_markdown(f'{account}/{region}')}: {mark}")
    label = "Data freshness" + (f" ({marks} stale or failed)" if marks else "")
    with st.sidebar.expander(label, icon=":material/schedule:"):
        # a list that wraps at any width (a code block would be cut off in the sidebar)
        st.markdown("\n".join(lines))
        if (text := refresh_text()) is not None:
            st.caption(escape_markdown(text))


SPEND_FILE = "aws-spend.json"  # the dashboard's own AWS spend this month, beside the digest state (aws.ledger)


def spend_ledger(cfg: Settings):
    """Where the refresher keeps the month's AWS spend across restarts: the app's state folder (the digest state's)."""
    from aws.ledger import SpendLedger
    from dashboard.digest.pipeline import state_path
    from dashboard.digest.state import atomic_write

    return SpendLedger(state_path(cfg).parent / SPEND_FILE, write=atomic_write)


def refresh_text(refresher=None) -> str | None:
    """The dashboard's own AWS spend this month, its projection, and what is refreshing behind the pages (None: no refresh)."""
    from aws import refresh

    r = refresher or refresh.current()
    if r is None:
        return None
    plan = r.plan()
    pace = (
        "nothing is refreshed behind the pages (press Refresh for newer data)"
        if plan.exhausted
        else f"the {plural(plan.watched, 'question')} viewed lately are refreshed {plan.scale:,.1f}× less often than their TTL asks, to stay within it"
        if plan.binding
        else f"the {plural(plan.watched, 'question')} viewed lately are refreshed before they expire"
    )
    now = f" Refreshing: {'; '.join(plan.refreshing)}." if plan.refreshing else ""
    partial = f" {plan.spent_note}" if plan.spent_note else ""
    return (
        f"AWS spend of the dashboard in {plan.month}: ${plan.spent_usd:,.2f} so far, ${plan.projected_usd:,.2f} projected "
        f"(budget ${plan.budget_usd:,.2f}): {pace}.{now}{partial}"
    )


MONTH_PAGES = ("costs", "teams")  # pages that show a calendar month (picked on the page), not the sidebar's range
MONTH_ONLY = "Costs and Teams show a calendar month, picked on the page; this range applies to the other pages."


def month_label(month: str, *, current: str) -> str:
    """``"2026-12"`` → ``"December 2026 (this month)"``."""
    from datetime import datetime

    text = f"{datetime.strptime(month, '%Y-%m'):%B %Y}"
    return f"{text} (this month)" if month == current else text


def month_picker(cfg: Settings, *, now) -> str | None:
    """The month the Costs and Teams pages show: a picker of this month and the ones before it that had Lambda spend
    or usage (:func:`dashboard.figures.cost_months.month_choice`: one Cost Explorer request a day), started from
    ``?month=`` and kept there, so a pasted link shows the same month. A readable month without spend can still be
    opened with ``?month=`` and says so; when the months with spend cannot be read, every readable month is offered
    with one sentence. A bad ``?month=`` stops the page with one sentence. None: the current month."""
    from dashboard.figures import cost_months, cost_report

    asked = st.query_params.get("month")
    try:  # before the progress box, which is collapsed: the sentence is said on the page, without the CLI's --month
        cost_report.check_month(cfg, asked, now=now)
    except cost_report.MonthError as e:
        st.error(escape_markdown(f"The address asks for the month {e.value}, which {e.problem}."), icon=":material/event_busy:")
        st.stop()
    choice = cost_months.month_choice(cfg, today=now.date())
    current = choice.readable[0]
    options = list(choice.offered)
    if asked in choice.readable and asked not in options:  # a month without spend, asked for by its address
        options = sorted({*options, asked}, reverse=True)
    if "cost_month" not in st.session_state or st.session_state["cost_month"] not in options:
        st.session_state["cost_month"] = asked if asked in options else current
    picked = st.selectbox(
        "Month", options, key="cost_month", format_func=lambda m: month_label(m, current=current),
        help="A calendar month in UTC (the sidebar's time range does not apply here). Offered: this month and the months "
        "Cost Explorer has Lambda spend or usage for.",
    )  # fmt: skip
    st.query_params["month"] = picked
    if choice.note:
        st.caption(escape_markdown(choice.note))
    if choice.has_spend(picked) is False:
        st.info(escape_markdown(cost_months.no_spend_sentence(picked)), icon=":material/money_off:")
    return None if picked == current else picked


def _likely_month(cfg: Settings, now) -> str | None | bool:
    """The month :func:`month_picker` will most likely return (as it returns it: None for the current one) before
    its months are read: the one picked before in this session, else ``?month=``, else the current one; False when
    ``?month=`` is one the picker refuses (the page stops there)."""
    from dashboard.figures import cost_report
    from dashboard.figures.cost_views import months

    current = months(today=now.date())[0]
    picked = st.session_state.get("cost_month") or st.query_params.get("month") or current
    try:
        cost_report.check_month(cfg, picked, now=now)
    except cost_report.MonthError:
        return False
    return None if picked == current else picked


def month_report(cfg: Settings):
    """The month's cost report (the page's month picker, ``?month=YYYY-MM``, or this month) for the Costs and Teams
    pages, with progress, narrowed to the sidebar's accounts, regions and teams; a bad month stops the page with one
    sentence. Under it: what the report covers, and why the bill is missing when it is."""
    from dashboard.figures import cost_report

    now = cost_report.clock(cfg)  # one clock for the check and the load
    # the month about to be shown is read while the picker asks which months had spend (a separate Cost Explorer
    # request): the page waits for the slower of the two, not for both in turn
    likely, early, said = _likely_month(cfg, now), None, [None]
    tracker = progress.Progress(lambda line: said[0] and said[0](line))  # reports once the status box below exists
    if likely is not False:
        with progress.tracking(tracker):
            early = progress.Behind(lambda: cost_report.gather(cfg, month=likely, now=now), name="month-report")
    month = month_picker(cfg, now=now)
    with loading("Reading Cost Explorer and pricing the usage…") as doing:
        if early is not None and month == likely:
            said[0] = doing.count
            with progress.tracking(tracker):  # what reporting raised (a rerun) is raised once the report is in
                report = early.result(tracker)
            detail = tracker.summary() or None
        else:  # another month was picked: the one read meanwhile stays cached for when it is
            report, detail = cost_report.gather(cfg, month=month, now=now), None
        doing.finish(f"{report.month}: {plural((report.end - report.first).days, 'complete day')}", detail)
    sel = selection()
    report = cost_report.narrow(report, accounts=sel.accounts, regions=sel.regions, teams=sel.teams)
    scope = [f"{what} {', '.join(values)}" for what, values in (("accounts", sel.accounts), ("regions", sel.regions), ("teams", sel.teams)) if values]
    if scope:
        st.caption(escape_markdown(f"Only the functions of {'; '.join(scope)} ({plural(len(report.inventory), 'function')})."))
    if report.ce_missing:
        if report.bill_hidden:
            st.info(escape_markdown(report.ce_missing), icon=":material/filter_alt:")
        else:
            st.warning(escape_markdown(report.ce_missing), icon=":material/money_off:")
    return report
