"""Fixtures for the client-core tests: a clean Prefect environment and a scripted server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefect_sdk import _policy
from tests.support.scripted_server import ScriptedServer


@pytest.fixture(autouse=True)
def prefect_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PREFECT_* variable from the real environment; PREFECT_HOME is an empty tmp dir.

    Retry jitter is off so that waits are exactly what the policy asks for.
    """
    for name in list(os.environ):
        if name.startswith("PREFECT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("PREFECT_CLIENT_RETRY_JITTER_FACTOR", "0")
    return home


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client a test drives: SyncPrefectClient or PrefectClient."""
    return str(request.param)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff waits of 10 ms, so a retry without Retry-After costs nothing (and shows up
    as a short gap when a test checks that Retry-After, not backoff, set the wait)."""
    monkeypatch.setattr(_policy, "BACKOFF_BASE", 0.01)
