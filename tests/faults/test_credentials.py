"""Credentials: expired, absent, and a role that cannot be assumed — one sentence each, never retried
in vain, and the role's STS call goes to the account's endpoint_url (moto here), never to real AWS."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
from botocore.awsrequest import AWSResponse

from aws import functions as lam
from aws import session
from aws.meter import METER
from aws.session import Account
from aws.sim.wire import Raw
from dashboard.config import settings as settings_mod
from dashboard.query import sources
from tests.faults.conftest import ROOT, run_cli, write


def real_yaml(url: str, *, name: str = "prod", role_arn: str | None = None, max_attempts: int = 3) -> str:
    role = f"    role_arn: {role_arn}\n" if role_arn else ""
    return (
        f"accounts:\n  - name: {name}\n    regions: [us-east-1]\n    endpoint_url: {url}\n{role}"
        f"aws:\n  max_attempts: {max_attempts}\n  connect_timeout_s: 2\n  read_timeout_s: 5\n"
    )


def test_expired_token_is_one_sentence_and_not_retried(moto_url, tmp_path):
    path = write(tmp_path, real_yaml(moto_url))
    cfg = settings_mod.load(path)
    (account,) = cfg.aws_accounts()

    def expired(request, **_):
        body = b'{"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"}'
        return AWSResponse(request.url, 403, {"Content-Type": "application/json"}, Raw(body))

    session.client(account, "lambda", "us-east-1").meta.events.register("before-send", expired)
    got = sources.inventory(cfg)
    sentence = (
        "The AWS credentials in prod/us-east-1 were rejected (ExpiredTokenException); renew them "
        "(aws sso login, or refresh the profile's keys)."
    )
    assert [(s.source, s.error, s.error_kind) for s in got.failed] == [("inventory", sentence, "NoCredentials")]
    m = METER.snapshot()
    assert m.count("ListFunctions") == 1 and m.attempts[("prod", "us-east-1", "lambda", "ListFunctions")] == 1  # not retried

    code, _, err = run_cli("summary", "--config", str(path), "--range", "1h")
    assert code == 1 and err.splitlines() == [f"error: {sentence}"]


def clean_env(tmp_path) -> dict[str, str]:
    """No credential anywhere: no AWS_* variables, empty config and credentials files, no instance metadata."""
    (tmp_path / "empty").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "empty"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "empty"),
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    return env


def test_no_credentials_through_the_real_cli(moto_url, tmp_path):
    path = write(tmp_path, real_yaml(moto_url))
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "summary", "--config", str(path), "--range", "1h"],
        cwd=tmp_path, env=clean_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: No AWS credentials in prod/us-east-1 (Unable to locate credentials); set a profile in config.yaml "
        "or AWS_PROFILE / AWS_ACCESS_KEY_ID in the environment, or use the demo account."
    ]
    assert proc.stdout.strip() == "(no rows)"


def test_an_assumable_role_is_assumed_at_the_endpoint_url(moto_url):
    """Before the fix the AssumeRole call went to https://sts.amazonaws.com/ whatever endpoint_url said."""
    account = Account(name="r", endpoint_url=moto_url, role_arn="arn:aws:iam::123456789012:role/reader", max_attempts=1)
    frame = lam.functions(account=account, region="us-east-1")
    assert frame.empty and list(frame.columns)[:3] == ["account", "region", "function"]


def test_a_role_that_cannot_be_assumed_is_one_sentence(moto_url, tmp_path, monkeypatch):
    iam = boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1")
    iam.create_user(UserName="weak")
    key = iam.create_access_key(UserName="weak")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    from moto import settings as moto_settings

    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto now enforces IAM: "weak" has no policy

    path = write(tmp_path, real_yaml(moto_url, name="r", role_arn="arn:aws:iam::123456789012:role/reader", max_attempts=2))
    cfg = settings_mod.load(path)
    got = sources.inventory(cfg)
    sentence = (
        "The role in r/us-east-1 cannot be assumed (AccessDenied: User: arn:aws:iam::123456789012:user/weak is not "
        "authorized to perform: sts:AssumeRole); check role_arn, the role's trust policy and that the caller may "
        "call sts:AssumeRole."
    )
    assert {(s.source, s.error, s.error_kind) for s in got.failed} == {
        ("inventory", sentence, "NoCredentials"),
        ("tags", sentence, "NoCredentials"),
    }
    code, _, err = run_cli("summary", "--config", str(path), "--range", "1h")
    assert code == 1 and err.splitlines() == [f"error: {sentence}"]  # said once
