"""The in-process server under the concurrency a real one takes: every write made, every error
the SDK's own.

Prefect's app answers a locked SQLite database with a retryable 503 (its exception handler);
the in-process transport must hand that answer to the client, as a port would, and never let
the app's own exception reach the caller.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from prefect_sdk import PrefectClient, PrefectSDKError, SyncPrefectClient, get_client

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def user_settings(prefect_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings a new user has: the default retry jitter (the isolated env turns it off)."""
    monkeypatch.delenv("PREFECT_CLIENT_RETRY_JITTER_FACTOR", raising=False)
    return prefect_home


async def test_100_concurrent_creates_in_process(user_settings: Path) -> None:
    async with get_client() as client:
        flow_id = await client.create_flow_from_name("concurrent-async")
        results = await asyncio.gather(
            *(client.create_flow_run(flow_id) for _ in range(100)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, f"{len(failures)} of 100 failed, e.g. {failures[0]!r}"
        assert len({r.id for r in results}) == 100  # type: ignore[union-attr]
        made = await client.count_flow_runs(flow_filter={"id": {"any_": [str(flow_id)]}})
        assert made == 100


def test_10_threads_of_10_creates_in_process(user_settings: Path) -> None:
    results: list[Any] = []
    lock = threading.Lock()
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("concurrent-sync")

        def worker() -> None:
            for _ in range(10):
                try:
                    outcome: Any = client.create_flow_run(flow_id)
                except BaseException as error:  # noqa: BLE001 - counted below
                    outcome = error
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=worker) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, f"{len(failures)} of 100 failed, e.g. {failures[0]!r}"
        assert len({r.id for r in results}) == 100
        assert client.count_flow_runs(flow_filter={"id": {"any_": [str(flow_id)]}}) == 100


def raising_app() -> FastAPI:
    """An app whose route raises, with no handler of its own for it."""
    app = FastAPI()

    @app.get("/api/admin/version")
    async def version() -> str:
        raise LookupError("the app broke: secret-free detail")

    return app


async def test_an_exception_inside_the_in_process_app_is_the_sdks_error(kind: str) -> None:
    client_type = SyncPrefectClient if kind == "sync" else PrefectClient
    client = client_type(raising_app())
    if isinstance(client, SyncPrefectClient):
        with client, pytest.raises(PrefectSDKError) as caught:
            client.api_version()
    else:
        async with client:
            with pytest.raises(PrefectSDKError) as caught:
                await client.api_version()
    message = str(caught.value)
    assert "\n" not in message
    assert "GET /api/admin/version" in message.replace("http://ephemeral-prefect", ""), message
    assert "LookupError" in message and "the app broke" in message, message


async def test_subscribe_logs_in_process(kind: str, user_settings: Path) -> None:
    import uuid

    client = get_client(sync_client=kind == "sync")
    marker = f"in-process log {uuid.uuid4().hex[:8]}"
    if isinstance(client, SyncPrefectClient):
        with client:
            run = client.create_flow_run(client.create_flow_from_name("logs-in-process"))
            got = _first_log(client, run.id, marker)
    else:
        async with client:
            run = await client.create_flow_run(await client.create_flow_from_name("logs-a"))
            got = await _first_log_async(client, run.id, marker)
    assert got == marker


def _log(flow_run_id: Any, message: str) -> dict[str, Any]:
    from datetime import datetime, timezone

    return {
        "name": "test",
        "level": 20,
        "message": message,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "flow_run_id": str(flow_run_id),
    }


def _first_log(client: SyncPrefectClient, flow_run_id: Any, marker: str) -> str:
    stream = client.subscribe_logs({"flow_run_id": {"any_": [str(flow_run_id)]}})
    sender = threading.Timer(1.0, client.create_logs, ([_log(flow_run_id, marker)],))
    sender.start()
    try:
        for log in stream:
            return str(log.message)
    finally:
        sender.cancel()
        stream.close()  # type: ignore[attr-defined]
    raise AssertionError("the stream ended")


async def _first_log_async(client: PrefectClient, flow_run_id: Any, marker: str) -> str:
    stream = client.subscribe_logs({"flow_run_id": {"any_": [str(flow_run_id)]}})

    async def send_later() -> None:
        await asyncio.sleep(1.0)
        await client.create_logs([_log(flow_run_id, marker)])

    sender = asyncio.ensure_future(send_later())
    started = time.monotonic()
    try:
        async for log in stream:
            return str(log.message)
    finally:
        sender.cancel()
        await stream.aclose()  # type: ignore[attr-defined]
    raise AssertionError(f"the stream ended after {time.monotonic() - started:.1f}s")
