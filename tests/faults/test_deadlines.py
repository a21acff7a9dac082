"""A deadline per part and per load: an endpoint that trickles bytes cannot hold a command or a page.

botocore's read timeout is per socket read, so an endpoint that answers HTTP 200 and then sends one byte
at a time never trips it. The server below does exactly that, on loopback; the account pointed at it must
fail with one sentence within ``aws.deadline_s`` while every other account still answers. (The bound on a
test's own wall time is pytest-timeout's: a regression hangs, it does not pass slowly.)
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.faults.conftest import ROOT, run_cli, run_page, shown, write

pytestmark = pytest.mark.aws


class _Trickle(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(600):  # one byte every 0.2 s: each read is well inside any read timeout
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client gave up

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def trickle_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def config(tmp_path, url: str, *, demo: bool = True):
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    accounts = [{"name": "slow", "endpoint_url": url, "regions": ["us-east-1"]}]
    if demo:
        accounts.insert(0, {"name": "demo", "demo": True, "regions": ["us-east-1"], "simulation": {"functions": 8}})
    doc["accounts"] = accounts
    doc["aws"] = {"max_attempts": 2, "connect_timeout_s": 2, "read_timeout_s": 3, "deadline_s": 3, "refresh_deadline_s": 20}
    return write(tmp_path, yaml.safe_dump(doc))


SLOW_LIST = (
    "The function list (Lambda) in slow/us-east-1 did not finish within 3 s (the endpoint is slow, throttling or "
    "trickling); check the network or the endpoint, or raise aws.deadline_s."
)


@pytest.mark.timeout(90)
def test_a_trickling_endpoint_fails_its_part_in_one_sentence_and_the_other_account_answers(tmp_path, trickle_url):
    path = config(tmp_path, trickle_url)
    code, out, err = run_cli("summary", "--config", str(path), "--range", "1h", "--format", "csv")
    assert code == 1
    assert f"error: {SLOW_LIST}" in err.splitlines()
    rows = [line for line in out.splitlines()[1:] if line]
    assert len(rows) == 8 and all(line.startswith("demo,") for line in rows)  # the demo account's functions, whole


@pytest.mark.timeout(90)
def test_every_command_returns_within_its_deadline(tmp_path, trickle_url):
    path = config(tmp_path, trickle_url, demo=False)
    for argv in (("alerts",), ("costs",), ("overview", "--format", "json")):
        code, _, err = run_cli(*argv, "--config", str(path))
        assert code == 1, argv
        assert "did not finish within" in err, argv


@pytest.mark.timeout(120)
def test_the_page_draws_the_other_account_and_names_the_slow_one(tmp_path, trickle_url, app_env):
    app_env.setenv("LAMBDA_LENS_CONFIG", str(config(tmp_path, trickle_url)))
    at = run_page("functions")
    table = next(d.value for d in at.dataframe if "invocations" in d.value.columns)
    assert set(table["account"]) == {"demo"} and len(table) == 8
    assert any("slow/us-east-1 did not finish within" in s for s in shown(at))


@pytest.mark.aws
@pytest.mark.timeout(150)
def test_an_account_whose_endpoint_trickles_leaves_the_overview_of_the_other_account_drawn(tmp_path, trickle_url, app_env):
    app_env.setenv("LAMBDA_LENS_CONFIG", str(config(tmp_path, trickle_url)))
    at = run_page("overview")
    table = next(d.value for d in at.dataframe if "trend" in d.value.columns)  # the function table (not the alerts')
    assert set(table["account"]) == {"demo"} and len(table) == 8 and table["invocations"].notna().all()
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Invocations"] == f"{table['invocations'].sum():,.0f}"
    assert any("slow/us-east-1 did not finish within 3 s" in s for s in shown(at))
