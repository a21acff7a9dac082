"""Real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against `streamlit run app.py`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot_dir() -> Path:
    d = Path(os.environ.get("LAMBDA_LENS_ARTIFACTS", ROOT / "artifacts")) / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    log: Path
    proc: subprocess.Popen


def server_env() -> dict[str, str]:
    """The environment of a test server: this one with dummy AWS credentials and no profile or IMDS."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")
    env.pop("AWS_PROFILE", None)
    return env


@contextlib.contextmanager
def streamlit_server(
    logdir: Path,
    *,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    port: int | None = None,
    address: str | None = "127.0.0.1",
) -> Iterator[Server]:
    """`streamlit run app.py` on a loopback port (free by default) with ``env`` (default :func:`server_env`);
    ``address`` None leaves the address to .streamlit/config.toml, as the README runs it."""
    port = port or free_port()
    log_path = logdir / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    where = ("--server.address", address) if address else ()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), *where, "--server.headless", "true",
         "--browser.gatherUsageStats", "false", *args],
        cwd=ROOT,
        env=server_env() if env is None else env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not start within 60 s")
        yield Server(url, port, log_path, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """`streamlit run app.py` on the demo config, on a free loopback port; its state folder (the alert history, the
    AWS spend ledger) in the test's folder, not the repository's .lambda-lens/."""
    import yaml

    folder = tmp_path_factory.mktemp("streamlit")
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    doc.setdefault("email", {})["state_path"] = str(folder / "state" / "digest-state.json")
    (folder / "config.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with streamlit_server(folder, env={**server_env(), "LAMBDA_LENS_CONFIG": str(folder / "config.yaml")}) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def open_page(browser):
    """``open_page(viewport, scheme)``: a page in a context of its own at that size and colour scheme, closed after the test."""
    contexts = []

    def make(viewport: dict, scheme: str = "light"):
        ctx = browser.new_context(viewport=viewport, color_scheme=scheme)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = ctx.new_page()
    yield p
    ctx.close()
