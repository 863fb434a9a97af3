"""Fixtures for the reliability tests: a clean Prefect environment, fast backoff, fault tools.

The client reads PREFECT_* variables when it is made, so every test starts without any from the
real environment (PREFECT_SDK_* ones, which configure the test servers, are kept).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefect_sdk import _policy
from tests.support.fixtures import fast_backoff, isolated_prefect_env, kind, scripted

__all__ = ["fast_backoff", "isolated_prefect_env", "kind", "scripted"]


@pytest.fixture(autouse=True)
def prefect_home(isolated_prefect_env: Path) -> Path:
    """Every reliability test runs with the isolated Prefect environment."""
    return isolated_prefect_env


@pytest.fixture
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of 50, 100, 200, 400, 400 ... ms instead of 2, 4, 8 ... s.

    Short, but growing: SQLite under concurrent writes answers 503 ("database is locked")
    without Retry-After, and retries sent at once would only meet the lock again.
    """

    def backoff(retry_number: int, jitter_factor: float, rng: object) -> float:
        return min(0.4, 0.05 * 2**retry_number)

    monkeypatch.setattr(_policy, "backoff_delay", backoff)


class Capture(logging.Handler):
    """Keeps every record of the loggers it is attached to, formatted, exception text included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def messages(self, logger: str) -> list[str]:
        """Messages of `logger` and of the loggers below it."""
        return [
            r.getMessage()
            for r in self.records
            if r.name == logger or r.name.startswith(logger + ".")
        ]


LOGGERS = ("", "prefect_sdk", "httpx", "httpcore")


@pytest.fixture
def captured_logs() -> Iterator[Capture]:
    """Every record of the root, prefect_sdk, httpx and httpcore loggers, at DEBUG."""
    capture = Capture()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG)
        if name:
            logger.propagate = False  # each record reaches the capture once, at its own logger
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)
            logger.propagate = propagate


RETRY_LINE = re.compile(r"^(?P<method>\S+) (?P<url>\S+): (?P<reason>.+), retry \d+ in (?P<d>\S+)s$")


class RetryLog(logging.Handler):
    """The retry lines the prefect_sdk logger writes at DEBUG."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.times: list[float] = []  # time.monotonic() when each line was written

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle() holds the handler's own lock around emit().
        self.lines.append(record.getMessage())
        self.times.append(time.monotonic())

    def timed_retries(self) -> list[tuple[float, re.Match[str]]]:
        """Each retry line, parsed, with when it was written."""
        return [
            (when, m)
            for when, line in zip(self.times, self.lines, strict=True)
            if (m := RETRY_LINE.match(line))
        ]

    def retries(self) -> list[re.Match[str]]:
        """Each retry line, parsed: method, url, reason, d (the wait, in seconds)."""
        return [m for line in self.lines if (m := RETRY_LINE.match(line))]


@pytest.fixture
def retry_log() -> Iterator[RetryLog]:
    logger = logging.getLogger("prefect_sdk")
    handler = RetryLog()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
