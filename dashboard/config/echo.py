"""How an error message shows a value it refuses: never the whole of it.

A refused value comes from a person or a file (``--range``, ``?range=``, a key of config.yaml) and can be
100 kB long, or a list that YAML aliases expand a billion times. Every message shows it through :func:`echo`
(its ``repr``, bounded) or :func:`cut` (text, bounded), so an error stays one short line.
"""

from __future__ import annotations

import reprlib

__all__ = ["LIMIT", "cut", "echo"]

LIMIT = 60  # characters of a refused value a message shows, then "…"

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 2, 4, 4, 4, 4
_REPR.maxlong = _REPR.maxother = _REPR.maxstring = LIMIT


def cut(text: str, limit: int = LIMIT) -> str:
    """``text`` cut to its first ``limit`` characters and "…" when it is longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def echo(value: object) -> str:
    """``value`` as a message quotes it: ``repr`` (quotes, escaped control characters) of at most its first
    :data:`LIMIT` characters and "…"; a list, mapping or number by reprlib's bounded ``repr``, cut alike.

    >>> echo("2w")
    "'2w'"
    >>> echo("9" * 100)
    "'999999999999999999999999999999999999999999999999999999999999…'"
    """
    if isinstance(value, str):
        return repr(cut(value))
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int beyond Python's 4,300-digit str() limit
        text = "a number of more than 4,300 digits" if isinstance(value, int) else type(value).__name__
    return cut(text)
