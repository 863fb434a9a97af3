"""Fixtures shared by the test folders that drive clients against scripted or proxied servers.

A conftest imports the ones it uses (pytest finds fixtures by name in a conftest module).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefect_sdk import _policy
from tests.support.scripted_server import ScriptedServer


@pytest.fixture
def isolated_prefect_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PREFECT_* setting from outside (the test suite's own PREFECT_SDK_* stay); PREFECT_HOME
    is an empty tmp dir; retry jitter is off, so waits are exactly what the policy asks for."""
    for name in list(os.environ):
        if name.startswith("PREFECT_") and not name.startswith("PREFECT_SDK_"):
            monkeypatch.delenv(name)
    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("PREFECT_CLIENT_RETRY_JITTER_FACTOR", "0")
    return home


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client a test drives: SyncPrefectClient or PrefectClient."""
    return str(request.param)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff waits of 10 ms, so a retry without Retry-After costs nothing (and shows up
    as a short gap when a test checks that Retry-After, not backoff, set the wait)."""
    monkeypatch.setattr(_policy, "BACKOFF_BASE", 0.01)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    """A running ScriptedServer on loopback."""
    with ScriptedServer() as running:
        yield running
