"""Text from AWS (names, tags) or the URL, made safe for where it is shown."""

from __future__ import annotations

import re

__all__ = ["escape_markdown"]

_MD_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: object) -> str:
    """Text made literal inside Streamlit markdown: every markdown special (and ``<``, ``>``, ``&``,
    ``:`` of HTML and icon/emoji shortcodes) backslash-escaped."""
    return _MD_SPECIALS.sub(r"\\\1", str(text))
