"""The rules that apply to one function: config defaults with tag and function overrides.

Precedence, field by field (threshold, severity, evaluation_periods,
datapoints_to_alarm, min_invocations, enabled): a function override beats a tag
override, which beats the rule's default. When the function carries several tags that
have overrides (``tag_overrides`` keyed by different tag keys), the tag key listed
first in ``tag_overrides`` wins for a field both set; fields set by only one of them
apply as they are. ``enabled: false`` at the winning level removes the rule for the
function (and ``enabled: true`` brings back a rule disabled by default).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from dashboard.config.settings import AlertRule, AlertSettings, ConfigError, RuleOverride

__all__ = ["effective_rules"]


def effective_rules(settings: AlertSettings, *, function: str, tags: Mapping[str, str] | None) -> list[AlertRule]:
    """The enabled rules of ``function`` (in config order) with its overrides applied.

    Raises :class:`~dashboard.config.settings.ConfigError` when the overrides together leave a
    rule invalid (datapoints_to_alarm above evaluation_periods).
    """
    tags = tags if isinstance(tags, Mapping) else {}
    # Lowest precedence first: tag keys in reverse config order, so the first key is applied last.
    tag_layers: list[Mapping[str, RuleOverride]] = [
        values[str(tags[key])] for key, values in reversed(settings.tag_overrides.items()) if key in tags and str(tags[key]) in values
    ]
    fn_layer = settings.function_overrides.get(function, {})
    out: list[AlertRule] = []
    for rule in settings.rules:
        layers = [layer[rule.name] for layer in tag_layers if rule.name in layer]
        if rule.name in fn_layer:
            layers.append(fn_layer[rule.name])
        changes: dict[str, object] = {}
        for o in layers:
            changes.update(o.model_dump(exclude_none=True))
        if not changes.get("enabled", rule.enabled):
            continue
        if not changes:
            out.append(rule)
            continue
        try:
            out.append(AlertRule.model_validate({**rule.model_dump(), **changes}))
        except ValidationError as e:
            reason = str(e.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
            raise ConfigError(
                f"alerts: rule {rule.name!r} for function {function!r}: with its tag and function overrides, {reason}"
            ) from None
    return out
