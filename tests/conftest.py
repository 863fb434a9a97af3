"""Shared pytest fixtures for the prefect-sdk test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.server import TEST_DATABASE_URL_ENV, PrefectServer, start_prefect_server

# --------------------------------------------------------------------------------------
# Real Prefect server (one per test session)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A ``prefect server start`` subprocess shared by the whole test session."""
    server = start_prefect_server(
        home=tmp_path_factory.mktemp("prefect-home"),
        database_url=os.environ.get(TEST_DATABASE_URL_ENV) or None,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api_url(prefect_server: PrefectServer) -> str:
    """``http://127.0.0.1:PORT/api`` of the session's Prefect server."""
    return prefect_server.api_url
