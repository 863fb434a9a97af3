"""Many concurrent requests through one client: all succeed, within the configured pool.

The client's TCP connections are counted twice:

- from the client's side, exactly: the network backend of the connection pool the client built
  is wrapped so that every socket it opens and closes is counted (most open at once, open now);
- from the server's side: a counting proxy (`FaultProxy` with no faults) between the client and
  the real server sees every connection arrive and, once the client closes, go away.

A note on what the proxy sees: httpcore 1.0.9 closes an idle connection whenever the pool holds
more connections than `max_keepalive_connections` (it counts all connections as idle:
encode/httpcore#1000), so with a keep-alive limit under the connection limit a busy pool opens
a new connection for nearly every request. The proxy notices a closed connection only when its
thread reads the end of it, a little later; so only the client's side can say exactly how many
were open at once.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from prefect_sdk import PrefectClient, SyncPrefectClient
from tests.reliability.fault_proxy import FaultProxy, without_server_retries
from tests.support.sockets import count_sockets

REQUESTS = 2_000
TASKS = 100
POOL = httpx.Limits(max_connections=8, max_keepalive_connections=4)
FLOWS = 20
CLOSE_BOUND = 5.0  # seconds within which the proxy must see every client connection closed


def make_flows(api_url: str, prefix: str) -> dict[uuid.UUID, str]:
    with SyncPrefectClient(api_url) as direct:
        names = [f"{prefix}-{i:02d}" for i in range(FLOWS)]
        return {direct.create_flow_from_name(name): name for name in names}


def work(flows: dict[uuid.UUID, str], number: int) -> tuple[str, Any]:
    """The `number`-th request: a read of one flow, or of the first 10 flows of the prefix."""
    ids = list(flows)
    if number % 2:
        return "read_flow", ids[number % len(ids)]
    return "read_flows", None


@pytest.mark.timeout(120)
async def test_2000_requests_from_100_tasks_stay_within_the_pool(api_url: str) -> None:
    prefix = f"load-{uuid.uuid4().hex[:8]}"
    flows = make_flows(api_url, prefix)
    name_filter = {"name": {"like_": prefix}}
    expected_first_ten = sorted(flows.values())[:10]
    numbers = iter(range(REQUESTS))
    done: Counter[str] = Counter()
    errors: list[BaseException] = []

    async def worker(client: PrefectClient) -> None:
        for number in numbers:  # shared: each number is taken by exactly one task
            op, flow_id = work(flows, number)
            try:
                if op == "read_flow":
                    flow = await client.read_flow(flow_id)
                    assert (flow.id, flow.name) == (flow_id, flows[flow_id])
                else:
                    rows = await client.read_flows(
                        flow_filter=name_filter, sort="NAME_ASC", limit=10
                    )
                    assert [row.name for row in rows] == expected_first_ten
            except Exception as error:
                errors.append(error)
            else:
                done[op] += 1

    started = time.monotonic()
    with FaultProxy(api_url) as proxy:
        async with PrefectClient(proxy.api_url, httpx_settings={"limits": POOL}) as client:
            sockets = count_sockets(client._http._transport.inner._pool)
            await asyncio.gather(*(worker(client) for _ in range(TASKS)))
            kept_alive = sockets.open
        open_after_close = sockets.open
        closed = proxy.wait_until_closed(CLOSE_BOUND)
        still_open = proxy.open_connections
        proxy_peak, accepted = proxy.peak_connections, proxy.accepted_connections
    elapsed = time.monotonic() - started
    # The server's own retryable answers (a 503 for a locked SQLite database) were sent again
    # by the client: only the answer that came through is the request's. (The reads have the
    # client's default timeout: none is slow enough to time out.)
    served = [
        e for e in without_server_retries(proxy.events, math.inf) if "/csrf-token" not in e.path
    ]

    assert not errors, [f"{type(e).__name__}: {e}" for e in errors[:5]]
    assert sum(done.values()) == REQUESTS
    assert done == Counter({"read_flow": REQUESTS // 2, "read_flows": REQUESTS // 2})
    # Each request reached the server once, and was answered 200.
    assert len(served) == REQUESTS
    assert Counter(e.status for e in served) == Counter({200: REQUESTS})
    # 100 tasks wanted a connection at once: the pool had its 8 open, never more.
    assert sockets.peak == POOL.max_connections, (sockets.peak, sockets.opened)
    assert sockets.opened == accepted  # the proxy saw every socket the client opened
    assert 1 <= kept_alive <= POOL.max_keepalive_connections
    # Closing the client closed every connection it had; the server's side saw them go.
    assert open_after_close == 0
    assert closed, f"{still_open} client connections still open {CLOSE_BOUND}s after close"
    print(
        f"\nload: {REQUESTS} requests from {TASKS} tasks in {elapsed:.1f}s "
        f"({REQUESTS / elapsed:.0f}/s); client sockets: peak {sockets.peak}, opened "
        f"{sockets.opened}, open before close {kept_alive}; proxy: peak {proxy_peak} "
        f"(lags closes), accepted {accepted}, open {CLOSE_BOUND}s after close {still_open}"
    )
