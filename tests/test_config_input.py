"""The bounds on what a person or a file gives, as units (no simulated account: the fast lane): config.yaml's
YAML loader (duplicate keys at any depth, aliases, nesting, numbers), the quoting of refused values, and ranges,
months and filters bounded before any arithmetic. The CLI and the app are tried with the same values in
tests/test_bad_input.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml

from dashboard.config.echo import cut, echo
from dashboard.config.loader import MAX_DEPTH, MAX_NODES, YamlRefused, load_yaml

# --- the loader: what yaml.safe_load reads, less what it would silently lose or blow up ----------------------

SAME_AS_SAFE_LOAD = {
    "flow and block": "accounts:\n  - name: demo\n    regions: [us-east-1, eu-west-1]\n    simulation: {functions: 6}\n",
    "anchors and aliases": "r: &ops [ops@example.com]\nemail:\n  digests:\n    - {name: a, recipients: *ops}\n    - {name: b, recipients: *ops}\n",
    "merge keys": "base: &b {threshold: 1, severity: warning}\nrule:\n  <<: *b\n  threshold: 5\n",
    "the same key in sibling mappings": "a: {x: 1}\nb: {x: 1}\nc: [{x: 1}, {x: 2}]\n",
    "scalars": "i: 42\nneg: -7\nhex: 0x1f\nf: 1.5\nb: true\nn: null\nd: 2026-12-08\nt: 2026-12-08T15:30:00Z\ns: '0123'\n",
    "empty": "",
}


@pytest.mark.parametrize("text", SAME_AS_SAFE_LOAD.values(), ids=SAME_AS_SAFE_LOAD.keys())
def test_what_safe_load_reads_reads_the_same(text):
    assert load_yaml(text) == yaml.safe_load(text)


def test_the_example_config_reads_the_same():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "config.yaml").read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


REFUSED = {
    "top-level key twice": ("accounts:\n  - name: a\naccounts:\n  - name: b\n", "line 3: duplicate key 'accounts' (first at line 1); keep one"),
    "key twice at depth": ("x:\n  y:\n    - {p: 1}\n    - p: 1\n      q: 2\n      p: 3\n", "line 6: duplicate key 'p' (first at line 4); keep one"),
    "key twice on one line": ("simulation: {down: [ce], down: [logs]}\n", "line 1: duplicate key 'down' (first at line 1); keep one"),
    "quoted and plain key": ("default_range: 24h\n'default_range': 7d\n", "line 2: duplicate key 'default_range' (first at line 1); keep one"),
    "merge key twice": ("a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n", None),  # each << merges: allowed, as PyYAML
    "nesting as written": ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
                           f"line 1: lists and mappings nested more than {MAX_DEPTH} levels deep; flatten them"),
    "nesting as written, at the bound": ("a: " + "[" * (MAX_DEPTH - 1) + "x" + "]" * (MAX_DEPTH - 1) + "\n", None),
    # a{i} holds i + 1 lists inside each other: a{MAX_DEPTH} (line MAX_DEPTH + 1) is one too many
    "nesting through aliases": ("a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, MAX_DEPTH + 2)),
                                f"line {MAX_DEPTH + 1}: lists and mappings nested more than {MAX_DEPTH} levels deep; flatten them"),
    "billion laughs": ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                       + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
                       f"line 5: the file holds more than {MAX_NODES:,} values once its aliases (*name) are expanded; write out what you need"),
    "too many values": ("a: [" + "1, " * MAX_NODES + "1]\n", f"line 1: the file holds more than {MAX_NODES:,} values; a config needs far fewer"),
    "a 401-digit integer": ("metrics: 1" + "0" * 400 + "\n", f"line 1: the number 1{'0' * 59}… is too large (at most 18 digits)"),
    "a 5,000-digit integer": ("metrics: " + "9" * 5000 + "\n", f"line 1: the number {'9' * 60}… is too large (at most 18 digits)"),
    "a large hexadecimal": ("metrics: 0x" + "f" * 17 + "\n", "line 1: the number 0xfffffffffffffffff is too large (at most 18 digits)"),
    "a large base-60 integer": ("metrics: " + ":".join(["59"] * 12) + "\n", f"line 1: the number {':'.join(['59'] * 12)} is too large (at most 18 digits)"),
    "a date that is none": ("now: 2026-02-30\n", "line 1: '2026-02-30' cannot be read (day is out of range for month); fix the value"),
}


@pytest.mark.parametrize(("text", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_with_its_line(text, message):
    if message is None:
        assert load_yaml(text) == yaml.safe_load(text)
        return
    with pytest.raises(YamlRefused) as info:
        load_yaml(text)
    assert str(info.value) == message
    assert isinstance(info.value, yaml.YAMLError)  # a caller catching YAML's errors catches these too


def test_the_largest_integer_is_read():
    assert load_yaml("a: 999999999999999999\nb: -999999999999999999\n") == {"a": 10**18 - 1, "b": -(10**18) + 1}


def test_yaml_errors_are_still_yaml_errors():
    with pytest.raises(yaml.YAMLError) as info:
        load_yaml("a: *nope\n")
    assert not isinstance(info.value, YamlRefused) and "undefined alias" in str(info.value)


# --- quoting a refused value -------------------------------------------------------------------------------


def test_echo_quotes_at_most_60_characters():
    assert echo("2w") == "'2w'"
    assert echo("a\r\nb") == "'a\\r\\nb'"  # control characters escaped, as repr
    assert echo("x" * 100_000) == "'" + "x" * 60 + "…'"
    assert echo(10**400) == cut(repr(10**400)[:28] + "..." + repr(10**400)[-29:])  # reprlib's middle cut
    assert len(echo([["lol"] * 9] * 9)) <= 61  # a list is never walked whole
    assert echo(float("inf")) == "inf" and echo(None) == "None"


def test_echo_of_an_int_beyond_str_limit():
    import sys

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        big = int("9" * 5000)
    finally:
        sys.set_int_max_str_digits(limit)
    assert echo(big) == "a number of more than 4,300 digits"


# --- ranges and months: bounded before arithmetic ----------------------------------------------------------

NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)

RANGES = {
    "9999999999d": "'9999999999d' is out of bounds; use 1h to 455d",
    "9" * 5000 + "h": f"'{'9' * 60}…' is out of bounds; use 1h to 455d",
    "10921h": "'10921h' is out of bounds; use 1h to 455d",
    "0h": "'0h' is out of bounds; use 1h to 455d",
    "0001-01-01T00:00+01:00..2026-01-01": "'0001-01-01T00:00+01:00..2026-01-01' starts more than 455 days ago, beyond CloudWatch's retention",
    "2026-12-09..9999-12-31T23:59-01:00": "'2026-12-09..9999-12-31T23:59-01:00' is in the future (now is 2026-12-08 15:30 UTC); "
    "give a range that starts before now",
    "2030-01-01..2030-01-02": "'2030-01-01..2030-01-02' is in the future (now is 2026-12-08 15:30 UTC); give a range that starts before now",
    "2026-11-21..2026-11-20": "'2026-11-21..2026-11-20' ends before it starts; put the earlier time first",
}


@pytest.mark.parametrize(("text", "message"), RANGES.items(), ids=[t[:40] for t in RANGES])
def test_ranges_out_of_bounds(text, message):
    from dashboard.query.timerange import RangeError, parse_range

    with pytest.raises(RangeError) as info:
        parse_range(text, now=NOW)
    assert str(info.value) == message


def test_ranges_at_the_bounds():
    from dashboard.query.timerange import parse_range

    assert parse_range("10920h", now=NOW).duration == parse_range("455d", now=NOW).duration
    assert parse_range("0000001h", now=NOW).duration.total_seconds() == 3600
    r = parse_range("2026-12-01..9999-12-31T23:59-01:00", now=NOW)  # an end after now is now
    assert (r.start, r.end) == (datetime(2026, 12, 1, tzinfo=UTC), NOW)


MONTHS = {
    "0001-01": "--month 0001-01 is too old: the report reads it and the month before, and Cost Explorer keeps 13 months; use 2026-01 to 2026-12",
    "2025-12": "--month 2025-12 is too old: the report reads it and the month before, and Cost Explorer keeps 13 months; use 2026-01 to 2026-12",
    "9999-12": "--month 9999-12 is in the future; use 2026-12 or earlier",
    "2026-13": "--month '2026-13' is not a month; use YYYY-MM, e.g. 2026-12",
    "2026-1": "--month '2026-1' is not a month; use YYYY-MM, e.g. 2026-12",
}


@pytest.mark.parametrize(("month", "message"), MONTHS.items(), ids=MONTHS.keys())
def test_months_out_of_bounds(month, message):
    from dashboard.figures.cost_report import MonthError, month_bounds
    from dashboard.query.timerange import RangeError

    with pytest.raises(MonthError) as info:
        month_bounds(month, today=NOW.date())
    assert str(info.value) == message and isinstance(info.value, RangeError)  # the CLI's bad-input catch


def test_months_at_the_bounds():
    from dashboard.figures.cost_report import month_bounds

    assert month_bounds("2026-01", today=NOW.date()) == (date(2026, 1, 1), date(2026, 2, 1), date(2026, 2, 1))
    assert month_bounds("2026-12", today=NOW.date()) == (date(2026, 12, 1), date(2026, 12, 8), date(2027, 1, 1))
    assert month_bounds("2025-02", today=date(2026, 1, 1))[0] == date(2025, 2, 1)  # across a year


# --- filters: what the config has ---------------------------------------------------------------------------


def test_filters_name_what_the_config_has(tmp_path):
    from dashboard.config import settings
    from dashboard.query.selection import SelectionError, check_names, check_teams

    p = tmp_path / "config.yaml"
    p.write_text("accounts:\n  - {name: prod, profile: p, regions: [us-east-1]}\n  - {name: dev, profile: d, regions: [eu-west-1]}\n")
    cfg = settings.load(p)
    check_names(cfg, accounts=["prod"], regions=["us-east-1"])
    cases = [
        (dict(accounts=["nope"]), f"no account named 'nope' in {p} (accounts: prod, dev)"),
        (dict(regions=["ap-south-1"]), f"no region 'ap-south-1' in the accounts of {p} (regions: eu-west-1, us-east-1)"),
        (dict(accounts=["prod"], regions=["eu-west-1"]), "no region 'eu-west-1' in account prod (regions: us-east-1)"),
        (dict(accounts=["x" * 1000]), f"no account named '{'x' * 60}…' in {p} (accounts: prod, dev)"),
    ]
    for kw, message in cases:
        with pytest.raises(SelectionError) as info:
            check_names(cfg, **kw)
        assert str(info.value) == message
    check_teams(["payments"], ["payments", "search", None])
    with pytest.raises(SelectionError, match=r"^no function belongs to team 'nope' \(teams: payments, search\)$"):
        check_teams(["nope"], ["search", "payments"])


def test_the_simulated_services_are_those_the_simulator_answers():
    from aws.session import SIM_SERVICES
    from aws.sim.registry import HANDLERS
    from aws.sim.router import _load_services

    _load_services()
    assert {service for service, _ in HANDLERS} == set(SIM_SERVICES)
