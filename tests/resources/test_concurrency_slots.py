"""`client.concurrency` and `client.rate_limit` on both clients, against the real server.

The context manager differs per client (`with` / `async with`), so its tests are written for
each; `rate_limit` is an ordinary method and uses the two-client `client` fixture. Slots are
checked on the server (`read_global_concurrency_limit_by_name(...).active_slots`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from prefect_sdk import (
    ConcurrencyLease,
    ConcurrencyLeaseLost,
    ConcurrencyLimitMissing,
    ConcurrencySlotAcquisitionTimeout,
    PrefectClient,
    PrefectHTTPStatusError,
    SyncPrefectClient,
)
from prefect_sdk._resources import concurrency_slots
from tests.support.scripted_server import Reply, ScriptedServer

# The server's shortest lease; renewals are made to come every RENEW_EVERY seconds instead of
# at 3/4 of it, so a test can see several.
SHORT_LEASE = 60.0
RENEW_EVERY = 0.2


@pytest.fixture
def sync_client(api_url: str) -> Iterator[SyncPrefectClient]:
    with SyncPrefectClient(api_url) as client:
        yield client


@pytest.fixture
def fast_renewal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(concurrency_slots, "RENEWAL_FRACTION", RENEW_EVERY / SHORT_LEASE)


def make_limit(client: Any, name: str, limit: int, decay: float | None = None) -> str:
    body: dict[str, Any] = {"name": name, "limit": limit}
    if decay is not None:
        body["slot_decay_per_second"] = decay
    client.create_global_concurrency_limit(body)
    return name


def active(client: SyncPrefectClient, name: str) -> int:
    return client.read_global_concurrency_limit_by_name(name).active_slots


def wait_until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


# ------------------------------------------------------------------------- sync client


def test_sync_holds_then_releases_on_exit_and_on_error(
    sync_client: SyncPrefectClient, unique: str
) -> None:
    db, api = (
        make_limit(sync_client, f"{unique}-db", 3),
        make_limit(sync_client, f"{unique}-api", 2),
    )
    with sync_client.concurrency([db, api], occupy=2) as lease:
        assert isinstance(lease, ConcurrencyLease) and lease.lease_id is not None
        assert sorted(limit.name for limit in lease.limits) == sorted([db, api])
        assert (active(sync_client, db), active(sync_client, api)) == (2, 2)
    assert (active(sync_client, db), active(sync_client, api)) == (0, 0)

    with pytest.raises(RuntimeError, match="boom"), sync_client.concurrency(db):  # a bare name
        assert active(sync_client, db) == 1
        raise RuntimeError("boom")
    assert active(sync_client, db) == 0

    held = sync_client.concurrency(db)
    with held:
        with pytest.raises(RuntimeError, match="entered twice"):
            held.__enter__()
        assert active(sync_client, db) == 1  # the second entry took nothing
    assert active(sync_client, db) == 0


def test_sync_renews_the_lease_while_held(
    sync_client: SyncPrefectClient, unique: str, fast_renewal: None
) -> None:
    name = make_limit(sync_client, f"{unique}-renew", 2)
    with sync_client.concurrency(name, occupy=2, lease_duration=SHORT_LEASE) as lease:
        assert lease.lease_id is not None
        wait_until(lambda: lease.renewals >= 4)
        assert active(sync_client, name) == 2 and lease.lost is None
        sync_client.renew_concurrency_lease(lease.lease_id, SHORT_LEASE)  # still the server's
    assert active(sync_client, name) == 0
    renewals = lease.renewals
    time.sleep(3 * RENEW_EVERY)
    assert lease.renewals == renewals  # the renewing stopped with the block
    with pytest.raises(PrefectHTTPStatusError, match="410"):
        sync_client.renew_concurrency_lease(lease.lease_id, SHORT_LEASE)  # released: gone


def test_sync_timeout_and_max_retries(sync_client: SyncPrefectClient, unique: str) -> None:
    name = make_limit(sync_client, f"{unique}-full", 1)
    with sync_client.concurrency(name):
        started = time.monotonic()
        with (
            pytest.raises(ConcurrencySlotAcquisitionTimeout, match=r"within 1 s") as caught,
            sync_client.concurrency(name, timeout_seconds=1),
        ):
            pytest.fail("acquired a slot of a full limit")
        assert 0.9 <= time.monotonic() - started < 5
        assert isinstance(caught.value, TimeoutError) and caught.value.names == [name]
        started = time.monotonic()
        with (
            pytest.raises(ConcurrencySlotAcquisitionTimeout, match="after 0 retries"),
            sync_client.concurrency(name, max_retries=0),
        ):
            pytest.fail("acquired a slot of a full limit")
        assert time.monotonic() - started < 2
        assert active(sync_client, name) == 1
    assert active(sync_client, name) == 0


def test_sync_strict_and_missing_limits(
    sync_client: SyncPrefectClient, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = make_limit(sync_client, f"{unique}-there", 1)
    missing = f"{unique}-missing"
    with (
        pytest.raises(ConcurrencyLimitMissing, match=missing) as caught,
        sync_client.concurrency([name, missing], strict=True),
    ):
        pytest.fail("entered with a missing limit under strict")
    assert caught.value.missing == [missing]
    assert active(sync_client, name) == 0  # the slot of the limit that exists was given back

    with caplog.at_level(logging.WARNING, logger="prefect_sdk"):
        with sync_client.concurrency(missing) as lease:
            assert lease.lease_id is None and lease.limits == []
        with sync_client.concurrency([name, missing]) as lease:
            assert active(sync_client, name) == 1 and [x.name for x in lease.limits] == [name]
    assert active(sync_client, name) == 0
    assert sum(missing in r.getMessage() for r in caplog.records if r.levelname == "WARNING") == 2


def test_sync_lost_lease_is_logged_and_raised_when_told(
    sync_client: SyncPrefectClient,
    unique: str,
    fast_renewal: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = make_limit(sync_client, f"{unique}-lost", 1)
    with (
        caplog.at_level(logging.WARNING, logger="prefect_sdk"),
        sync_client.concurrency(name, lease_duration=SHORT_LEASE) as lease,
    ):
        assert lease.lease_id is not None
        sync_client.release_concurrency_slots_with_lease(lease.lease_id)  # as if it expired
        wait_until(lambda: lease.lost is not None)
    assert isinstance(lease.lost, PrefectHTTPStatusError) and lease.lost.status_code == 410
    assert any("could not be renewed" in r.getMessage() for r in caplog.records)

    with (
        pytest.raises(ConcurrencyLeaseLost, match="was lost"),
        sync_client.concurrency(name, lease_duration=SHORT_LEASE, strict=True) as lease,
    ):
        assert lease.lease_id is not None
        sync_client.release_concurrency_slots_with_lease(lease.lease_id)
        wait_until(lambda: lease.lost is not None)
    assert active(sync_client, name) == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"names": []}, "names must be"),
        ({"names": [""]}, "names"),
        ({"names": "x", "occupy": 0}, "occupy must be"),
        ({"names": "x", "timeout_seconds": -1}, "timeout_seconds must be"),
        ({"names": "x", "lease_duration": 0}, "lease_duration must be"),
        ({"names": "x", "max_retries": -1}, "max_retries must be"),
    ],
)
def test_bad_arguments_are_value_errors(
    sync_client: SyncPrefectClient, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sync_client.concurrency(**arguments)


# ------------------------------------------------------------------------ async client


async def test_async_releases_on_exit_error_and_cancellation(
    api_url: str, sync_client: SyncPrefectClient, unique: str
) -> None:
    name = make_limit(sync_client, f"{unique}-async", 2)
    async with PrefectClient(api_url) as client:
        async with client.concurrency(name, occupy=2) as lease:
            assert lease.lease_id is not None and active(sync_client, name) == 2
        assert active(sync_client, name) == 0

        with pytest.raises(RuntimeError, match="boom"):
            async with client.concurrency(name):
                raise RuntimeError("boom")
        assert active(sync_client, name) == 0

        entered = asyncio.Event()

        async def hold() -> None:
            async with client.concurrency(name):
                entered.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(hold())
        await asyncio.wait_for(entered.wait(), 10)
        assert active(sync_client, name) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert active(sync_client, name) == 0


async def test_async_renews_the_lease_while_held(
    api_url: str, sync_client: SyncPrefectClient, unique: str, fast_renewal: None
) -> None:
    name = make_limit(sync_client, f"{unique}-arenew", 1)
    async with PrefectClient(api_url) as client:
        async with client.concurrency(name, lease_duration=SHORT_LEASE) as lease:
            assert lease.lease_id is not None
            while lease.renewals < 4:
                await asyncio.sleep(0.05)
            assert active(sync_client, name) == 1 and lease.lost is None
        assert active(sync_client, name) == 0
        renewals = lease.renewals
        await asyncio.sleep(3 * RENEW_EVERY)
        assert lease.renewals == renewals


async def test_async_timeout(api_url: str, sync_client: SyncPrefectClient, unique: str) -> None:
    name = make_limit(sync_client, f"{unique}-afull", 1)
    async with PrefectClient(api_url) as client, client.concurrency(name):
        started = time.monotonic()
        with pytest.raises(ConcurrencySlotAcquisitionTimeout, match="within 1 s"):
            async with client.concurrency(name, timeout_seconds=1):
                pytest.fail("acquired a slot of a full limit")
        assert 0.9 <= time.monotonic() - started < 5
        with pytest.raises(ConcurrencyLimitMissing):
            async with client.concurrency(f"{unique}-none", strict=True):
                pytest.fail("entered with a missing limit under strict")
    assert active(sync_client, name) == 0


async def test_async_cancelled_while_waiting_leaks_no_slot(
    api_url: str, sync_client: SyncPrefectClient, unique: str
) -> None:
    name = make_limit(sync_client, f"{unique}-await", 1)
    async with PrefectClient(api_url) as client:
        with sync_client.concurrency(name):
            waiting = asyncio.create_task(client.concurrency(name).__aenter__())
            await asyncio.sleep(0.5)  # refused at least once, now waiting for a retry
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        await asyncio.sleep(2.5)  # past the Retry-After it was waiting for
        assert active(sync_client, name) == 0


async def test_async_cancelled_while_a_grant_is_in_flight_releases_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A real server answers too fast to cancel in between: a scripted one grants a lease after
    # a second, and the acquisition is cancelled before that answer arrives. The lease the
    # server granted must then be given back, though no caller is left to hold it.
    monkeypatch.setenv("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "false")
    lease_id = uuid.uuid4()
    granted = {
        "lease_id": str(lease_id),
        "limits": [{"id": str(uuid.uuid4()), "name": "db", "limit": 1}],
    }
    with ScriptedServer() as server:
        increment = "/api/v2/concurrency_limits/increment-with-lease"
        decrement = "/api/v2/concurrency_limits/decrement-with-lease"
        server.queue_for("POST", increment, Reply(200, json=granted, delay=1.0))
        server.queue_for("POST", decrement, Reply(204))
        async with PrefectClient(f"{server.url}/api") as client:
            waiting = asyncio.create_task(client.concurrency("db").__aenter__())
            await asyncio.sleep(0.3)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            deadline = time.monotonic() + 5
            while len(server.requests) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        routes = [(request.method, request.route) for request in server.requests]
        assert routes == [("POST", increment), ("POST", decrement)]
        assert server.requests[1].json() == {"lease_id": str(lease_id)}


def test_renewal_retries_a_server_error_then_gives_up(
    monkeypatch: pytest.MonkeyPatch, fast_renewal: None
) -> None:
    # A 500 is not retried by the transport; a renewal tries it again (here: 500 then 204, one
    # renewal), and after RENEWAL_ATTEMPTS failures in a row reports the lease lost.
    monkeypatch.setenv("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "false")
    monkeypatch.setattr(concurrency_slots, "RENEWAL_BACKOFF", 0.01)
    lease_id = uuid.uuid4()
    limit = {"id": str(uuid.uuid4()), "name": "db", "limit": 1}
    renew = f"/api/v2/concurrency_limits/leases/{lease_id}/renew"
    failing = Reply(500, json={"detail": "database is locked"})
    with ScriptedServer() as server:
        server.queue_for(
            "POST",
            "/api/v2/concurrency_limits/increment-with-lease",
            Reply(200, json={"lease_id": str(lease_id), "limits": [limit]}),
        )
        server.queue_for("POST", renew, failing, Reply(204), failing, failing, failing)
        server.queue_for("POST", "/api/v2/concurrency_limits/decrement-with-lease", Reply(204))
        with (
            SyncPrefectClient(f"{server.url}/api") as client,
            client.concurrency("db", lease_duration=SHORT_LEASE) as lease,
        ):
            wait_until(lambda: lease.lost is not None)
        assert lease.renewals == 1
        assert isinstance(lease.lost, PrefectHTTPStatusError) and lease.lost.status_code == 500
        routes = [request.route.rsplit("/", 1)[-1] for request in server.requests]
        assert routes == ["increment-with-lease"] + ["renew"] * 5 + ["decrement-with-lease"]


# ------------------------------------------------------------------- rate limit (both)


def test_rate_limit_waits_for_the_decay(client: Any, unique: str) -> None:
    name = make_limit(client, f"{unique}-rate", 2, decay=2.0)
    limits = client.rate_limit(name, occupy=2)
    assert [limit.name for limit in limits] == [name]
    with pytest.raises(ConcurrencySlotAcquisitionTimeout):
        client.rate_limit([name], occupy=2, timeout_seconds=0)
    started = time.monotonic()
    client.rate_limit(name, occupy=2)  # waits as the slots decay, 2 a second
    assert 0.3 <= time.monotonic() - started < 10
    with pytest.raises(ConcurrencyLimitMissing):
        client.rate_limit(f"{unique}-none", strict=True)
    assert client.rate_limit(f"{unique}-none") == []


@pytest.mark.parametrize("name", ["concurrency", "rate_limit"])
@pytest.mark.parametrize("client_type", [PrefectClient, SyncPrefectClient])
def test_parameters_come_in_prefects_order(name: str, client_type: type) -> None:
    # A call written for Prefect's `concurrency` / `rate_limit` means the same here: its
    # positional parameters, in its order; what only this SDK has is keyword-only.
    prefect_concurrency = pytest.importorskip("prefect.concurrency.asyncio")
    theirs = inspect.signature(getattr(prefect_concurrency, name)).parameters
    ours = inspect.signature(getattr(client_type("http://127.0.0.1:9/api"), name)).parameters
    positional = [p for p in ours.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional] == list(theirs)[: len(positional)]
    assert set(theirs) <= set(ours)
    for extra in set(ours) - set(theirs):
        assert ours[extra].kind is inspect.Parameter.KEYWORD_ONLY
