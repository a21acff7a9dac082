"""Lambda function URLs: GetFunctionUrlConfig of the simulated functions.

A function that streams its responses (``FunctionSpec.stream_bytes``) has a function URL in invoke mode
RESPONSE_STREAM; every other HTTP (``apigateway``-triggered) function of even catalog index has a BUFFERED one; the
rest have none (ResourceNotFoundException, as AWS answers a function without a URL).
"""

from __future__ import annotations

from aws.sim.clock import anchor
from aws.sim.lambda_ import _function, lambda_time
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

__all__ = ["invoke_mode"]


def invoke_mode(spec) -> str | None:
    """The function URL's invoke mode of a simulated function, or None: no function URL."""
    if spec.stream_bytes > 0:
        return "RESPONSE_STREAM"
    if spec.trigger == "apigateway" and spec.index % 2 == 0:
        return "BUFFERED"
    return None


@handles("lambda", "GetFunctionUrlConfig")
def get_function_url_config(call: Call, params: dict) -> dict:
    s = _function(call, params["FunctionName"])
    mode = invoke_mode(s)
    if mode is None or params.get("Qualifier"):
        raise ApiError("ResourceNotFoundException", "The resource you requested does not exist.", 404)
    created = lambda_time(anchor(call.now).replace(day=1, hour=9, minute=0))
    return {
        "FunctionUrl": f"https://{s.index:08x}{call.model.seed:024x}.lambda-url.{call.region}.on.aws/",
        "FunctionArn": s.arn,
        "AuthType": "AWS_IAM",
        "CreationTime": created,
        "LastModifiedTime": created,
        "InvokeMode": mode,
    }
