"""Check answers against botocore's output shapes (tests always; at runtime behind a flag).

:func:`check` runs botocore's own ``ParamValidator`` (what ``botocore.stub.Stubber``
uses; it accepts datetimes for timestamps) and then walks the shape for what it does
not check: enum members, string lengths and numeric ranges.
"""

from __future__ import annotations

import os
import re

from botocore.validate import ParamValidator

__all__ = ["check", "AnswerInvalid", "set_validation", "validation_enabled"]

_enabled = os.environ.get("LAMBDA_LENS_SIM_VALIDATE", "").lower() in ("1", "true", "yes")


class AnswerInvalid(Exception):
    """The simulator produced an answer that does not fit the operation's output shape (a sim bug)."""


def set_validation(on: bool) -> None:
    """Validate every answer at runtime (also: env LAMBDA_LENS_SIM_VALIDATE=1)."""
    global _enabled
    _enabled = bool(on)


def validation_enabled() -> bool:
    return _enabled


def check(operation_model, answer: dict) -> None:
    """Raise :class:`AnswerInvalid` unless ``answer`` fits the operation's output shape."""
    shape = operation_model.output_shape
    if shape is None:
        if answer:
            raise AnswerInvalid(f"{operation_model.name} has no output, got {sorted(answer)}")
        return
    report = ParamValidator().validate(answer, shape)
    if report.has_errors():
        raise AnswerInvalid(f"{operation_model.name}: {report.generate_report()}")
    problems: list[str] = []
    _walk(shape, answer, operation_model.name, problems)
    if problems:
        raise AnswerInvalid(f"{operation_model.name}: " + "; ".join(problems[:10]))


def _walk(shape, value, path: str, problems: list[str]) -> None:
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _walk(member, value[name], f"{path}.{name}", problems)
    elif t == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items > max {meta['max']}")
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", problems)
    elif t == "map":
        for k, v in value.items():
            _walk(shape.value, v, f"{path}[{k!r}]", problems)
    elif t == "string":
        enum = shape.enum
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} not in {list(enum)[:8]}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: length {len(value)} > {meta['max']}")
        pattern = meta.get("pattern")
        if pattern and len(pattern) < 400:
            try:
                if re.fullmatch(pattern.lstrip("^").rstrip("$"), value) is None and re.search(pattern, value) is None:
                    problems.append(f"{path}: {value!r} does not match {pattern!r}")
            except re.error:
                pass  # a Java-only regex construct: botocore does not check patterns either
    elif t in ("integer", "long", "double", "float"):
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: {value} < min {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} > max {meta['max']}")
