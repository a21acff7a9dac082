"""Inventory and tags against moto's server over HTTP (moto is faithful for these)."""

from __future__ import annotations

import io
import zipfile

import boto3
import pandas as pd
import pytest

from aws import errors, functions, tags
from aws.meter import METER


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


@pytest.fixture
def moto_lambda(moto_account):
    """Two functions with tags, one with reserved concurrency and arm64."""
    kw = {"endpoint_url": moto_account.endpoint_url, "region_name": "us-east-1"}
    iam = boto3.client("iam", **kw)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", **kw)
    code = {"ZipFile": _zip()}
    lam.create_function(
        FunctionName="orders-api",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code=code,
        MemorySize=512,
        Timeout=30,
        Architectures=["arm64"],
        EphemeralStorage={"Size": 1024},
        Tags={"team": "payments", "env": "prod"},
    )
    lam.create_function(
        FunctionName="thumbnailer", Runtime="nodejs20.x", Role=role, Handler="app.handler", Code=code, Tags={"team": "media"}
    )
    lam.put_function_concurrency(FunctionName="orders-api", ReservedConcurrentExecutions=25)
    return {"lambda": lam, "role": role, "code": code}


def test_functions_frame_from_moto(moto_account, moto_lambda):
    frame = functions.functions(account=moto_account, region="us-east-1")
    assert list(frame.columns) == list(functions.SCHEMA)
    assert dict(frame.dtypes.astype(str)) == {k: (v if v != "string" else "string") for k, v in functions.SCHEMA.items()}
    assert frame["function"].tolist() == ["orders-api", "thumbnailer"]
    orders = frame.iloc[0]
    assert (orders.runtime, orders.architecture, orders.memory_mb, orders.timeout_s, orders.ephemeral_storage_mb) == (
        "python3.12",
        "arm64",
        512,
        30,
        1024,
    )
    assert orders.reserved_concurrency == 25
    assert pd.isna(frame.iloc[1].reserved_concurrency)
    assert frame.iloc[1].architecture == "x86_64"
    assert orders.log_group == "/aws/lambda/orders-api"
    assert orders.arn.endswith(":function:orders-api")
    assert frame["last_modified"].notna().all()
    snap = METER.snapshot()
    assert snap.count("ListFunctions") == 1
    assert snap.count("GetFunctionConcurrency") == 2


def test_tags_in_one_call_not_one_per_function(moto_account, moto_lambda):
    frame = tags.function_tags(account=moto_account, region="us-east-1")
    got = {(a.rsplit(":", 1)[-1], k, v) for a, k, v in frame[["arn", "key", "value"]].itertuples(index=False)}
    assert got == {("orders-api", "team", "payments"), ("orders-api", "env", "prod"), ("thumbnailer", "team", "media")}
    snap = METER.snapshot()
    assert snap.count("GetResources") == 1
    assert snap.count("ListTags") == 0


def test_tags_follow_pages_of_100(moto_account, moto_lambda):
    lam = moto_lambda["lambda"]
    for i in range(103):
        lam.create_function(
            FunctionName=f"worker-{i:03d}",
            Runtime="python3.12",
            Role=moto_lambda["role"],
            Handler="app.handler",
            Code=moto_lambda["code"],
            Tags={"team": "data", "n": str(i)},
        )
    frame = tags.function_tags(account=moto_account, region="us-east-1")
    assert frame["arn"].nunique() == 105
    # moto also caps a page at 100 tags (AWS does so only when TagsPerPage is sent), so it pages
    # more often than AWS would; what matters here is that every page was followed.
    assert METER.snapshot().count("GetResources") >= 2
    assert set(frame.loc[frame.key == "n", "value"].astype(int)) == set(range(103))


def test_empty_account_gives_empty_frames_with_columns(moto_account):
    f = functions.functions(account=moto_account, region="us-east-1")
    t = tags.function_tags(account=moto_account, region="us-east-1")
    assert f.empty and list(f.columns) == list(functions.SCHEMA)
    assert t.empty and list(t.columns) == list(tags.SCHEMA)


def test_unreachable_endpoint_is_a_typed_error():
    from aws.session import Account
    from tests.conftest import free_port

    acct = Account(name="down", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout_s=1)
    with pytest.raises(errors.EndpointUnreachable) as info:
        functions.functions(account=acct, region="us-east-1")
    assert "Cannot reach Lambda in down/us-east-1" in str(info.value)
