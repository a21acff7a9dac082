"""Untrusted text is text: an upstream error message reaches the pages escaped, the CLI and the logs on one line.

A local endpoint answers every call with an AWS-shaped error whose message holds a markdown link and a
CR/LF followed by a forged ``error:`` line, as a hostile proxy or a compromised endpoint could.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.present.text import OneLineWriter, one_line
from tests.apptest import APP, ROOT, run

pytestmark = pytest.mark.aws

HOSTILE = "[Renew credentials here](http://evil.example/login)\r\nerror: forged line"


class _Hostile(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"__type": "ValidationException", "message": HOSTILE}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "r-1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile_config(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    doc["accounts"] = [{"name": "prod", "endpoint_url": f"http://127.0.0.1:{server.server_address[1]}", "regions": ["us-east-1"]}]
    doc["aws"] = {"max_attempts": 1}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    yield path
    server.shutdown()


def test_the_cli_says_each_failure_on_one_line(hostile_config, caplog):
    out, err = io.StringIO(), io.StringIO()
    with caplog.at_level(logging.WARNING):
        code = main(["summary", "--config", str(hostile_config), "--range", "1h"], out=out, err=err)
    assert code == 1
    lines = err.getvalue().splitlines()
    assert lines and all(line.startswith(("error: ", "warning: ")) for line in lines)
    assert not any(line.startswith("error: forged") for line in lines)
    assert all("\r" not in r.getMessage() and "\n" not in r.getMessage() for r in caplog.records)


def test_the_pages_show_the_message_as_text_not_a_link(hostile_config, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(hostile_config))
    for page in (None, "dashboard/pages/functions.py", "dashboard/pages/alerts.py"):
        at = AppTest.from_file(APP, default_timeout=60)
        if page:
            at.switch_page(page)
        run(at)
        shown = [e.value for e in at.error] + [w.value for w in at.warning]
        assert shown, page
        for text in shown:  # markdown source: every bracket and parenthesis escaped, so no link is drawn
            assert "[Renew credentials here](" not in text, (page, text)


def test_one_line_and_the_writer():
    assert one_line("a\r\nerror: b\x1b[2J") == "a\\r\\nerror: b\\x1b[2J"
    buf = io.StringIO()
    OneLineWriter(buf).write("error: x\r\nerror: forged\n")
    assert buf.getvalue() == "error: x\\r\\nerror: forged\n"
