"""Fixtures for the client-core tests: a clean Prefect environment and a scripted server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fixtures import fast_backoff, isolated_prefect_env, kind, scripted
from tests.support.scripted_server import ScriptedServer

__all__ = ["fast_backoff", "isolated_prefect_env", "kind", "scripted"]


@pytest.fixture(autouse=True)
def prefect_home(isolated_prefect_env: Path) -> Path:
    """Every core test runs with the isolated Prefect environment."""
    return isolated_prefect_env


@pytest.fixture
def server(scripted: ScriptedServer) -> ScriptedServer:
    """The core tests' name for the scripted server."""
    return scripted
