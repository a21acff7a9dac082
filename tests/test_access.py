"""Sign-in and the team-scoped view: who sees which teams (dashboard.config.access), the cost report narrowed to a
selection (dashboard.figures.cost_report.narrow), and every page in AppTest as a signed-in, signed-out, unmapped and
all-teams viewer. The real OIDC round trip in Chromium is tests/browser/test_login.py."""

from __future__ import annotations

import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from aws import sim
from aws.meter import METER
from dashboard.cli import main
from dashboard.config import access
from dashboard.config.settings import AccessSettings, Settings
from dashboard.figures import cost_report
from dashboard.query.sources import inventory
from tests.apptest import APP, run
from tests.apptest import COST_NOW as NOW
from tests.conftest import free_port

TEAMS = ["data", "media", "payments", "platform", "search", "untagged"]  # the demo account's
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-test",
    "client_id": "lambda-lens",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = """
access:
  sign_in: true
  all_teams: ["*@platform.example.com"]
  teams:
    alice@example.com: [payments]
    "*@search.example.com": [search]
"""

ACC = AccessSettings(
    sign_in=True,
    all_teams=["*@platform.example.com", "root@example.com"],
    teams={"alice@example.com": ["payments"], "*@search.example.com": ["search"], "carol@*": ["media", "data"], "dan@example.com": ["*"]},
    teams_claim="groups",
)


# --- who sees what --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "teams"),
    [
        ({"email": "alice@example.com"}, {"payments"}),
        ({"email": "Alice@Example.COM"}, {"payments"}),  # e-mail addresses compare case-insensitively
        ({"email": "bob@search.example.com"}, {"search"}),
        ({"email": "carol@example.com"}, {"media", "data"}),
        ({"email": "alice@example.com", "groups": ["search", "media"]}, {"payments", "search", "media"}),
        ({"email": "x@example.com", "groups": "data, media"}, {"data", "media"}),  # a claim given as one string
        ({"email": "ops@platform.example.com"}, None),  # all_teams
        ({"email": "root@example.com"}, None),
        ({"email": "dan@example.com"}, None),  # "*" in the map
        ({"email": "x@example.com", "groups": ["*"]}, None),
        ({"email": "alice@example.com", "email_verified": True}, {"payments"}),
    ],
)
def test_an_identity_sees_the_teams_it_maps_to(claims, teams):
    who = access.resolve(ACC, claims)
    assert who.problem is None
    assert who.identity == claims["email"]
    assert who.teams == (None if teams is None else frozenset(teams))
    assert who.scoped is (teams is not None)


def test_an_identity_that_maps_to_no_team_sees_nothing_and_is_told_why():
    who = access.resolve(ACC, {"email": "eve@evil.example.net"})
    assert who.teams == frozenset() and who.scoped
    assert who.problem == (
        "You are signed in as eve@evil.example.net, but config.yaml maps this identity to no team: "
        "ask whoever runs Lambda Lens to add it under access.teams."
    )
    # a pattern matches the whole identity, not a prefix: alice@example.com.evil.net is not alice@example.com,
    # and *@search.example.com is not a suffix match on the domain alone
    assert access.resolve(ACC, {"email": "alice@example.com.evil.net"}).teams == frozenset()
    assert access.resolve(ACC, {"email": "bob@evilsearch.example.com"}).teams == frozenset()


def test_an_unverified_address_or_a_missing_claim_sees_nothing():
    unverified = access.resolve(ACC, {"email": "ops@platform.example.com", "email_verified": False})
    assert unverified.teams == frozenset()
    assert unverified.problem == (
        "Your identity provider says the address ops@platform.example.com is not verified; verify it there, then sign in again."
    )
    assert access.resolve(ACC, {"email": "ops@platform.example.com", "email_verified": "false"}).teams == frozenset()
    nameless = access.resolve(ACC, {"sub": "1234"})
    assert nameless.teams == frozenset() and nameless.identity is None
    assert "sent no 'email' claim" in nameless.problem
    by_sub = access.resolve(AccessSettings(sign_in=True, identity_claim="sub", teams={"1234": ["data"]}), {"sub": "1234"})
    assert by_sub.teams == frozenset({"data"}) and by_sub.identity == "1234"


def test_the_team_filter_of_a_scoped_viewer_is_never_all_teams():
    alice = access.resolve(ACC, {"email": "alice@example.com", "groups": ["search"]})
    assert alice.visible(TEAMS) == ["payments", "search"]
    assert alice.team_filter([]) == ("payments", "search")  # nothing chosen: all of theirs, never "every team"
    assert alice.team_filter(["search"]) == ("search",)
    assert alice.team_filter(["data"]) == ("payments", "search")  # another team in the URL is ignored
    assert access.EVERYONE.team_filter([]) == () and access.EVERYONE.visible(TEAMS) == TEAMS


def test_auth_secrets_are_checked_with_one_sentence_each():
    on = AccessSettings(sign_in=True)
    assert access.auth_problem(AccessSettings(), None) is None  # sign-in off: no secrets needed
    assert access.auth_problem(on, AUTH) is None
    assert access.auth_problem(on, None) == (
        "Sign-in is on (access.sign_in in config.yaml) but .streamlit/secrets.toml has no [auth] section: add "
        "redirect_uri, cookie_secret and the provider's client_id, client_secret and server_metadata_url "
        "(see docs/security.md, Sign-in)."
    )
    partial = {k: v for k, v in AUTH.items() if k not in ("cookie_secret", "client_secret")}
    assert access.auth_problem(on, partial) == (
        "Sign-in is on but .streamlit/secrets.toml lacks cookie_secret in [auth], client_secret in [auth] (see docs/security.md, Sign-in)."
    )
    named = AccessSettings(sign_in=True, provider="okta")
    assert access.auth_problem(named, AUTH) == (
        "Sign-in names the provider 'okta' but .streamlit/secrets.toml has no [auth.okta] section (see docs/security.md, Sign-in)."
    )
    split = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "s", "okta": {"client_id": "x", "server_metadata_url": "u"}}
    assert access.auth_problem(named, split) == (
        "Sign-in is on but .streamlit/secrets.toml lacks client_secret in [auth.okta] (see docs/security.md, Sign-in)."
    )
    assert "must end with /oauth2callback" in access.auth_problem(on, {**AUTH, "redirect_uri": "http://127.0.0.1:8501/"})


# --- the cost report narrowed to a selection ------------------------------------------------------------


@pytest.fixture(scope="module")
def report():
    sim.set_clock(lambda: NOW)
    try:
        yield cost_report.gather(Settings(), now=NOW)
    finally:
        sim.set_clock(None)


@pytest.mark.aws  # the report is the simulated account's
def test_a_team_filter_narrows_the_estimate_and_hides_the_whole_account_bill(report):
    assert report.actual_usd is not None and report.ce_missing is None
    mine = cost_report.narrow(report, teams=["payments"])
    assert set(mine.inventory["team"]) == {"payments"}
    keys = set(map(tuple, mine.inventory[["account", "region", "function"]].astype(object).to_numpy()))
    assert set(map(tuple, mine.estimate[["account", "region", "function"]].astype(object).to_numpy())) <= keys
    assert len(mine.estimate) > 0
    # the team's estimate is the same as in the whole report's team allocation
    whole = cost_report.costs_table(report, Settings(), by="function")
    narrowed = cost_report.costs_table(mine, Settings(), by="function")
    assert narrowed["est_cost_usd"].sum() == pytest.approx(whole.loc[whole["team"] == "payments", "est_cost_usd"].sum(), abs=1e-9)
    assert mine.actual_usd is None and mine.bill_hidden and mine.tag_costs is None
    assert mine.ce_missing == cost_report.WHOLE_ACCOUNT_BILL
    teams = cost_report.costs_table(mine, Settings(), by="team")
    assert set(teams.loc[teams["line"] == "team", "team"]) == {"payments"}
    assert not set(teams["team"]) & {"data", "media", "platform", "search"}
    # an account filter keeps Cost Explorer's figures (asked per account), nothing to narrow: the same report
    same = cost_report.narrow(report, accounts=["demo"])
    assert same.actual_usd == report.actual_usd and not same.bill_hidden
    assert cost_report.narrow(report) is report
    region = cost_report.narrow(report, regions=["eu-west-1"])
    assert set(region.inventory["region"]) == {"eu-west-1"} and region.bill_hidden


# --- the pages ------------------------------------------------------------------------------------------


@pytest.fixture
def signed(tmp_path, monkeypatch, app_dir, cost_clock):
    """AppTest of app.py with sign-in on; call with the user's claims (None: signed out) and secrets."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n" + ACCESS)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))

    def make(claims: dict | None, *, secrets: dict | None = AUTH, page: str | None = None, query: dict | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.user = {"is_logged_in": False} if claims is None else {"is_logged_in": True, **claims}
        if secrets is not None:
            at.secrets["auth"] = secrets
        for k, v in (query or {}).items():
            at.query_params[k] = v
        run(at)
        if page:
            at.switch_page(page)
            run(at)
        return at

    return make



def texts(at: AppTest, kind: str) -> list[str]:
    """The texts of one kind of element, markdown escapes removed (names from AWS are escaped on the pages)."""
    return [e.value.replace("\\", "") for e in getattr(at, kind)]


def test_signed_out_sees_only_the_sign_in_page_and_nothing_is_read_from_aws(signed):
    at = signed(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert texts(at, "title") == ["Lambda Lens"] and not at.dataframe and not at.metric
    assert METER.snapshot().total_calls == 0
    # a deep link to a function does not get past the sign-in page either
    deep = signed(None, page="dashboard/pages/functions.py", query={"fn": "demo/us-east-1/payments-api"})
    assert not deep.dataframe and METER.snapshot().total_calls == 0


@pytest.fixture
def provider():
    """An OpenID provider on loopback (discovery, authorize, token, JWKS)."""
    from oidc_provider_mock import run_server_in_thread

    access._PROVIDER_CHECKS.clear()
    with run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}/.well-known/openid-configuration"
    access._PROVIDER_CHECKS.clear()


def test_the_sign_in_page_says_when_the_provider_is_down_and_when_it_is_back(signed, provider):
    up = signed(None, secrets={**AUTH, "server_metadata_url": provider})
    assert not up.error and not up.button(key="sign_in").disabled
    dead = "http://127.0.0.1:9/.well-known/openid-configuration"  # nothing listens on port 9
    down = signed(None, secrets={**AUTH, "server_metadata_url": dead})
    assert texts(down, "error") == [
        f"The sign-in provider cannot be reached at {dead} (ConnectError); check server_metadata_url in "
        ".streamlit/secrets.toml and that the provider is up."
    ]
    assert down.button(key="sign_in").disabled  # Streamlit would answer a bare "Authentication error"
    assert METER.snapshot().total_calls == 0
    not_oidc = provider.replace("/.well-known/openid-configuration", "/")  # the provider's HTML home page
    wrong = signed(None, secrets={**AUTH, "server_metadata_url": not_oidc})
    assert texts(wrong, "error") == [
        f"The sign-in provider's discovery document at {not_oidc} is not JSON; check server_metadata_url in "
        ".streamlit/secrets.toml and that the provider is up."
    ]


def test_sign_in_on_without_auth_secrets_says_what_to_add(signed):
    at = signed(None, secrets=None)
    assert texts(at, "error") == [access.auth_problem(AccessSettings(sign_in=True), None)]
    assert not at.button and METER.snapshot().total_calls == 0


def test_an_unmapped_identity_is_told_why_and_nothing_is_read(signed, caplog):
    caplog.set_level("INFO", logger="dashboard.web.ui")
    at = signed({"email": "eve@evil.example.net"})
    # the audit line: who tried, and that they were refused
    assert [r.getMessage() for r in caplog.records if r.name == "dashboard.web.ui"] == [
        "sign-in: 'eve@evil.example.net' sees [] (refused: maps to no team)"
    ]
    assert texts(at, "warning") == [
        "You are signed in as eve@evil.example.net, but config.yaml maps this identity to no team: "
        "ask whoever runs Lambda Lens to add it under access.teams."
    ]
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert not at.dataframe and METER.snapshot().total_calls == 0


@pytest.mark.aws
def test_a_team_scoped_viewer_sees_only_their_team_on_every_page(signed):
    at = signed({"email": "alice@example.com"})
    assert "Signed in as alice@example.com · sees payments" in [c.value.replace("\\", "") for c in at.sidebar.caption]
    team = at.sidebar.multiselect(key="f_team")
    assert team.options == ["payments"] and team.placeholder == "All your teams"
    assert at.session_state["selection"].teams == ("payments",)
    labels = [m.label for m in at.metric]
    assert "Lambda spend MTD" not in labels and "Invocations" in labels  # the bill covers whole accounts
    assert METER.snapshot().count(operation="GetCostAndUsage") == 0  # ... so it is not even asked for
    table = at.dataframe[-1].value
    assert len(table) > 0 and set(table["team"]) == {"payments"}
    assert "team" not in at.query_params  # the scope is not written into shareable links

    alerts = signed({"email": "alice@example.com"}, page="dashboard/pages/alerts.py")
    for df in alerts.dataframe:
        if "team" in df.value.columns:
            assert set(df.value["team"]) <= {"payments"}

    teams = signed({"email": "alice@example.com"}, page="dashboard/pages/teams.py")
    rows = teams.dataframe[0].value  # the team lines only
    assert set(rows["team"]) == {"payments"}
    assert not set(rows["team"]) & set(TEAMS) - {"payments"}
    top = teams.dataframe[1].value  # the organisation's top list holds only what the viewer may see
    assert len(top) > 0 and set(top["team"]) == {"payments"}
    assert cost_report.WHOLE_ACCOUNT_BILL in texts(teams, "info")
    assert [o for o in teams.selectbox(key="teams_pick").options] == ["payments"]

    costs = signed({"email": "alice@example.com"}, page="dashboard/pages/costs.py")
    got = {m.label: m.value for m in costs.metric}
    assert got["Bill, month to date"] == "—" and cost_report.WHOLE_ACCOUNT_BILL in texts(costs, "info")
    assert not costs.warning


@pytest.mark.aws
def test_another_teams_function_is_not_found_whether_or_not_it_exists(signed):
    at = signed({"email": "alice@example.com"})
    everything = inventory(at.session_state["settings"]).frame
    other = everything[everything["team"] == "search"].iloc[0]
    mine = everything[everything["team"] == "payments"].iloc[0]
    for name, row in ((other["function"], other), ("no-such-function", other), (mine["function"], mine)):
        key = f"{row['account']}/{row['region']}/{name}"
        page = signed({"email": "alice@example.com"}, page="dashboard/pages/functions.py", query={"fn": key})
        if row is mine:
            assert not any("among your teams" in w for w in texts(page, "warning"))
            assert texts(page, "title") == [name]
        else:  # the same sentence whether the function exists or not: no probing other teams' names
            assert texts(page, "warning") == [f"No function named {name!r} among your teams' functions in demo/{row['region']}."]
            assert name not in texts(page, "title")


@pytest.mark.aws
def test_a_viewer_of_every_team_sees_what_the_dashboard_shows_without_sign_in(signed):
    at = signed({"email": "ops@platform.example.com"})
    assert at.sidebar.multiselect(key="f_team").options == TEAMS
    assert at.session_state["selection"].teams == ()
    assert "Lambda spend MTD" in [m.label for m in at.metric]
    assert METER.snapshot().count(operation="GetCostAndUsage") == 2  # this month and the same days of the last
    assert set(at.dataframe[-1].value["team"]) == set(TEAMS)


@pytest.mark.aws
def test_sign_out_returns_to_the_sign_in_page(signed):
    at = signed({"email": "alice@example.com"})
    at.sidebar.button(key="sign_out").click()
    run(at)
    assert [b.label for b in at.button] == ["Sign in"] and not at.dataframe


def test_an_identity_is_shown_as_text_not_markdown(signed):
    hostile = "[you won](https://evil.example.net) <b>x</b>@example.com"
    at = signed({"email": hostile})
    (warning,) = at.warning
    # every markdown and HTML special escaped: the link and the tag are shown as typed, not rendered
    assert r"\[you won\]\(https\://evil\.example\.net\) \<b\>x\</b\>@example\.com" in warning.value
    assert "[you won](" not in warning.value and "<b>" not in warning.value


def test_the_cli_says_which_teams_an_identity_sees(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(ACCESS + "  teams_claim: groups\n")

    def ask(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["access", "--config", str(cfg), *argv], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    assert ask("alice@example.com") == (0, "payments\n", "")
    assert ask("bob@search.example.com", "--teams-claim", "media") == (0, "media, search\n", "")
    assert ask("ops@platform.example.com") == (0, "every team\n", "")
    code, out, err = ask("eve@evil.example.net")
    assert (code, out) == (1, "") and "maps this identity to no team" in err


@pytest.mark.aws
def test_the_cli_costs_of_one_team_match_the_team_page(report, monkeypatch):
    monkeypatch.setattr(cost_report, "_now", lambda: NOW)
    sim.set_clock(lambda: NOW)
    try:
        out, err = io.StringIO(), io.StringIO()
        assert main(["costs", "--by", "team", "--team", "payments", "--format", "json"], out=out, err=err) == 0
    finally:
        sim.set_clock(None)
    rows = json.loads(out.getvalue())
    assert {r["team"] for r in rows if r["line"] == "team"} == {"payments"}
    expected = cost_report.costs_table(cost_report.narrow(report, teams=["payments"]), Settings(), by="team")
    assert [r["mtd_usd"] for r in rows] == pytest.approx(expected["mtd_usd"].tolist())
    assert err.getvalue() == f"note: {cost_report.WHOLE_ACCOUNT_BILL}\n"
