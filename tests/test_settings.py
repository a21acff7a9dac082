"""config.yaml validation: each bad file gives its one line naming the file, the key path and the fix."""

from __future__ import annotations

import os
import textwrap

import pytest

from dashboard.config import settings
from dashboard.config.settings import ConfigError


def write(tmp_path, text: str):
    p = tmp_path / "config.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


BAD = [
    (
        "accounts:\n  - name: prod\n    regions: [us-east-1, us-east-9]\n",
        "config.yaml: accounts[0].regions[1]: 'us-east-9' is not an AWS region (e.g. us-east-1, eu-west-1)",
    ),
    ("accounts:\n  - name: prod\n    regoins: [us-east-1]\n", "config.yaml: accounts[0].regoins: unknown key 'regoins'; remove it or check its spelling (see the comments in config.yaml)"),
    ("colour: blue\n", "config.yaml: colour: unknown key 'colour'; remove it or check its spelling (see the comments in config.yaml)"),
    ("cache_ttl_s:\n  metrics: soon\n", "config.yaml: cache_ttl_s.metrics: 'soon' is not a whole number"),
    ("cache_ttl_s:\n  costs: 60\n", "config.yaml: cache_ttl_s.costs: 60 is out of bounds; use a value ≥ 3600"),
    ("accounts:\n  - regions: [us-east-1]\n", "config.yaml: accounts[0].name: is required; add it"),
    (
        "accounts:\n  - name: x\n    role_arn: arn:aws:iam::12:role/x\n",
        "config.yaml: accounts[0].role_arn: 'arn:aws:iam::12:role/x' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
    ),
    (
        "accounts:\n  - name: x\n    external_id: abc\n",
        "config.yaml: accounts[0]: external_id needs role_arn; add the role to assume",
    ),
    ("default_range: 2w\n", "config.yaml: default_range: '2w' is not a range preset (one of 1h, 3h, 12h, 24h, 7d, 30d)"),
    (
        "email:\n  digests:\n    - name: org\n      recipients: [ops@example.com, 'not-an-address']\n",
        "config.yaml: email.digests[0].recipients[1]: 'not-an-address' is not an e-mail address (name@example.com)",
    ),
    (
        "email:\n  smtp:\n    password: hunter2\n",
        "config.yaml: email.smtp.password: secrets never go in config.yaml; set password_env to the name of an environment variable instead",
    ),
    (
        "alerts:\n  rules:\n    - {name: e, metric: error_rate, threshold: 5, evaluation_periods: 2, datapoints_to_alarm: 3}\n",
        "config.yaml: alerts.rules[0]: datapoints_to_alarm (3) exceeds evaluation_periods (2); M must be ≤ N",
    ),
    (
        "alerts:\n  rules:\n    - {name: e, metric: error_ratio, threshold: 5}\n",
        "config.yaml: alerts.rules[0].metric: 'error_ratio' is not allowed; use one of",
    ),
    (
        "alerts:\n  rules:\n    - {name: e, metric: error_rate, threshold: 5, evaluation_periods: 3, datapoints_to_alarm: 2}\n"
        "  function_overrides:\n    api: {e: {evaluation_periods: 1}}\n",
        "config.yaml: alerts: function_overrides.api.e: datapoints_to_alarm (2) exceeds evaluation_periods (1); M must be ≤ N",
    ),
    ("- just\n- a list\n", "config.yaml: the top level must be a mapping of keys (accounts:, alerts:, ...), not list"),
    ("accounts: []\n", "config.yaml: accounts: must not be empty"),
    (
        "accounts:\n  - {name: a, demo: true}\n  - {name: a, demo: true}\n",
        "config.yaml: accounts[1]: account name 'a' is used twice; give each account its own name",
    ),
    (
        "email:\n  digests:\n    - {name: org, recipients: [a@example.com], schedule: '61 * * * *'}\n",
        "config.yaml: email.digests[0].schedule: '61 * * * *' is not a cron expression (",
    ),
    (
        "email:\n  digests:\n    - {name: org, recipients: [a@example.com], schedule: '0 8 * *'}\n",
        "config.yaml: email.digests[0].schedule: '0 8 * *' is not a cron expression; use five fields (minute hour day-of-month month day-of-week, e.g. '0 8 * * 1-5') or @daily / @weekly / @hourly",
    ),
    (
        "email:\n  digests:\n    - {name: org, recipients: [a@example.com], timezone: Europe/Berln}\n",
        "config.yaml: email.digests[0].timezone: 'Europe/Berln' is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)",
    ),
    (
        "email:\n  digests:\n    - {name: org, recipients: [a@example.com], range: 2d}\n",
        "config.yaml: email.digests[0].range: '2d' is not a range preset (one of 1h, 3h, 12h, 24h, 7d, 30d)",
    ),
    (
        "email:\n  digests:\n    - {name: org, recipients: [a@example.com]}\n    - {name: org, recipients: [b@example.com]}\n",
        "config.yaml: email.digests[1]: digest name 'org' is used twice; give each digest its own name",
    ),
    (
        "email:\n  digests:\n    - {name: 'org/../x', recipients: [a@example.com]}\n",
        "config.yaml: email.digests[0].name: 'org/../x' is not a digest name; use letters, digits, '.', '_' or '-' (it names files)",
    ),
    (
        "email:\n  smtp:\n    username: digest\n",
        "config.yaml: email.smtp: username needs password_env, the name of the environment variable holding the password",
    ),
    (
        "email:\n  smtp:\n    security: none\n    username: digest\n    password_env: PW\n",
        "config.yaml: email.smtp: authentication over an unencrypted connection would send the password in clear; use security: starttls or tls",
    ),
    (
        "email:\n  sender_name: \"Lens\\r\\nBcc: x@example.com\"\n",
        "config.yaml: email.sender_name: must not contain control characters (line breaks, tabs)",
    ),
    (
        "email:\n  sender: \"ops@example.com\\r\\nBcc: x@example.com\"\n",
        "config.yaml: email.sender:",
    ),
    (
        "email:\n  digests:\n    - {name: org, recipients: [\"a@example.com\\r\\nBcc: x@example.com\"]}\n",
        "config.yaml: email.digests[0].recipients[0]:",
    ),    ("pricing:\n  us-east-1:\n    gb_second: cheap\n", "config.yaml: pricing.us-east-1.gb_second: 'cheap' is not a number (USD per unit)"),
    ("pricing:\n  eu-west-1:\n    request: -1\n", "config.yaml: pricing.eu-west-1.request: -1 must be a finite number ≥ 0"),
    ("pricing:\n  us-east-9:\n    request: 0.0000002\n", "config.yaml: pricing.us-east-9: 'us-east-9' is not an AWS region (e.g. us-east-1, eu-west-1)"),
    (
        "pricing:\n  us-east-1:\n    gb_secnd: 0.00001\n",
        "config.yaml: pricing.us-east-1.gb_secnd: unknown price field; use one of request, gb_second, gb_second_arm, ephemeral_gb_second, "
        "provisioned_concurrency_gb_second, provisioned_concurrency_gb_second_arm, provisioned_duration_gb_second, "
        "provisioned_duration_gb_second_arm, snapstart_cache_gb_second, snapstart_restore_gb, streaming_gb, "
        "durable_operation, durable_written_gb, durable_retained_gb_month, gb_second_tiers, gb_second_arm_tiers",
    ),
    ("pricing:\n  us-east-1:\n    gb_second_tiers: [[6000000000, 0.000015], [100, 0.00001]]\n", "config.yaml: pricing.us-east-1.gb_second_tiers: tier starts must be > 0 and increasing, got [6000000000.0, 100.0]"),
    ("pricing:\n  us-east-1: 0.2\n", "config.yaml: pricing.us-east-1: expected a mapping (key: value lines), got 0.2"),
    (
        "accounts:\n  - {name: a, demo: true, organization: 'acme corp'}\n",
        "config.yaml: accounts[0].organization: 'acme corp' is not an organisation name; use 1 to 64 letters, digits, "
        "'.', '_' or '-' (the same name on every account that shares the consolidated bill), or leave it out",
    ),
    (
        "accounts:\n  - {name: a, demo: true, organization: [acme]}\n",
        "config.yaml: accounts[0].organization: ['acme'] is not an organisation name;",
    ),
]


@pytest.mark.parametrize("text,expected", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_config_gives_one_line(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        settings.load("config.yaml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(expected)
    assert "Traceback" not in msg


def test_yaml_syntax_error_names_line_and_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "accounts:\n  - name: a\n    regions: [us-east-1\n")
    with pytest.raises(ConfigError) as info:
        settings.load("config.yaml")
    assert str(info.value).startswith("config.yaml: line 4, column 1: invalid YAML")


def test_missing_and_unreadable_files(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"nope.yaml: no such file"):
        settings.load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        settings.load(tmp_path)
    p = write(tmp_path, "default_range: 24h\n")
    p.write_bytes(b"default_range: \xff\xfe\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        settings.load(p)

    real_open = os.open

    def denied(path, *a, **k):  # CI runs as root, where permission bits do not stop reads
        if os.fspath(path) == os.fspath(p):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ConfigError, match=r"config.yaml: cannot be read \(permission denied\)"):
        settings.load(p)


def test_no_file_is_the_demo_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = settings.load(None)
    assert s.is_demo
    (acct,) = s.aws_accounts()
    assert acct.demo and acct.regions == ("us-east-1", "eu-west-1")


def test_shipped_config_is_valid_and_demo():
    s = settings.load(settings.DEFAULT_CONFIG)
    assert s.is_demo
    assert s.cache_ttl_s.costs >= 6 * 3600
    assert [r.name for r in s.alerts.rules][:2] == ["error-rate", "throttles"]
    assert s.allocation.tag_keys == ["team", "cost-center"]


def test_accounts_naming_one_organization_share_its_bill(tmp_path):
    p = write(
        tmp_path,
        """
        accounts:
          - {name: payer, demo: true, organization: acme}
          - {name: member, demo: true, organization: acme}
          - {name: alone, demo: true}
          - {name: asks, demo: true, organization: auto}
        """,
    )
    # "auto" is asked of AWS Organizations by dashboard.figures.organizations.resolve, not taken as a name
    assert settings.load(p).organizations() == {"payer": "acme", "member": "acme"}


def test_real_account_becomes_an_aws_account(tmp_path):
    p = write(
        tmp_path,
        """
        accounts:
          - name: prod
            role_arn: arn:aws:iam::123456789012:role/LambdaLensReadOnly
            external_id: xyz
            regions: [eu-west-1]
        aws: {max_attempts: 5}
        """,
    )
    (a,) = settings.load(p).aws_accounts()
    assert (a.name, a.role_arn, a.external_id, a.regions, a.demo, a.max_attempts) == (
        "prod",
        "arn:aws:iam::123456789012:role/LambdaLensReadOnly",
        "xyz",
        ("eu-west-1",),
        False,
        5,
    )
