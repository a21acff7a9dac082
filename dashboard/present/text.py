"""Text from AWS (names, tags) or the URL, made safe for where it is shown."""

from __future__ import annotations

import logging
import re

__all__ = ["escape_markdown", "one_line", "OneLineWriter", "keep_logs_one_line"]

_MD_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape_markdown(text: object) -> str:
    """Text made literal inside Streamlit markdown: every markdown special (and ``<``, ``>``, ``&``,
    ``:`` of HTML and icon/emoji shortcodes) backslash-escaped."""
    return _MD_SPECIALS.sub(r"\\\1", str(text))


def one_line(text: object) -> str:
    """Text for a terminal or a log line: control characters (a CR/LF that would forge a second ``error:`` line,
    an ESC that would drive the terminal) shown escaped, e.g. ``\\r\\n``; everything else unchanged."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


class OneLineWriter:
    """A text stream for messages written a line at a time (the CLI's stderr): each write's text is made
    :func:`one_line`, its final newline kept, so no value inside a message can start a line of its own."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        body, nl = (text[:-1], "\n") if text.endswith("\n") else (text, "")
        return self._stream.write(one_line(body) + nl)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


_FACTORY_INSTALLED = False


def keep_logs_one_line() -> None:
    """Every log record of ``aws.*`` and ``dashboard.*`` gets a one-line message (:func:`one_line`), whatever
    upstream text it carries and whoever configured the handlers (the CLI, the scheduler, Streamlit)."""
    global _FACTORY_INSTALLED
    if _FACTORY_INSTALLED:
        return
    base = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        if record.name.split(".", 1)[0] in ("aws", "dashboard"):
            message = record.getMessage()
            if not message.isprintable():
                record.msg, record.args = one_line(message), ()
        return record

    logging.setLogRecordFactory(factory)
    _FACTORY_INSTALLED = True
