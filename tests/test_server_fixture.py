"""Tests for the real-server test fixture (tests/support/server.py)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support.server import TEST_DATABASE_URL_ENV, PrefectServer, start_prefect_server


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10.0, trust_env=False)


def test_fixture_server_is_healthy(prefect_server: PrefectServer, api_url: str) -> None:
    assert api_url == prefect_server.api_url
    assert api_url.startswith("http://127.0.0.1:")
    assert api_url.endswith("/api")
    response = _get(f"{api_url}/health")
    assert response.status_code == 200
    assert response.json() is True
    assert prefect_server.startup_seconds > 0


def test_fixture_server_version(
    prefect_server: PrefectServer, api_url: str, expected_server_version: str
) -> None:
    response = _get(f"{api_url}/admin/version")
    assert response.status_code == 200
    assert response.json() == prefect_server.version == expected_server_version


def test_pinned_server_accepts_a_null_field_with_a_default(api_url: str) -> None:
    """Prefect's own client sends `"sort": null`; with fastapi 0.151+ the server answers 422.

    This is why the `server` extra pins fastapi below 0.151 (see pyproject.toml).
    """
    response = httpx.post(f"{api_url}/flows/filter", json={"sort": None, "limit": 1}, timeout=10.0)
    assert response.status_code == 200, response.text


def test_fixture_server_uses_throwaway_home(prefect_server: PrefectServer) -> None:
    assert prefect_server.log_path == prefect_server.home / "server.log"
    assert prefect_server.log_path.is_file()
    assert prefect_server.process.poll() is None


def test_broken_database_raises_with_log_tail(tmp_path: Path) -> None:
    bad_url = "sqlite+aiosqlite:////nonexistent-dir/x/y.db"
    with pytest.raises(RuntimeError) as excinfo:
        start_prefect_server(
            home=tmp_path,
            timeout=30,
            extra_env={"PREFECT_SERVER_DATABASE_CONNECTION_URL": bad_url},
        )
    summary, _, tail = str(excinfo.value).partition("\n")
    assert "Prefect server at http://127.0.0.1:" in summary
    assert str(tmp_path / "server.log") in summary
    assert "unable to open database file" in tail
    assert len(tail.splitlines()) > 1


def test_stop_is_idempotent(tmp_path: Path) -> None:
    server = start_prefect_server(home=tmp_path, timeout=90)
    try:
        assert _get(f"{server.api_url}/health").status_code == 200
    finally:
        server.stop()
    assert server.process.poll() is not None
    server.stop()
    with pytest.raises(httpx.TransportError):
        _get(f"{server.api_url}/health")


@pytest.mark.postgres
def test_postgres_server_is_healthy(tmp_path: Path, expected_server_version: str) -> None:
    database_url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not database_url:
        pytest.skip(f"{TEST_DATABASE_URL_ENV} is not set (run `bash scripts/postgres.sh start`)")
    with start_prefect_server(home=tmp_path, database_url=database_url) as server:
        assert _get(f"{server.api_url}/health").status_code == 200
        assert _get(f"{server.api_url}/admin/version").json() == expected_server_version
