"""Shared fixtures: no test reaches the internet or real AWS.

Dummy credentials and a bogus profile are set for every test; AWS services are
either moto's server on 127.0.0.1 or the simulated account.
"""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import settings as hypothesis_settings

import aws.sim  # noqa: F401 - the simulated account answers every demo Account a test builds
from aws.meter import METER
from aws.session import Account, reset_clients
from tests.apptest import app_dir, cost_clock  # noqa: F401 - fixtures for the AppTest suites

# Property tests check behaviour, not speed: no per-example deadline (a loaded CI machine is not a failure).
hypothesis_settings.register_profile("lambda-lens", deadline=None)
hypothesis_settings.load_profile("lambda-lens")

FAST_LANE = "LAMBDA_LENS_FAST_LANE"  # set by `make test-fast`
# moto's server, and the simulated account's digest inputs (a module-scoped fixture of the digest suites)
_AWS_FIXTURES = {"moto_server", "moto_url", "moto_account", "sim_inputs"}


def pytest_collection_modifyitems(items):
    """Tests on moto's server or the simulated account's inputs are ``aws`` tests (not in the fast lane), as are the
    browser and load suites."""
    for item in items:
        if _AWS_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("browser") or item.get_closest_marker("load"):
            item.add_marker(pytest.mark.aws)


@pytest.fixture(scope="session", autouse=True)
def _state_outside_the_repository(tmp_path_factory):
    """The alert history every evaluation records (dashboard/alerts/history.py) and the AWS spend ledger go to a folder of the session, never
    the repository's .lambda-lens/, also for module-scoped fixtures (each test then gets its own: _isolated_aws)."""
    from dashboard.alerts import history

    folder = tmp_path_factory.mktemp("lambda-lens-state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(history, "file_for", lambda settings: folder / history.FILE)
        _spend_ledger_in(mp, folder)
        if os.environ.get(FAST_LANE):  # module-scoped fixtures too: they set up before any test's own fixtures
            _refuse_the_simulator(mp)
        yield


def _refuse_the_simulator(mp: pytest.MonkeyPatch) -> None:
    """The fast lane's honesty: a test (or a fixture) that reads the simulated account lacks its ``aws`` mark."""
    from aws import session

    def refuse(sess, account):
        raise RuntimeError("this test reads the simulated account: mark it @pytest.mark.aws (it is not fast-lane)")

    mp.setattr(session, "_simulator", refuse)


def _spend_ledger_in(mp: pytest.MonkeyPatch, folder) -> None:
    """The app's AWS spend ledger (dashboard.web.ui.spend_ledger, aws/ledger.py) in ``folder``, not the repository's
    .lambda-lens/ (an AppTest of the repo's config.yaml would write it there)."""
    from aws.ledger import SpendLedger
    from dashboard.digest.state import atomic_write
    from dashboard.web import ui

    mp.setattr(ui, "spend_ledger", lambda cfg: SpendLedger(folder / ui.SPEND_FILE, write=atomic_write))


@pytest.fixture(autouse=True)
def _isolated_aws(monkeypatch, tmp_path, tmp_path_factory):
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("LAMBDA_LENS_CONFIG", raising=False)  # the config a test names, never the developer's
    reset_clients()
    if os.environ.get(FAST_LANE):  # keeps the lane honest: a test that reads the simulator here lacks its mark
        _refuse_the_simulator(monkeypatch)
    METER.reset()
    from dashboard.alerts import history

    # the alert history every evaluation records (dashboard/alerts/history.py) goes to the test's folder, never the
    # repository's .lambda-lens/ (nor another test's), nor the test's own tmp_path, which tests list
    state = tmp_path_factory.mktemp("lambda-lens-state")
    monkeypatch.setattr(history, "file_for", lambda settings: state / history.FILE)
    _spend_ledger_in(monkeypatch, state)
    from aws import cache

    cache.clear_all()
    yield
    from aws import refresh

    refresh.stop()  # the app starts the process's refresher (aws/refresh.py): its threads end with the test
    reset_clients()
    cache.clear_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """moto's server on a free loopback port, for the whole session; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_url(moto_server):
    """moto's URL, with its state reset before the test."""
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    return moto_server


@pytest.fixture
def moto_account(moto_url) -> Account:
    """An account pointed at moto's server; one attempt, as moto's 500s are otherwise retried."""
    return Account(name="moto", regions=("us-east-1",), endpoint_url=moto_url, max_attempts=1)
