"""Sign-in for real: Chromium, `streamlit run app.py` with access.sign_in on, and an OpenID Connect provider on
loopback (oidc-provider-mock: discovery, authorize, token, JWKS, end-session, signed ID tokens). The whole
authorization-code round trip runs: the sign-in page, the provider's form, the callback, Streamlit's identity
cookie, the team-scoped Overview, sign-out."""

from __future__ import annotations

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import expect

from tests.browser.conftest import screenshot_dir, server_env, streamlit_server
from tests.conftest import free_port

pytestmark = pytest.mark.browser

ALICE = User(sub="alice", claims={"email": "alice@example.com", "email_verified": True, "name": "Alice"})
EVE = User(sub="eve", claims={"email": "eve@evil.example.net", "email_verified": True})
CONFIG = """accounts:
  - name: demo
    demo: true
    regions: [us-east-1, eu-west-1]
access:
  sign_in: true
  teams:
    alice@example.com: [payments]
"""


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread(port=free_port(), user_claims=[ALICE, EVE]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory, provider):
    folder = tmp_path_factory.mktemp("signin")
    port = free_port()
    (folder / "config.yaml").write_text(CONFIG)
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "test-cookie-secret-0123456789abcdef"\n'
        'client_id = "lambda-lens"\n'
        'client_secret = "test-client-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    secrets.chmod(0o600)
    with streamlit_server(
        folder,
        env={**server_env(), "LAMBDA_LENS_CONFIG": str(folder / "config.yaml")},
        args=("--secrets.files", str(secrets)),
        port=port,
    ) as server:
        yield server.url


def test_sign_in_shows_only_the_teams_the_identity_maps_to_then_sign_out(page, signed_app):
    page.goto(signed_app)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Invocations")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir() / "sign-in.png"))

    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="alice", exact=True)).to_be_visible(timeout=30_000)  # the provider's page
    page.get_by_role("button", name="alice", exact=True).click()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as alice@example.com · sees payments")).to_be_visible(timeout=90_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="Invocations")).to_be_visible(timeout=90_000)
    expect(page.get_by_role("heading", name="Alerts firing")).to_be_visible(timeout=90_000)  # the finished page
    expect(page.get_by_test_id("stMetric").filter(has_text="Lambda spend MTD")).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible(timeout=90_000)
    page.screenshot(path=str(screenshot_dir() / "signed-in-team-scoped.png"), full_page=True)

    # a new tab of the same browser is signed in too (Streamlit's identity cookie)
    other = page.context.new_page()
    other.goto(f"{signed_app}/teams")
    expect(other.get_by_test_id("stSidebar").get_by_text("sees payments")).to_be_visible(timeout=90_000)
    expect(other.get_by_text("Cost Explorer's bill covers whole accounts", exact=False)).to_be_visible(timeout=90_000)
    other.close()

    # sign-out ends the session at the provider too (RP-initiated logout), which sends the browser back
    sidebar.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="End Session")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)


def test_an_identity_mapped_to_no_team_is_told_so(browser, signed_app):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    try:
        page.goto(signed_app)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="eve", exact=True).click()
        expect(page.get_by_text("maps this identity to no team", exact=False)).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stMetric")).to_have_count(0)
    finally:
        ctx.close()
