"""Bad input through the real CLI (``python -m dashboard`` in a subprocess): each case gives its one clear
message on stderr (exact text) and its exit code (2 for bad input), never a traceback.

The cases run two at a time in a module fixture (a subprocess costs about a second of imports);
each case is then its own test with its own node id (``tests/test_bad_input.py::test_bad_input[ID]``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n    simulation: {functions: 6}\n"
DIGEST = DEMO + "email:\n  digests:\n    - name: org\n      recipients: [ops@example.com]\n"


@dataclass(frozen=True)
class Case:
    id: str
    config: str | bytes | None  # written to {cfg}; None: no file
    argv: tuple[str, ...]
    code: int
    stderr: str  # exact; {cfg} is the config's path
    user: str | None = None  # run as this user (the permission case)
    mode: int | None = None  # chmod of the config file
    env: dict = field(default_factory=dict)


def digest(**fields) -> str:
    """A config with one digest whose fields are replaced (flow-style YAML through JSON)."""
    d = {"name": "org", "recipients": ["ops@example.com"], **fields}
    return DEMO + "email:\n  digests:\n    - " + json.dumps(d) + "\n"


CASES = [
    Case("malformed-yaml", "accounts:\n  - name: demo\n    demo: true\n   regions: [us-east-1\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 4, column 4: invalid YAML (expected <block end>, but found '<block mapping start>'); fix the syntax there"),
    Case("unclosed-flow-list", "accounts: [{name: demo, demo: true}\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 2, column 1: invalid YAML (expected ',' or ']', but got '<stream end>'); fix the syntax there"),
    Case("top-level-list", "- accounts\n- demo\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: the top level must be a mapping of keys (accounts:, alerts:, ...), not list"),
    Case("wrong-type-int", DEMO + "aws:\n  max_attempts: many\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: aws.max_attempts: 'many' is not a whole number"),
    Case("wrong-type-bool", "accounts:\n  - name: demo\n    demo: maybe\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].demo: 'maybe' is not true or false"),
    Case("wrong-type-list", "accounts:\n  - name: demo\n    demo: true\n    regions: us-east-1\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].regions: expected a list (- item lines), got 'us-east-1'"),
    Case("out-of-bounds", DEMO + "aws:\n  max_attempts: 0\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: aws.max_attempts: 0 is out of bounds; use a value ≥ 1"),
    Case("unknown-key", DEMO + "defualt_range: 24h\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: defualt_range: unknown key 'defualt_range'; remove it or check its spelling (see the comments in config.yaml)"),
    Case("secret-in-config", DEMO + "email:\n  smtp:\n    password: hunter2\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.smtp.password: secrets never go in config.yaml; set password_env to the name of an environment variable instead"),
    Case("bad-region", "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, mars-north-1]\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].regions[1]: 'mars-north-1' is not an AWS region (e.g. us-east-1, eu-west-1)"),
    Case("duplicate-region", "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, us-east-1]\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].regions: lists a region twice; list each once"),
    Case("bad-cron-field", digest(schedule="61 8 * * *"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.digests[0].schedule: '61 8 * * *' is not a cron expression ([61 8 * * *] is not acceptable, out of range); "
         "e.g. '0 8 * * 1-5' is 08:00 on weekdays"),
    Case("bad-cron-words", digest(schedule="every morning"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.digests[0].schedule: 'every morning' is not a cron expression; use five fields (minute hour "
         "day-of-month month day-of-week, e.g. '0 8 * * 1-5') or @daily / @weekly / @hourly"),
    Case("bad-timezone", digest(timezone="Mars/Olympus"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.digests[0].timezone: 'Mars/Olympus' is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"),
    Case("bad-email", digest(recipients=["ops@example.com", "not-an-address"]), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.digests[0].recipients[1]: 'not-an-address' is not an e-mail address (name@example.com)"),
    Case("email-header-injection", digest(recipients=["ops@example.com\r\nBcc: thief@example.net"]), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.digests[0].recipients[0]: 'ops@example.com\\r\\nBcc: thief@example.net' is not an e-mail address (name@example.com)"),
    Case("sender-name-crlf", DEMO + 'email:\n  sender_name: "Lens\\r\\nBcc: thief@example.net"\n', ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.sender_name: must not contain control characters (line breaks, tabs)"),
    Case("bad-sender", DEMO + "email:\n  sender: lens@localhost\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.sender: 'lens@localhost' is not an e-mail address (name@example.com)"),
    Case("endpoint-not-a-url", "accounts:\n  - name: dev\n    endpoint_url: file:///etc/passwd\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].endpoint_url: 'file:///etc/passwd' is not a URL (e.g. http://localhost:4566)"),
    Case("oidc-secret-in-config", DEMO + "access:\n  sign_in: true\n  client_secret: hunter2\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: access.client_secret: the sign-in provider's settings and secrets go in .streamlit/secrets.toml under [auth], never in config.yaml"),
    Case("access-team-list-empty", DEMO + "access:\n  teams:\n    alice@example.com: []\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: access.teams.alice@example.com: lists no team; name at least one (or \"*\" for every team)"),
    Case("access-bad-provider", DEMO + "access:\n  provider: \"okta prod\"\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: access.provider: 'okta prod' is not a provider name (letters, digits, '_' or '-'; it names [auth.okta prod] in secrets.toml)"),
    Case("missing-file", None, ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: no such file; check the path, or omit --config for the demo account"),
    Case("not-utf8", b"accounts:\n  - name: d\xe9mo\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: is not UTF-8 text; save it as UTF-8"),
    Case("unreadable-file", DEMO, ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: cannot be read (permission denied); make it readable by this user", user="nobody", mode=0o000),
    Case("range-ends-before-start", DEMO, ("summary", "--config", "{cfg}", "--range", "2026-11-21..2026-11-20"), 2,
         "error: '2026-11-21..2026-11-20' ends before it starts; put the earlier time first"),
    Case("range-beyond-retention", DEMO, ("summary", "--config", "{cfg}", "--range", "2020-01-01..2020-01-02"), 2,
         "error: '2020-01-01..2020-01-02' starts more than 455 days ago, beyond CloudWatch's retention"),
    Case("range-not-a-date", DEMO, ("summary", "--config", "{cfg}", "--range", "yesterday..today"), 2,
         "error: 'yesterday' is not a date or time (use ISO 8601, e.g. 2026-11-20 or 2026-11-20T08:00Z)"),
    Case("range-unknown-preset", DEMO, ("alerts", "--config", "{cfg}", "--range", "2w"), 2,
         "error: '2w' is not a range; use one of 1h, 3h, 12h, 24h, 7d, 30d or START..END"),
    Case("bad-format", DEMO, ("summary", "--config", "{cfg}", "--format", "xml"), 2,
         "python -m dashboard summary: argument --format: invalid choice: 'xml' (choose from 'table', 'json', 'csv') (see --help)"),
    Case("unknown-command", DEMO, ("explode",), 2,
         "python -m dashboard: argument COMMAND: invalid choice: 'explode' (choose from 'summary', 'overview', 'alerts', 'costs', 'access', 'digest', 'schedule', 'demo') "
         "(see --help)"),
    Case("unknown-rule", DEMO, ("alerts", "--config", "{cfg}", "--rule", "nope"), 2,
         "error: no rule named 'nope' in {cfg} (rules: )"),
    Case("digest-without-out", DIGEST, ("digest", "--config", "{cfg}", "--dry-run"), 2,
         "error: --dry-run needs --out DIR, the folder to write the .eml, .html and .json files into"),
]


def run_case(case: Case, folder: Path) -> subprocess.CompletedProcess:
    cfg = folder / f"{case.id}.yaml"
    if isinstance(case.config, bytes):
        cfg.write_bytes(case.config)
    elif case.config is not None:
        cfg.write_text(case.config, encoding="utf-8")
    if case.mode is not None:
        cfg.chmod(case.mode)
    argv = [a.replace("{cfg}", str(cfg)) for a in case.argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", **case.env}
    cmd = [sys.executable, "-m", "dashboard", *argv]
    if case.user:
        # the interpreter lives under /root: import as root, then drop the effective uid before the CLI runs
        cmd = [sys.executable, "-c", AS_USER.format(user=case.user), *argv]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


AS_USER = (
    "import os, pwd, sys; import dashboard.cli as cli; u = pwd.getpwnam({user!r}); "
    "os.setegid(u.pw_gid); os.seteuid(u.pw_uid); sys.exit(cli.main(sys.argv[1:]))"
)


@pytest.fixture(scope="module")
def results():
    folder = Path(tempfile.mkdtemp(prefix="lens-bad-input-"))
    folder.chmod(0o755)  # the "nobody" case must reach its (unreadable) file
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = dict(zip([c.id for c in CASES], pool.map(lambda c: run_case(c, folder), CASES), strict=True))
        yield folder, runs
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.aws
def test_bad_input(case: Case, results):
    if case.user and os.geteuid() != 0:
        pytest.skip("needs root to run the CLI as another user (a file mode does not stop its owner)")
    folder, runs = results
    proc = runs[case.id]
    cfg = str(folder / f"{case.id}.yaml")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines() == [case.stderr.replace("{cfg}", cfg)]
    assert proc.returncode == case.code
    assert proc.stdout == ""


# --- hostile tag values: exit 0, and every output format carries them intact and inert ------------------

HOSTILE = {
    "team": "<script id=\"pwned\">alert('x')</script> \"q\" 'q'\r\nInjected: line",
    "cost-center": "=HYPERLINK(\"http://evil.example\")",
}


def hostile_config(folder: Path) -> Path:
    p = folder / "hostile.yaml"
    p.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n"
        f"    simulation: {{functions: 3, extra_tags: {json.dumps(HOSTILE)}}}\n"
        "allocation:\n  tag_keys: [team]\n",
        encoding="utf-8",
    )
    return p


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_tag_values_with_html_quotes_and_crlf(fmt, tmp_path):
    cfg = hostile_config(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "summary", "--config", str(cfg), "--range", "1h", "--format", fmt],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=120,
    )  # fmt: skip  (bytes: text mode would turn the value's CR/LF into LF)
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    if fmt == "json":
        rows = json.loads(out)
        assert len(rows) == 3 and {r["team"] for r in rows} == {HOSTILE["team"]}  # intact, JSON-escaped
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out, newline="")))
        assert len(rows) == 3 and {r["team"] for r in rows} == {HOSTILE["team"]}  # intact, quoted
    else:
        lines = out.splitlines()
        assert len(lines) == 4  # a header and three rows: the CR/LF does not forge a row
        shown = "<script id=\"pwned\">alert('x')</script> \"q\" 'q'\\r\\nInjected: line"
        assert all(shown in line for line in lines[1:]), lines
