"""CloudWatch Logs: DescribeLogGroups, FilterLogEvents, and Logs Insights (StartQuery,
GetQueryResults, StopQuery) over the simulated functions' REPORT lines.

Limits as AWS enforces them: ≤ 50 log groups a query, ≤ 30 concurrent queries (a query
counts until it has been reported Complete, was stopped, or ran 120 s), ≤ 10,000
result rows, FilterLogEvents ``limit`` ≤ 10,000 and pages of at most 1 MB. A query
is "Running" on its first poll and "Complete" on the next. Only REPORT lines are
modeled as events (app logs and START/END lines count in ``bytesScanned`` only).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from aws.sim import insights, reports, tokens
from aws.sim.noise import hash_py
from aws.sim.patterns import PatternUnsupported, compile_pattern
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

MAX_GROUPS = 50
MAX_CONCURRENT = 30
QUERY_TIMEOUT_S = 120.0
FILTER_LIMIT = 10_000
PAGE_BYTES = 1_048_576
_lock = threading.Lock()


@dataclass
class _Query:
    query_id: str
    specs: list
    start_s: int
    end_s: int
    text: str
    limit: int | None
    created: float
    status: str = "Running"
    polls: int = 0
    completed_at: datetime | None = None  # the simulated "now" the answer was computed at
    stats: dict = field(default_factory=dict)

    def active(self) -> bool:
        return self.status in ("Scheduled", "Running") and time.monotonic() - self.created < QUERY_TIMEOUT_S


def _queries(call: Call) -> OrderedDict:
    return call.state.extra.setdefault("insights_queries", OrderedDict())


def _group_of(call: Call, name: str):
    s = call.model.by_log_group(name, call.region)
    if s is None:
        raise ApiError("ResourceNotFoundException", "The specified log group does not exist.")
    return s


def _group_arn(region: str, name: str, account_id: str) -> str:
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}"


@handles("logs", "DescribeLogGroups")
def describe_log_groups(call: Call, params: dict) -> dict:
    limit = int(params.get("limit") or 50)
    if limit > 50:
        raise ApiError(
            "InvalidParameterException",
            "1 validation error detected: Value at 'limit' failed to "
            "satisfy constraint: Member must have value less than or equal to 50",
        )
    prefix = params.get("logGroupNamePrefix") or ""
    pattern = (params.get("logGroupNamePattern") or "").lower()
    if prefix and pattern:
        raise ApiError(
            "InvalidParameterException",
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        )
    fp = tokens.fingerprint(params, drop=("nextToken", "limit"))
    pos = tokens.read(params.get("nextToken"), fp, code="InvalidParameterException", what="nextToken")
    start = int(pos["i"]) if pos else 0
    specs = sorted(call.model.in_region(call.region), key=lambda s: s.log_group)
    specs = [s for s in specs if s.log_group.startswith(prefix) and pattern in s.log_group.lower()]
    page = specs[start : start + limit]
    created0 = int(call.now.timestamp() // 86400) * 86400 * 1000
    groups = []
    for s in page:
        arn = _group_arn(call.region, s.log_group, call.model.account_id)
        groups.append(
            {
                "logGroupName": s.log_group,
                "creationTime": created0 - (s.modified_days_ago + 30 + hash_py(s.index, 3) % 300) * 86_400_000,
                "retentionInDays": 30,
                "metricFilterCount": 0,
                "arn": f"{arn}:*",
                "storedBytes": int(s.rate * 0.8 * 1440 * 30 * s.bytes_per_invocation),
                "logGroupClass": "STANDARD",
                "logGroupArn": arn,
            }
        )
    out: dict = {"logGroups": groups}
    if start + limit < len(specs):
        out["nextToken"] = tokens.make({"i": start + limit}, fp)
    return out


@handles("logs", "FilterLogEvents")
def filter_log_events(call: Call, params: dict) -> dict:
    name = params.get("logGroupName") or params.get("logGroupIdentifier")
    if not name:
        raise ApiError("InvalidParameterException", "Either logGroupName or logGroupIdentifier must be specified.")
    spec = _group_of(call, name)
    limit = int(params.get("limit") or FILTER_LIMIT)
    if limit > FILTER_LIMIT:
        raise ApiError(
            "InvalidParameterException",
            "1 validation error detected: Value at 'limit' failed to "
            f"satisfy constraint: Member must have value less than or equal to {FILTER_LIMIT}",
        )
    try:
        match = compile_pattern(params.get("filterPattern"))
    except PatternUnsupported as e:
        raise ApiError(
            "UnsupportedOperation", f"the simulated account does not implement this filter pattern: {e}"
        ) from e
    streams = set(params.get("logStreamNames") or [])
    stream_prefix = params.get("logStreamNamePrefix") or ""
    lo, hi = call.model.window(call.now)
    start_ms = int(params.get("startTime", lo * 60000))
    end_ms = int(params.get("endTime", hi * 60000 - 1))
    if end_ms < start_ms:
        raise ApiError("InvalidParameterException", "endTime must not be before startTime")
    fp = tokens.fingerprint(params, drop=("nextToken", "limit"))
    pos = tokens.read(params.get("nextToken"), fp, code="InvalidParameterException", what="nextToken")
    gen = reports.events(
        call.model,
        spec,
        start_ms=start_ms,
        end_ms=end_ms,
        now=call.now,
        from_minute=pos["m"] if pos else None,
        skip=pos["j"] if pos else 0,
    )
    events: list[dict] = []
    size = 0
    token = None
    for e in gen:
        if (streams and e["logStreamName"] not in streams) or not e["logStreamName"].startswith(stream_prefix):
            continue
        if not match(e["message"]):
            continue
        if len(events) >= limit or size + len(e["message"]) > PAGE_BYTES:
            minute, j = e["_pos"]
            token = tokens.make({"m": minute, "j": j}, fp)
            break
        size += len(e["message"]) + 26
        e.pop("_pos", None)
        events.append(e)
    out: dict = {"events": events, "searchedLogStreams": []}
    if token:
        out["nextToken"] = token
    return out


@handles("logs", "StartQuery")
def start_query(call: Call, params: dict) -> dict:
    if not call.account.sim.logs_insights:
        raise ApiError("UnsupportedOperation", "the simulated account does not implement logs StartQuery")
    names = list(params.get("logGroupNames") or []) + list(params.get("logGroupIdentifiers") or [])
    if params.get("logGroupName"):
        names.append(params["logGroupName"])
    if not names:
        raise ApiError("InvalidParameterException", "Log group name(s) or identifier(s) must be specified.")
    if len(names) > MAX_GROUPS:
        raise ApiError(
            "InvalidParameterException",
            f"Only {MAX_GROUPS} log groups can be queried at a time; {len(names)} were specified.",
        )
    specs = []
    for n in names:
        s = call.model.by_log_group(n.removesuffix(":*"), call.region)
        if s is None:
            raise ApiError("ResourceNotFoundException", f"Log group '{n}' does not exist for account ID '{call.model.account_id}'")
        specs.append(s)
    start_s, end_s = int(params["startTime"]), int(params["endTime"])
    if end_s < start_s:
        raise ApiError("InvalidParameterException", "End time should not be before the start time")
    store = _queries(call)
    with _lock:
        running = sum(1 for q in store.values() if q.active())
        if running >= MAX_CONCURRENT:
            raise ApiError(
                "LimitExceededException", f"Account maximum query concurrency limit of [{MAX_CONCURRENT}] reached."
            )
        number = call.state.extra.get("insights_started", 0) + 1
        call.state.extra["insights_started"] = number
        h = hash_py(call.model.seed, number, 0x51)
        qid = f"{h:032x}"[:32]
        qid = f"{qid[:8]}-{qid[8:12]}-{qid[12:16]}-{qid[16:20]}-{qid[20:32]}"
        store[qid] = _Query(qid, specs, start_s, end_s, params["queryString"], params.get("limit"), time.monotonic())
        while len(store) > 200:  # results can be large; old queries are forgotten
            store.popitem(last=False)
    return {"queryId": qid}


@handles("logs", "GetQueryResults")
def get_query_results(call: Call, params: dict) -> dict:
    store = _queries(call)
    with _lock:
        q = store.get(params["queryId"])
    if q is None:
        raise ApiError("ResourceNotFoundException", f"Query {params['queryId']} does not exist.")
    zero = {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}
    with _lock:
        if q.status == "Cancelled":
            return {"queryLanguage": "CWLI", "results": [], "statistics": zero, "status": "Cancelled"}
        q.polls += 1
        first_poll = q.status == "Running" and q.polls < 2
    if first_poll:
        return {"queryLanguage": "CWLI", "results": [], "statistics": zero, "status": "Running"}
    # The answer is not kept: it is recomputed for the instant it was first computed at (the model is
    # deterministic), so a re-read gives the same rows, and 200 remembered queries hold no result rows
    # (with the rows kept, a 200-function demo server grew by ~85 MB at every logs refresh).
    with _lock:
        at = q.completed_at or call.now
    parsed = insights.parse(q.text)
    if parsed is None:
        rows, stats = [], {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0}
    else:
        rows, stats = insights.run(
            call.model,
            parsed,
            q.specs,
            start_s=q.start_s,
            end_s=q.end_s,
            now=at,
            account_id=call.model.account_id,
            limit=q.limit,
        )
    with _lock:
        if q.completed_at is None:
            q.completed_at = at
            q.status = "Complete"
    return {"queryLanguage": "CWLI", "results": rows, "statistics": dict(stats), "status": "Complete"}


@handles("logs", "StopQuery")
def stop_query(call: Call, params: dict) -> dict:
    store = _queries(call)
    with _lock:
        q = store.get(params["queryId"])
        if q is None:
            raise ApiError("ResourceNotFoundException", f"Query {params['queryId']} does not exist.")
        if q.status in ("Scheduled", "Running"):
            q.status = "Cancelled"
            return {"success": True}
    return {"success": False}
