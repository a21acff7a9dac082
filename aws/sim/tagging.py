"""Resource Groups Tagging API: GetResources for Lambda functions (≤ 100 a page).

Like AWS, only resources that carry tags are listed: a function without any tag
does not appear.
"""

from __future__ import annotations

from aws.sim import tokens
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

PAGE_MAX = 100


def _wanted(type_filters: list[str]) -> bool:
    if not type_filters:
        return True
    return any(f in ("lambda", "lambda:function") for f in type_filters)


def _matches(tags: dict[str, str], tag_filters: list[dict]) -> bool:
    for f in tag_filters:
        key = f.get("Key")
        if key not in tags:
            return False
        values = f.get("Values") or []
        if values and tags[key] not in values:
            return False
    return True


@handles("resourcegroupstaggingapi", "GetResources")
def get_resources(call: Call, params: dict) -> dict:
    per_page = params.get("ResourcesPerPage")
    if per_page is not None and not 1 <= per_page <= PAGE_MAX:
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value '{per_page}' at 'resourcesPerPage' failed to satisfy constraint: "
            f"Member must have value less than or equal to {PAGE_MAX}",
        )
    size = per_page or PAGE_MAX
    if params.get("ResourceARNList") and (params.get("TagFilters") or params.get("ResourceTypeFilters")):
        raise ApiError(
            "InvalidParameterException",
            "ResourceARNList can not be specified along with TagFilters or ResourceTypeFilters.",
        )
    fp = tokens.fingerprint(params, drop=("PaginationToken",))
    pos = tokens.read(
        params.get("PaginationToken"), fp, code="PaginationTokenExpiredException", what="pagination token"
    )
    start = int(pos["i"]) if pos else 0
    rows = []
    if _wanted(params.get("ResourceTypeFilters") or []):
        arns = set(params.get("ResourceARNList") or [])
        for s in call.model.in_region(call.region):
            tags = s.tag_dict
            if not tags or (arns and s.arn not in arns) or not _matches(tags, params.get("TagFilters") or []):
                continue
            rows.append({"ResourceARN": s.arn, "Tags": [{"Key": k, "Value": v} for k, v in s.tags]})
    page = rows[start : start + size]
    more = start + size < len(rows)
    return {"PaginationToken": tokens.make({"i": start + size}, fp) if more else "", "ResourceTagMappingList": page}
