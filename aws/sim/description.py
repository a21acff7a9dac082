"""A readable description of a simulated account (``python -m dashboard demo``)."""

from __future__ import annotations

from collections import Counter

from aws.sim import clock

__all__ = ["describe"]


def _counts(values) -> str:
    c = Counter(v if v is not None else "(untagged)" for v in values)
    return ", ".join(f"{k} {n}" for k, n in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def describe(model, account) -> str:
    specs = model.specs
    now = clock.now()
    lines = [
        f"Simulated AWS account {model.account_id} ({account.name}): {len(specs)} Lambda functions, "
        f"seed {model.seed}, {clock.HISTORY.days} days of history ending {now:%Y-%m-%d %H:%M} UTC.",
        "",
        "Functions",
        f"  by region:       {_counts(s.region for s in specs)}",
        f"  by team:         {_counts(s.team for s in specs)}",
        f"  by runtime:      {_counts(s.runtime for s in specs)}",
        f"  by architecture: {_counts(s.architecture for s in specs)}",
        f"  by trigger:      {_counts(s.trigger for s in specs)}",
        f"  JSON logs {sum(s.log_format == 'JSON' for s in specs)}, Lambda Insights {sum(s.insights for s in specs)}, "
        f"SnapStart {sum(s.snapstart for s in specs)}, reserved concurrency {sum(bool(s.reserved) for s in specs)}, "
        f"provisioned concurrency {sum(bool(s.provisioned) for s in specs)}, "
        f"untagged (no tags at all) {sum(not s.tags for s in specs)}",
        "",
        "Seeded incidents (relative to now, floored to the hour)",
    ]
    incidents = model.incident_objects()
    if not incidents:
        lines.append("  none (the spec is too small to hold the incident functions)")
    for i in incidents:
        lines.append(
            f"  {i.kind:<13} {i.function} ({i.region}): {i.start:%Y-%m-%d %H:%M} → {i.end:%Y-%m-%d %H:%M} UTC — {i.detail}"
        )
    sim = account.sim
    faults = []
    if sim.throttle_rate:
        where = ", ".join(sim.throttle_services) or "every service"
        faults.append(f"throttling {sim.throttle_rate:.0%} of requests ({where})")
    if sim.deny:
        faults.append("access denied for " + ", ".join(sim.deny))
    if sim.latency_s:
        faults.append(f"{sim.latency_s:g} s added to every request")
    if sim.down:
        faults.append("endpoint down: " + ", ".join(sim.down))
    if not sim.logs_insights:
        faults.append("no Logs Insights (StartQuery is unsupported)")
    lines += ["", "Injected faults", "  " + ("; ".join(faults) if faults else "none")]
    lines += [
        "",
        "Served: lambda ListFunctions/GetFunction(Configuration)/GetFunctionConcurrency/GetAccountSettings/"
        "ListProvisionedConcurrencyConfigs/ListTags, tagging GetResources, cloudwatch GetMetricData/"
        "GetMetricStatistics/ListMetrics, logs DescribeLogGroups/FilterLogEvents/StartQuery/GetQueryResults/StopQuery, "
        "ce GetCostAndUsage/GetCostForecast/ListCostAllocationTags, sts GetCallerIdentity.",
    ]
    return "\n".join(lines)
