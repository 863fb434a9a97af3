"""Credentials kept out of what the SDK and the libraries it drives log.

At DEBUG, `websockets` logs a socket's handshake headers (`> authorization: Basic ...`) and
its frames (the `{"type": "auth", "token": ...}` a stream sends first), and `httpx` logs every
request's URL, with any user and password written in the API URL. One filter, on those loggers
and the SDK's own, rewrites such a record before any handler sees it: the values of the
credential headers, the token of an auth frame and a URL's user and password become `***`.

Importing this module installs it (the SDK imports it with the client: `_socket.py`). It costs
nothing while those loggers are not at DEBUG: a filter only sees records that are made.
"""

from __future__ import annotations

import logging
import re

REDACTED = "***"
# The loggers the filter is on (a logger's filter sees only the records logged on it, not those
# of the loggers below it, so each is named).
LOGGERS = (
    "prefect_sdk",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "websockets.client",
)
_HEADERS = r"(?:proxy-)?authorization|(?:set-)?cookie|prefect-csrf-token|x-api-key"
_REDACTIONS = (
    # A header line, "Authorization: Basic ...": the rest of the line.
    (re.compile(rf"(?im)\b({_HEADERS})(\s*:\s*)(?![\s'\"])[^\r\n]+"), rf"\1\2{REDACTED}"),
    # A quoted header, as in a headers list or dict: ('authorization', 'Basic ...').
    (
        re.compile(rf"(?i)(b?(['\"])(?:{_HEADERS})\2\s*[:,]\s*)(b?(['\"]))(?:(?!\4).)*\4"),
        rf"\1\3{REDACTED}\4",
    ),
    # The token of a JSON message, {"type": "auth", "token": "..."}.
    (re.compile(r'("token"\s*:\s*)"(?:[^"\\]|\\.)*"'), rf'\1"{REDACTED}"'),
    # A URL's user and password: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@'\"<>]*@"), rf"\1{REDACTED}@"),
)


def redact(text: str) -> str:
    """`text` without credential header values, auth tokens, or URL users and passwords."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its exception text) with `redact`; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format: the handler reports it, as it would
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            clean = redact(text)
            if clean != text:
                record.exc_text = clean
        return True


def install() -> None:
    """Put the filter on each of `LOGGERS` that does not have it yet."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


install()
