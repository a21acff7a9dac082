"""Security in a real browser against `streamlit run app.py` started as the README starts it (no address
flag): it listens on 127.0.0.1 only; hostile tag values put no element in the DOM on any page and run no
script; the planted AWS and SMTP secrets never appear in the server's DEBUG log."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import streamlit_server
from tests.browser.test_pages import wait_for_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AWS_SECRET = "PLANTED/aws+Secret/browser0123456789abcdefghijkl"
SMTP_SECRET = "PLANTED-smtp-browser-pa55"
HOSTILE = {
    "team": "<script id=\"pwned\">window.__pwned=1</script><img id=\"pwned-img\" src=x onerror=\"window.__pwned=2\"> **b** \"q\" 'q'",
}


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, moto_server):
    folder = tmp_path_factory.mktemp("hostile")
    cfg = folder / "config.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n"
        f"    simulation: {{functions: 4, extra_tags: {json.dumps(HOSTILE)}}}\n"
        f"  - name: dev\n    regions: [us-east-1]\n    endpoint_url: {moto_server}\n"
        "aws:\n  max_attempts: 1\nallocation:\n  tag_keys: [team]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAPLANTEDBROWSER01",
        AWS_SECRET_ACCESS_KEY=AWS_SECRET,
        LAMBDA_LENS_SMTP_PASSWORD=SMTP_SECRET,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(folder / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(folder / "none"),
        LAMBDA_LENS_CONFIG=str(cfg),
    )
    # as the README runs it (`streamlit run app.py`): the address comes from .streamlit/config.toml
    with streamlit_server(folder, env=env, args=("--logger.level", "debug"), address=None) as server:
        yield {"url": server.url, "port": server.port, "log": server.log, "proc": server.proc}


def test_the_server_listens_on_loopback_only(hostile_server):
    port = hostile_server["port"]
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    local = sorted({line.split()[3] for line in out.splitlines() if line.strip()})
    assert local == [f"127.0.0.1:{port}"], out


PAGES = ["/", "/functions", "/alerts", "/functions?fn=demo/us-east-1/{fn}", "/costs", "/teams"]


@pytest.mark.parametrize("path", PAGES)
def test_hostile_tags_inject_nothing_into_the_dom(path, hostile_server, page):
    from aws import sim
    from aws.session import Account, SimSpec

    fn = sorted(sim.model_for(Account(name="demo", demo=True, sim=SimSpec(functions=4, extra_tags=tuple(HOSTILE.items())))).functions["function"])[0]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_server["url"] + path.format(fn=fn))
    wait_for_app(page)
    page.locator('[data-testid="stMainBlockContainer"] h1').first.wait_for(timeout=60_000)
    if "fn=" in path:
        page.get_by_text('<script id="pwned">', exact=False).first.wait_for(timeout=60_000)  # shown, as text
    else:
        page.wait_for_timeout(1500)  # tables and captions settle
    assert page.locator("script#pwned").count() == 0
    assert page.locator("#pwned-img").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")
    assert dialogs == []


def test_planted_secrets_are_not_in_the_debug_log(hostile_server, page):
    page.goto(hostile_server["url"] + "/functions")  # the real account's clients sign with the planted keys
    wait_for_app(page)
    proc = hostile_server["proc"]
    proc.terminate()
    proc.wait(10)
    text = hostile_server["log"].read_text(errors="replace")
    assert len(text.splitlines()) > 20  # debug logging was on (at info level the server says about 5 lines)
    assert AWS_SECRET not in text and SMTP_SECRET not in text
