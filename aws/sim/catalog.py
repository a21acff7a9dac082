"""The simulated functions: what each one is, how busy it is and how it behaves.

Function ``i`` depends only on (seed, i, regions), so a larger spec keeps the
functions of a smaller one (prefix-stable). The first functions play fixed roles
(the incidents, the SnapStart and provisioned-concurrency functions, one of each
trigger); the rest are drawn from job templates. Rates are kept modest (a function
stays under ~50k invocations a day) so a 24 h FilterLogEvents of one function stays
under ~50k REPORT lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from aws.sim.noise import unit_py

__all__ = ["FunctionSpec", "build_catalog", "catalog_frame", "TEAMS", "ACCOUNT_ID", "TZ_OFFSET_H", "INSIGHTS_LAYER"]

ACCOUNT_ID = "123456789012"
TEAMS = ("payments", "search", "media", "platform", "data")
COST_CENTERS = {"payments": "cc-1001", "data": "cc-4200", "media": "cc-3100"}
# Local business hours per region (UTC offset, hours), for daily cycles.
TZ_OFFSET_H = {
    "us-east-1": -5,
    "us-east-2": -5,
    "us-west-1": -8,
    "us-west-2": -8,
    "eu-west-1": 0,
    "eu-west-2": 0,
    "eu-central-1": 1,
    "ap-southeast-1": 8,
    "ap-southeast-2": 10,
    "ap-northeast-1": 9,
}
INSIGHTS_LAYER = "arn:aws:lambda:{region}:580247275435:layer:LambdaInsightsExtension:53"
_ARM_INSIGHTS_LAYER = "arn:aws:lambda:{region}:580247275435:layer:LambdaInsightsExtension-Arm64:20"

STREAM_TRIGGERS = ("kinesis", "dynamodb")
ASYNC_TRIGGERS = ("s3", "eventbridge", "sns")


@dataclass(frozen=True)
class FunctionSpec:
    """One simulated function: configuration (as Lambda lists it) and behaviour (the model's knobs)."""

    index: int
    name: str
    region: str
    job: str
    trigger: str  # apigateway, s3, kinesis, eventbridge, sqs, dynamodb, cognito, schedule, sns
    pattern: str  # business, diurnal, steady, nightly, hourly, idle
    team: str | None
    tags: tuple[tuple[str, str], ...]
    runtime: str
    handler: str
    architecture: str  # x86_64 | arm64
    memory_mb: int
    timeout_s: int
    ephemeral_mb: int = 512
    code_size: int = 1_000_000
    log_format: str = "Text"  # Text | JSON
    log_group: str = ""
    snapstart: bool = False
    insights: bool = False
    reserved: int | None = None
    provisioned: int | None = None
    description: str = ""
    role: str = ""  # the incident / feature this function plays ("" for an ordinary one)
    # behaviour
    rate: float = 1.0  # invocations a minute at daily-shape 1
    duration_ms: float = 100.0  # median execution time (excl. init)
    sigma: float = 0.4  # spread of execution time (log scale)
    mem_frac: float = 0.5  # typical Max Memory Used / Memory Size
    err_rate: float = 0.002
    cold_rate: float = 0.02  # share of invocations that are cold starts
    init_ms: float = 300.0  # typical Init (or SnapStart Restore) Duration
    bytes_per_invocation: int = 900  # log bytes per invocation (START/END/REPORT + app logs)
    lines_per_invocation: int = 5
    modified_days_ago: int = 30
    hour_offset: int = 0  # minute of the hour the hourly job runs at
    # provisioned concurrency over time (see aws.sim.provisioned): "" = ``provisioned`` all the time;
    # "daily" = ``provisioned`` from pc_from_h to pc_to_h UTC every day through Application Auto Scaling
    # scheduled actions, ``pc_low`` otherwise; "monthly" = ``provisioned`` from pc_from_h to pc_to_h UTC on
    # day ``pc_day`` of every month (set by hand, then removed), none otherwise
    pc_schedule: str = ""
    pc_low: int = 0
    pc_from_h: int = 0
    pc_to_h: int = 24
    pc_day: int = 0
    # response streaming (function URL invoke mode RESPONSE_STREAM): bytes written per invocation, and every
    # ``stream_big_every``-th invocation of a minute writes ``stream_big_bytes`` instead
    stream_bytes: int = 0
    stream_big_bytes: int = 0
    stream_big_every: int = 0
    account_id: str = ACCOUNT_ID  # the account's 12-digit ID (each demo account has its own)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def stream(self) -> bool:
        return self.trigger in STREAM_TRIGGERS

    @property
    def is_async(self) -> bool:
        return self.trigger in ASYNC_TRIGGERS

    @property
    def tag_dict(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def layers(self) -> tuple[str, ...]:
        if not self.insights:
            return ()
        tpl = _ARM_INSIGHTS_LAYER if self.architecture == "arm64" else INSIGHTS_LAYER
        return (tpl.format(region=self.region),)


@dataclass(frozen=True)
class _Job:
    trigger: str
    pattern: str
    stems: tuple[str, ...]
    runtimes: tuple[str, ...]
    memory: tuple[int, ...]
    timeout: tuple[int, ...]
    rate: tuple[float, float]
    duration: tuple[float, float]
    sigma: tuple[float, float] = (0.3, 0.5)
    description: str = ""
    weight: float = 0.1


_JOBS: dict[str, _Job] = {
    "api": _Job(
        "apigateway",
        "business",
        (
            "orders-api",
            "users-api",
            "catalog-api",
            "profile-api",
            "billing-api",
            "graphql-api",
            "webhooks-api",
            "status-api",
            "quotes-api",
            "cart-api",
        ),
        ("python3.12", "nodejs20.x", "nodejs22.x", "python3.13", "provided.al2023"),
        (256, 512, 1024),
        (10, 15, 29),
        (2.0, 18.0),
        (40.0, 300.0),
        (0.35, 0.55),
        "API Gateway handler",
        0.30,
    ),
    "thumbnailer": _Job(
        "s3",
        "diurnal",
        ("image-thumbnailer", "video-poster", "pdf-preview"),
        ("python3.12", "nodejs20.x"),
        (1024, 1536, 2048),
        (60, 120),
        (0.5, 6.0),
        (400.0, 1500.0),
        (0.3, 0.45),
        "S3-triggered media processor",
        0.08,
    ),
    "stream": _Job(
        "kinesis",
        "steady",
        ("clickstream-consumer", "events-consumer", "metrics-ingest"),
        ("provided.al2023", "python3.12", "nodejs20.x"),
        (256, 512),
        (60,),
        (5.0, 25.0),
        (50.0, 250.0),
        (0.3, 0.45),
        "Kinesis stream consumer",
        0.08,
    ),
    "report": _Job(
        "eventbridge",
        "nightly",
        ("nightly-report", "daily-rollup", "ledger-export"),
        ("python3.12", "java21"),
        (1024, 2048, 3008),
        (900,),
        (3.0, 8.0),
        (5000.0, 60000.0),
        (0.25, 0.35),
        "Nightly EventBridge batch report",
        0.06,
    ),
    "sqs": _Job(
        "sqs",
        "steady",
        ("order-worker", "email-worker", "invoice-worker", "webhook-dispatcher", "export-worker"),
        ("python3.12", "nodejs20.x", "provided.al2023"),
        (512, 1024),
        (60, 300),
        (1.0, 15.0),
        (200.0, 2500.0),
        (0.35, 0.5),
        "SQS queue worker",
        0.20,
    ),
    "ddb-stream": _Job(
        "dynamodb",
        "steady",
        ("ledger-stream", "profile-sync", "audit-stream"),
        ("nodejs20.x", "python3.12"),
        (256, 512),
        (60,),
        (2.0, 15.0),
        (30.0, 200.0),
        (0.3, 0.45),
        "DynamoDB stream consumer",
        0.08,
    ),
    "cognito": _Job(
        "cognito",
        "diurnal",
        ("cognito-presignup", "cognito-post-confirm", "cognito-token-gen"),
        ("nodejs20.x", "python3.12"),
        (128, 256),
        (5,),
        (0.2, 3.0),
        (20.0, 120.0),
        (0.3, 0.4),
        "Cognito user-pool trigger",
        0.06,
    ),
    "cleanup": _Job(
        "schedule",
        "hourly",
        ("tmp-cleanup", "cache-prune", "stale-session-sweeper"),
        ("python3.12", "provided.al2023"),
        (256, 512),
        (300,),
        (1.0, 1.0),
        (1000.0, 8000.0),
        (0.2, 0.3),
        "Scheduled cleanup",
        0.07,
    ),
    "sns": _Job(
        "sns",
        "diurnal",
        ("notify-fanout", "alerts-router"),
        ("nodejs20.x", "python3.12"),
        (256,),
        (30,),
        (0.5, 8.0),
        (50.0, 400.0),
        (0.3, 0.45),
        "SNS fan-out subscriber",
        0.07,
    ),
}

_INIT_MS = {"python": 280.0, "nodejs": 220.0, "java": 1600.0, "provided": 70.0}
_HANDLER = {
    "python": "app.handler",
    "nodejs": "index.handler",
    "java": "com.example.Handler::handleRequest",
    "provided": "bootstrap",
}
_CODE_SIZE = {"python": 4_500_000, "nodejs": 2_800_000, "java": 24_000_000, "provided": 9_000_000}


def _family(runtime: str) -> str:
    for fam in ("python", "nodejs", "java", "provided"):
        if runtime.startswith(fam):
            return fam
    return "provided"


def _pick(seq, u: float):
    return seq[min(int(u * len(seq)), len(seq) - 1)]


def _loguniform(lo: float, hi: float, u: float) -> float:
    return math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u)


def _tags(team: str | None, service: str, env: str, seed: int, i: int) -> tuple[tuple[str, str], ...]:
    tags: list[tuple[str, str]] = []
    if team:
        tags.append(("team", team))
        if team in COST_CENTERS and unit_py(seed, i, 71) < 0.7:
            tags.append(("cost-center", COST_CENTERS[team]))
    tags.append(("service", service))
    tags.append(("env", env))
    return tuple(tags)


# The fixed roles: (role, job, team, stem, region slot, overrides). Order matters for small specs.
_SPECIALS: tuple[tuple[str, str, str | None, str, int, dict], ...] = (
    (
        "errors",
        "api",
        "payments",
        "checkout-api",
        0,
        dict(
            runtime="python3.12",
            memory_mb=512,
            timeout_s=15,
            rate=14.0,
            duration_ms=120.0,
            log_format="JSON",
            description="Checkout API (API Gateway)",
        ),
    ),
    (
        "throttles",
        "sqs",
        "media",
        "transcode-worker",
        1,
        dict(
            runtime="python3.12",
            architecture="arm64",
            memory_mb=1024,
            timeout_s=120,
            rate=8.0,
            duration_ms=1800.0,
            sigma=0.3,
            reserved=10,
            description="SQS transcode worker (reserved concurrency 10)",
        ),
    ),
    (
        "timeout",
        "sqs",
        "search",
        "reindex-worker",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=512,
            timeout_s=6,
            rate=6.0,
            duration_ms=900.0,
            sigma=0.35,
            description="SQS re-index worker with a tight timeout",
        ),
    ),
    (
        "memory_low",
        "thumbnailer",
        "media",
        "pdf-renderer",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=3008,
            timeout_s=60,
            rate=3.0,
            duration_ms=700.0,
            mem_frac=0.15,
            insights=True,
            description="PDF renderer, heavily over-provisioned memory",
        ),
    ),
    (
        "memory_high",
        "thumbnailer",
        "media",
        "image-resizer",
        1,
        dict(
            runtime="python3.12",
            memory_mb=256,
            timeout_s=30,
            rate=5.0,
            duration_ms=450.0,
            mem_frac=0.92,
            insights=True,
            description="Image resizer near its memory limit",
        ),
    ),
    (
        "cold_starts",
        "api",
        "search",
        "catalog-java",
        0,
        dict(
            runtime="java21",
            architecture="x86_64",
            memory_mb=1024,
            timeout_s=29,
            rate=1.2,
            duration_ms=180.0,
            cold_rate=0.30,
            init_ms=3000.0,
            insights=True,
            description="Catalog API in Java, cold-start heavy",
        ),
    ),
    (
        "idle",
        "api",
        None,
        "importer",
        1,
        dict(
            runtime="python3.9",
            memory_mb=128,
            timeout_s=3,
            rate=0.0,
            pattern="idle",
            description="Legacy importer nobody calls any more",
        ),
    ),
    (
        "iterator_age",
        "stream",
        "data",
        "clickstream-consumer",
        0,
        dict(
            runtime="provided.al2023",
            architecture="arm64",
            memory_mb=512,
            timeout_s=60,
            rate=20.0,
            duration_ms=120.0,
            description="Kinesis clickstream consumer",
        ),
    ),
    (
        "",
        "thumbnailer",
        "media",
        "image-thumbnailer",
        0,
        dict(
            runtime="python3.12",
            architecture="arm64",
            memory_mb=1536,
            timeout_s=60,
            rate=4.0,
            duration_ms=850.0,
            insights=True,
            ephemeral_mb=2048,
            description="S3-triggered image thumbnailer",
        ),
    ),
    (
        "",
        "report",
        "data",
        "nightly-report",
        1,
        dict(
            runtime="python3.12",
            memory_mb=2048,
            timeout_s=900,
            rate=6.0,
            duration_ms=30000.0,
            description="Nightly EventBridge report",
        ),
    ),
    (
        "",
        "ddb-stream",
        "payments",
        "ledger-stream",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=256,
            timeout_s=60,
            rate=9.0,
            duration_ms=60.0,
            description="DynamoDB stream consumer of the ledger table",
        ),
    ),
    (
        "",
        "cognito",
        "platform",
        "cognito-presignup",
        1,
        dict(
            runtime="nodejs20.x",
            memory_mb=128,
            timeout_s=5,
            rate=1.5,
            duration_ms=45.0,
            log_format="JSON",
            description="Cognito pre-sign-up trigger",
        ),
    ),
    (
        "",
        "cleanup",
        "platform",
        "tmp-cleanup",
        0,
        dict(
            runtime="python3.12",
            memory_mb=256,
            timeout_s=300,
            duration_ms=3500.0,
            description="Hourly scheduled cleanup",
        ),
    ),
    (
        "snapstart",
        "api",
        "payments",
        "ledger-java",
        0,
        dict(
            runtime="java21",
            memory_mb=2048,
            timeout_s=29,
            rate=6.0,
            duration_ms=95.0,
            snapstart=True,
            cold_rate=0.01,
            init_ms=420.0,
            log_group="/app/payments/ledger-java",
            description="Ledger API in Java with SnapStart",
        ),
    ),
    (
        "provisioned",
        "api",
        "payments",
        "auth-api",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=1024,
            timeout_s=10,
            rate=16.0,
            duration_ms=70.0,
            provisioned=5,
            cold_rate=0.0,
            description="Auth API with provisioned concurrency",
        ),
    ),
    (
        "provisioned",
        "api",
        "search",
        "suggest-api",
        1,
        dict(
            runtime="provided.al2023",
            architecture="arm64",
            memory_mb=512,
            timeout_s=10,
            rate=12.0,
            duration_ms=35.0,
            provisioned=3,
            cold_rate=0.0,
            log_format="JSON",
            description="Search suggestions with provisioned concurrency",
        ),
    ),
    (
        "",
        "sns",
        "platform",
        "notify-fanout",
        1,
        dict(
            runtime="nodejs20.x",
            memory_mb=256,
            timeout_s=30,
            rate=3.0,
            duration_ms=110.0,
            description="SNS fan-out subscriber",
        ),
    ),
)


# Functions at fixed indices past the default demo's 48 (a spec of ≥ 54 functions has them all; a smaller one's
# functions are unchanged): provisioned concurrency over time, SnapStart on a managed runtime that pays for it,
# response streaming.
_LATE_SPECIALS: dict[int, tuple] = {
    48: (
        "pc_schedule",
        "api",
        "payments",
        "basket-api",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=1024,
            timeout_s=30,
            rate=30.0,
            duration_ms=3000.0,
            provisioned=4,
            pc_schedule="daily",
            pc_low=1,
            pc_from_h=8,
            pc_to_h=18,
            cold_rate=0.0,
            description="Checkout API with working-hours provisioned concurrency (scheduled scaling)",
        ),
    ),
    49: (
        "pc_once",
        "api",
        "media",
        "launch-api",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=1536,
            timeout_s=10,
            rate=20.0,
            duration_ms=120.0,
            provisioned=100,
            pc_schedule="monthly",
            pc_from_h=12,
            pc_to_h=20,
            pc_day=10,
            cold_rate=0.0,
            description="Launch-day API: provisioned concurrency 100 for 8 hours, then removed",
        ),
    ),
    50: (
        "snapstart_python",
        "api",
        "search",
        "ranker-api",
        1,
        dict(
            runtime="python3.12",
            memory_mb=1024,
            timeout_s=30,
            rate=8.0,
            duration_ms=180.0,
            snapstart=True,
            cold_rate=0.02,
            init_ms=350.0,
            description="Ranking API in Python with SnapStart",
        ),
    ),
    51: (
        "streaming",
        "api",
        "media",
        "render-stream",
        0,
        dict(
            runtime="nodejs20.x",
            memory_mb=1536,
            timeout_s=60,
            rate=6.0,
            duration_ms=500.0,
            stream_bytes=100 * 1024,
            stream_big_bytes=7 * 1024 * 1024,
            stream_big_every=3,
            description="Server-side rendering with response streaming",
        ),
    ),
}


def _base(seed: int, i: int, job_name: str, team: str | None, stem: str, region: str) -> dict:
    job = _JOBS[job_name]
    u = [unit_py(seed, i, k) for k in range(24)]
    runtime = _pick(job.runtimes, u[0])
    fam = _family(runtime)
    arch = "x86_64" if fam == "java" or u[1] < 0.6 else "arm64"
    rate = _loguniform(*job.rate, u[2]) if job.rate[0] != job.rate[1] else job.rate[0]
    dur = _loguniform(*job.duration, u[3])
    sigma = job.sigma[0] + (job.sigma[1] - job.sigma[0]) * u[4]
    memory = _pick(job.memory, u[5])
    timeout = _pick(job.timeout, u[6])
    # keep p99 well under the timeout for an ordinary function
    while dur * math.exp(2.6 * sigma) * 4 > timeout * 1000 and timeout < 900:
        timeout = min(900, timeout * 2)
    env = "prod" if u[7] < 0.85 else "staging"
    cold = 0.004 + 0.03 / (1.0 + rate)
    if job.pattern == "hourly":
        cold = 1.0
    elif job.pattern == "nightly":
        cold = 0.08
    return dict(
        index=i,
        name="",
        region=region,
        job=job_name,
        trigger=job.trigger,
        pattern=job.pattern,
        team=team,
        tags=_tags(team, stem, env, seed, i),
        runtime=runtime,
        handler=_HANDLER[fam],
        architecture=arch,
        memory_mb=memory,
        timeout_s=timeout,
        code_size=int(_CODE_SIZE[fam] * (0.5 + u[8])),
        log_format="JSON" if u[9] < 0.2 else "Text",
        insights=u[10] < 0.25,
        description=job.description,
        rate=rate,
        duration_ms=dur,
        sigma=sigma,
        mem_frac=0.30 + 0.45 * u[11],
        err_rate=0.0005 + 0.0035 * u[12],
        cold_rate=cold,
        init_ms=_INIT_MS[fam] * (0.8 + 0.5 * u[13]),
        bytes_per_invocation=int(350 + 2500 * u[14]),
        lines_per_invocation=3 + int(8 * u[15]),
        modified_days_ago=1 + int(400 * u[16] ** 2),
        hour_offset=int(60 * u[17]),
        reserved=(_pick((20, 50, 100), u[19]) if job_name == "sqs" and u[18] < 0.3 else None),
    )


def _spec(seed: int, i: int, regions: tuple[str, ...], taken: dict[str, int]) -> FunctionSpec:
    special = _SPECIALS[i] if i < len(_SPECIALS) else _LATE_SPECIALS.get(i)
    if special is not None:
        role, job_name, team, stem, slot, over = special
        region = regions[slot % len(regions)]
        d = _base(seed, i, job_name, team, stem, region)
        d.update(role=role, insights=False, log_format="Text", reserved=None)
        d.update(over)
        if role == "idle":
            d["tags"] = ()  # a legacy function nobody tagged: the Tagging API does not list it
            d["team"] = None
        fam = _family(d["runtime"])
        d["handler"] = _HANDLER[fam]
        if "init_ms" not in over:
            d["init_ms"] = _INIT_MS[fam] * (0.8 + 0.5 * unit_py(seed, i, 13))
        prefix = team or "legacy"
    else:
        u_job = unit_py(seed, i, 101)
        acc = 0.0
        job_name = "api"
        total = sum(j.weight for j in _JOBS.values())
        for name, job in _JOBS.items():
            acc += job.weight / total
            if u_job < acc:
                job_name = name
                break
        u_team = unit_py(seed, i, 102)
        untagged = u_team < 0.05 or i % 13 == 7  # a few functions nobody put a team tag on
        team = None if untagged else TEAMS[min(int(u_team * len(TEAMS)), len(TEAMS) - 1)]
        stem = _pick(_JOBS[job_name].stems, unit_py(seed, i, 103))
        region = regions[int(unit_py(seed, i, 104) * len(regions)) % len(regions)]
        d = _base(seed, i, job_name, team, stem, region)
        prefix = team or "shared"
    base = f"{prefix}-{stem}"
    n = taken.get(base, 0)
    taken[base] = n + 1
    d["name"] = base if n == 0 else f"{base}-{n + 1}"
    if not d.get("log_group"):
        d["log_group"] = f"/aws/lambda/{d['name']}"
    if d["runtime"].startswith("java") and d["log_format"] == "JSON" and not d.get("role"):
        d["log_format"] = "Text"
    return FunctionSpec(**d)


def build_catalog(*, functions: int, seed: int, regions: tuple[str, ...]) -> tuple[FunctionSpec, ...]:
    """The simulated functions of a spec (prefix-stable in ``functions``)."""
    if not regions:
        raise ValueError("a simulated account needs at least one region")
    taken: dict[str, int] = {}
    return tuple(_spec(seed, i, tuple(regions), taken) for i in range(max(0, int(functions))))


def catalog_frame(specs: tuple[FunctionSpec, ...]) -> pd.DataFrame:
    """One row per function: configuration and behaviour columns (read-only, shared)."""
    rows = []
    for s in specs:
        rows.append(
            {
                "function": s.name,
                "region": s.region,
                "arn": s.arn,
                "role": s.role,
                "job": s.job,
                "trigger": s.trigger,
                "pattern": s.pattern,
                "team": s.team,
                "tags": s.tag_dict,
                "runtime": s.runtime,
                "architecture": s.architecture,
                "memory_mb": s.memory_mb,
                "timeout_s": s.timeout_s,
                "ephemeral_mb": s.ephemeral_mb,
                "log_format": s.log_format,
                "log_group": s.log_group,
                "snapstart": s.snapstart,
                "insights": s.insights,
                "reserved": s.reserved,
                "provisioned": s.provisioned,
                "pc_schedule": s.pc_schedule,
                "streaming": s.stream_bytes > 0,
                "stream": s.stream,
                "async": s.is_async,
                "rate_per_min": s.rate,
                "duration_ms": s.duration_ms,
                "mem_frac": s.mem_frac,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.astype(
        {
            "function": "string",
            "region": "string",
            "arn": "string",
            "role": "string",
            "job": "string",
            "trigger": "string",
            "pattern": "string",
            "team": "string",
            "runtime": "string",
            "architecture": "string",
            "log_format": "string",
            "log_group": "string",
            "reserved": "Int64",
            "provisioned": "Int64",
        }
    )


def with_overrides(spec: FunctionSpec, **kw) -> FunctionSpec:
    """A copy of ``spec`` with fields replaced (tests)."""
    return replace(spec, **kw)
