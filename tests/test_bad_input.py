"""Bad input through the real CLI (``python -m dashboard`` in a subprocess): each case gives its one clear
message on stderr (exact text) and its exit code (2 for bad input), never a traceback, and the line stays
short however long the value was (a refused value is quoted by its first 60 characters and "…").

The cases run two at a time in a module fixture (a subprocess costs about a second of imports);
each case is then its own test with its own node id (``tests/test_bad_input.py::test_bad_input[ID]``).
The same values reach the app through ``?range=``, the custom range box and ``?month=``
(``test_bad_input_in_the_app[ID]``): one st.error sentence, never Streamlit's exception page.
The YAML loader's own cases are unit tests in tests/test_config_input.py.
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
# the demo account at a fixed clock: the sentences that name "now" or this month are exact
NOW = DEMO.replace("{functions: 6}", '{functions: 6, now: "2026-12-08T15:30:00Z"}')
BIG = "9" * 100_000  # a 100 kB value (an argument may be up to 128 kB)
MAX_LINE = 400  # characters of a stderr line, whatever the input


def laughs(levels: int) -> str:
    """A "billion laughs" under default_range: 9 x 9 x ... values through ``levels`` levels of aliases (415 bytes at 8)."""
    rows = ["  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "default_range:\n" + "\n".join(rows) + "\n"


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
    fifo: bool = False  # {cfg} is a named pipe, not a file


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
         "python -m dashboard: argument COMMAND: invalid choice: 'explode' (choose from 'summary', 'overview', 'alerts', 'costs', 'access', 'prices', 'digest', 'schedule', 'demo') "
         "(see --help)"),
    Case("unknown-rule", DEMO, ("alerts", "--config", "{cfg}", "--rule", "nope"), 2,
         "error: no rule named 'nope' in {cfg} (rules: )"),
    Case("digest-without-out", DIGEST, ("digest", "--config", "{cfg}", "--dry-run"), 2,
         "error: --dry-run needs --out DIR, the folder to write the .eml, .html and .json files into"),
    # --- numbers and dates bounded before arithmetic (each was a traceback) ---
    Case("range-days-overflow", DEMO, ("summary", "--config", "{cfg}", "--range", "9999999999d"), 2,
         "error: '9999999999d' is out of bounds; use 1h to 455d"),
    Case("range-5000-digit-hours", DEMO, ("summary", "--config", "{cfg}", "--range", "9" * 5000 + "h"), 2,
         f"error: '{'9' * 60}…' is out of bounds; use 1h to 455d"),
    Case("range-year-1-with-offset", NOW, ("summary", "--config", "{cfg}", "--range", "0001-01-01T00:00+01:00..2026-01-01"), 2,
         "error: '0001-01-01T00:00+01:00..2026-01-01' starts more than 455 days ago, beyond CloudWatch's retention"),
    Case("range-year-9999-with-offset", NOW, ("summary", "--config", "{cfg}", "--range", "2026-12-09..9999-12-31T23:59-01:00"), 2,
         "error: '2026-12-09..9999-12-31T23:59-01:00' is in the future (now is 2026-12-08 15:30 UTC); give a range that starts before now"),
    Case("range-in-the-future", NOW, ("summary", "--config", "{cfg}", "--range", "2030-01-01..2030-01-02"), 2,
         "error: '2030-01-01..2030-01-02' is in the future (now is 2026-12-08 15:30 UTC); give a range that starts before now"),
    Case("month-year-1", NOW, ("costs", "--config", "{cfg}", "--month", "0001-01"), 2,
         "error: --month 0001-01 is too old: the report reads it and the month before, and Cost Explorer keeps 13 months; use 2026-01 to 2026-12"),
    Case("month-year-9999", NOW, ("costs", "--config", "{cfg}", "--month", "9999-12"), 2,
         "error: --month 9999-12 is in the future; use 2026-12 or earlier"),
    Case("month-beyond-cost-explorer", NOW, ("costs", "--config", "{cfg}", "--month", "1900-01"), 2,
         "error: --month 1900-01 is too old: the report reads it and the month before, and Cost Explorer keeps 13 months; use 2026-01 to 2026-12"),
    Case("ttl-401-digits", DEMO + "cache_ttl_s:\n  metrics: 1" + "0" * 400 + "\n", ("demo", "--config", "{cfg}"), 2,
         f"error: {{cfg}}: line 7: the number 1{'0' * 59}… is too large (at most 18 digits)"),
    Case("ttl-beyond-30-days", DEMO + "cache_ttl_s:\n  metrics: 99999999999\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: cache_ttl_s.metrics: 99999999999 is out of bounds; use a value ≤ 2592000"),
    Case("float-infinite", DEMO + "email:\n  monthly_budget_usd: .inf\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: email.monthly_budget_usd: inf is not a finite number"),
    # --- the config file: what it is, how big, how deep ---
    Case("config-path-too-long", None, ("demo", "--config", "a" * 300), 2,
         f"error: {'a' * 60}…: the path is too long (a name over 255 bytes, or 4,096 in all); check it"),
    Case("config-dev-zero", None, ("demo", "--config", "/dev/zero"), 2,
         "error: /dev/zero: is a character device, not a regular file; give the path of a YAML file"),
    Case("config-fifo", None, ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: is a named pipe (FIFO), not a regular file; give the path of a YAML file", fifo=True),
    Case("config-over-1-mb", DEMO + "#" * 1_000_001 + "\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: is 1.0 MB; a config file is at most 1 MB"),
    Case("billion-laughs-8", laughs(8), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 6: the file holds more than 20,000 values once its aliases (*name) are expanded; write out what you need"),
    Case("billion-laughs-9", laughs(9), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 6: the file holds more than 20,000 values once its aliases (*name) are expanded; write out what you need"),
    Case("nested-5000-deep", "accounts: " + "[" * 5000 + "]" * 5000 + "\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 1: lists and mappings nested more than 32 levels deep; flatten them"),
    Case("duplicate-accounts", DEMO + "accounts:\n  - name: other\n    demo: true\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 6: duplicate key 'accounts' (first at line 1); keep one"),
    Case("duplicate-email", DIGEST + "email:\n  sender: lens@example.com\n", ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 10: duplicate key 'email' (first at line 6); keep one"),
    Case("duplicate-deep-key", DEMO.replace("    demo: true\n", "    demo: true\n    demo: false\n"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: line 4: duplicate key 'demo' (first at line 3); keep one"),
    # --- values that were accepted and meant nothing, or something else ---
    Case("simulation-down-typo", DEMO.replace("{functions: 6}", "{functions: 6, down: [cloudwtach]}"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].simulation.down[0]: 'cloudwtach' is not a simulated service; "
         "use one of lambda, cloudwatch, logs, ce, resourcegroupstaggingapi, sts, application-autoscaling, organizations"),
    Case("simulation-throttle-typo", DEMO.replace("{functions: 6}", "{functions: 6, throttle_services: [logs, cost-explorer]}"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].simulation.throttle_services[1]: 'cost-explorer' is not a simulated service; "
         "use one of lambda, cloudwatch, logs, ce, resourcegroupstaggingapi, sts, application-autoscaling, organizations"),
    Case("simulation-deny-typo", DEMO.replace("{functions: 6}", "{functions: 6, deny: ['cloudwtach:GetMetricData']}"), ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].simulation.deny[0]: 'cloudwtach:GetMetricData' names no simulated service; "
         "its part before ':' is one of lambda, cloudwatch, logs, ce, tag, sts, application-autoscaling, organizations"),
    Case("account-name-control-markdown", 'accounts:\n  - name: "de\\x1bmo *x*"\n    demo: true\n', ("demo", "--config", "{cfg}"), 2,
         "error: {cfg}: accounts[0].name: 'de\\x1bmo *x*' is not an account name; use 1 to 64 letters, digits, '.', '_' or '-'"),
    Case("account-name-65", "accounts:\n  - name: " + "a" * 65 + "\n    demo: true\n", ("demo", "--config", "{cfg}"), 2,
         f"error: {{cfg}}: accounts[0].name: '{'a' * 60}…' is not an account name; use 1 to 64 letters, digits, '.', '_' or '-'"),
    Case("unknown-team", DEMO, ("summary", "--config", "{cfg}", "--range", "1h", "--team", "nope"), 2,
         "error: no function belongs to team 'nope' (teams: media, payments, search)"),
    Case("unknown-account", DEMO, ("summary", "--config", "{cfg}", "--account", "nope"), 2,
         "error: no account named 'nope' in {cfg} (accounts: demo)"),
    Case("unknown-region", DEMO, ("overview", "--config", "{cfg}", "--region", "eu-west-3"), 2,
         "error: no region 'eu-west-3' in the accounts of {cfg} (regions: us-east-1)"),
    Case("costs-unknown-team", NOW, ("costs", "--config", "{cfg}", "--team", "nope"), 2,
         "error: no function belongs to team 'nope' (teams: media, payments, search)"),
    Case("team-not-utf8", DEMO, ("summary", "--config", "{cfg}", "--team", b"\xff"), 2,
         "error: the argument after --team is not UTF-8 text (b'\\xff'); give names and paths in UTF-8"),
    # --- 100 kB values are quoted by their first 60 characters ---
    Case("range-100-kb", DEMO, ("summary", "--config", "{cfg}", "--range", BIG), 2,
         f"error: '{BIG[:60]}…' is not a range; use one of 1h, 3h, 12h, 24h, 7d, 30d or START..END"),
    Case("month-100-kb", DEMO, ("costs", "--config", "{cfg}", "--month", BIG), 2,
         f"error: --month '{BIG[:60]}…' is not a month; use YYYY-MM, e.g. 2026-12"),
    Case("rule-100-kb", DEMO, ("alerts", "--config", "{cfg}", "--rule", BIG), 2,
         f"error: no rule named '{BIG[:60]}…' in {{cfg}} (rules: )"),
    Case("format-100-kb", DEMO, ("summary", "--config", "{cfg}", "--format", BIG), 2,
         f"python -m dashboard summary: argument --format: invalid choice: '{BIG[:60]}…' (choose from 'table', 'json', 'csv') (see --help)"),
    Case("config-value-100-kb", DEMO + "default_range: " + BIG + "x\n", ("demo", "--config", "{cfg}"), 2,
         f"error: {{cfg}}: default_range: '{BIG[:60]}…' is not a range preset (one of 1h, 3h, 12h, 24h, 7d, 30d)"),
    # --- digest --out: a folder we can create and write ---
    Case("digest-out-is-a-file", DIGEST, ("digest", "--config", "{cfg}", "--dry-run", "--out", "digest-out-is-a-file.yaml"), 2,
         "error: --out digest-out-is-a-file.yaml is a file, not a folder; give a folder (it is created when missing)"),
    Case("digest-out-proc", DIGEST, ("digest", "--config", "{cfg}", "--dry-run", "--out", "/proc/x"), 2,
         "error: --out /proc/x is under /proc, the kernel's files; give a folder of your own"),
    Case("digest-out-sys", DIGEST, ("digest", "--config", "{cfg}", "--dry-run", "--out", "/sys/x"), 2,
         "error: --out /sys/x is under /sys, the kernel's files; give a folder of your own"),
]


def run_case(case: Case, folder: Path) -> subprocess.CompletedProcess:
    cfg = folder / f"{case.id}.yaml"
    if case.fifo:
        os.mkfifo(cfg)
    elif isinstance(case.config, bytes):
        cfg.write_bytes(case.config)
    elif case.config is not None:
        cfg.write_text(case.config, encoding="utf-8")
    if case.mode is not None:
        cfg.chmod(case.mode)
    argv = [a.replace("{cfg}", str(cfg)) if isinstance(a, str) else a for a in case.argv]  # bytes: not UTF-8
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
@pytest.mark.timeout(1200)  # the first case's setup runs every case's CLI (two at a time): minutes on a loaded machine
def test_bad_input(case: Case, results):
    if case.user and os.geteuid() != 0:
        pytest.skip("needs root to run the CLI as another user (a file mode does not stop its owner)")
    folder, runs = results
    proc = runs[case.id]
    cfg = str(folder / f"{case.id}.yaml")
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert all(len(line) <= MAX_LINE + len(cfg) for line in proc.stderr.splitlines()), proc.stderr[:2000]
    assert proc.stderr.splitlines() == [case.stderr.replace("{cfg}", cfg)]
    assert proc.returncode == case.code
    assert proc.stdout == ""


# --- the same values in the app: ?range=, the custom range box, ?month= ------------------------------------


@dataclass(frozen=True)
class AppCase:
    id: str
    page: str  # under dashboard/pages/
    params: dict  # the URL's query parameters
    error: str  # the one st.error sentence (before markdown escaping)
    custom: str | None = None  # typed into the sidebar's custom range box instead


APP_CASES = [
    AppCase("range-year-1-with-offset", "functions", {"range": "0001-01-01T00:00+01:00..2026-01-01"},
            "'0001-01-01T00:00+01:00..2026-01-01' starts more than 455 days ago, beyond CloudWatch's retention"),
    AppCase("range-year-9999-with-offset", "functions", {"range": "2026-12-09..9999-12-31T23:59-01:00"},
            "'2026-12-09..9999-12-31T23:59-01:00' is in the future (now is 2026-12-08 15:30 UTC); give a range that starts before now"),
    AppCase("range-100-kb", "functions", {"range": BIG + "..2026-12-01"},
            f"'{BIG[:60]}…' is not a date or time (use ISO 8601, e.g. 2026-11-20 or 2026-11-20T08:00Z)"),
    AppCase("custom-range-year-1-with-offset", "functions", {}, "'0001-01-01T00:00+01:00..2026-01-01' starts more than 455 days ago, "
            "beyond CloudWatch's retention", custom="0001-01-01T00:00+01:00..2026-01-01"),
    AppCase("custom-range-in-the-future", "functions", {}, "'2030-01-01..2030-01-02' is in the future (now is 2026-12-08 15:30 UTC); "
            "give a range that starts before now", custom="2030-01-01..2030-01-02"),
    AppCase("month-not-a-month", "costs", {"month": "2026-13"},
            "The address asks for the month '2026-13', which is not a month; use YYYY-MM, e.g. 2026-12."),
    AppCase("month-year-1", "costs", {"month": "0001-01"}, "The address asks for the month 0001-01, which is too old: the report reads "
            "it and the month before, and Cost Explorer keeps 13 months; use 2026-01 to 2026-12."),
    AppCase("month-year-9999", "teams", {"month": "9999-12"},
            "The address asks for the month 9999-12, which is in the future; use 2026-12 or earlier."),
    AppCase("month-100-kb", "teams", {"month": BIG},
            f"The address asks for the month '{BIG[:60]}…', which is not a month; use YYYY-MM, e.g. 2026-12."),
]


@pytest.mark.parametrize("case", APP_CASES, ids=[c.id for c in APP_CASES])
@pytest.mark.aws
def test_bad_input_in_the_app(case: AppCase, app_dir, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dashboard.present.text import escape_markdown
    from tests.apptest import APP, run

    cfg = tmp_path / "config.yaml"
    cfg.write_text(NOW, encoding="utf-8")
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = AppTest.from_file(APP, default_timeout=120)
    for name, value in case.params.items():
        at.query_params[name] = value
    at.switch_page(f"dashboard/pages/{case.page}.py")
    run(at)  # no exception: Streamlit's "This app has encountered an error" never shows
    if case.custom is not None:
        assert not at.error
        at.selectbox(key="f_range").select("custom")
        run(at)
        at.text_input(key="f_custom").input(case.custom)
        run(at)
    assert [e.value for e in at.error] == [escape_markdown(case.error)]


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
@pytest.mark.aws  # the CLI in a process of its own, on a simulated account
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
