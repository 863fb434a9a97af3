"""`python -m bench.keepalive`: how many connections one async client opens under concurrency.

Starts a real server, then runs `--calls` `read_flow` calls from `--tasks` tasks on one
PrefectClient, once with the default pool (16 connections, 8 kept alive) and once with all 16
kept alive, `--rounds` times in turn. Prints the wall time and the connections each run
opened (counted at the pool's network backend), so the README's advice can be checked.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from prefect_sdk import PrefectClient, SyncPrefectClient
from prefect_sdk.client import POOL_LIMITS

KEEP_ALL = httpx.Limits(
    max_connections=POOL_LIMITS.max_connections,
    max_keepalive_connections=POOL_LIMITS.max_connections,
    keepalive_expiry=POOL_LIMITS.keepalive_expiry,
)


class _Counted:
    """A network backend that counts the connections it opens."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.opened = 0

    async def connect_tcp(self, *args: object, **kwargs: object) -> object:
        self.opened += 1
        return await self.inner.connect_tcp(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def one_run(
    api_url: str, limits: httpx.Limits, ids: list[uuid.UUID], calls: int, tasks: int
) -> tuple[float, int]:
    async with PrefectClient(api_url, httpx_settings={"limits": limits}) as client:
        pool = client._http._transport.inner._pool  # the httpcore pool the client built
        counted = _Counted(pool._network_backend)
        pool._network_backend = counted
        numbers = iter(range(calls))

        async def worker() -> None:
            for number in numbers:  # shared: each number is taken by one task
                flow = await client.read_flow(ids[number % len(ids)])
                assert flow.id == ids[number % len(ids)]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return time.perf_counter() - started, counted.opened


async def one_raw_run(
    api_url: str, limits: httpx.Limits, ids: list[uuid.UUID], calls: int, tasks: int
) -> tuple[float, int]:
    """The same calls through a bare httpx.AsyncClient: is the pool's behaviour httpcore's?"""
    async with httpx.AsyncClient(base_url=api_url, limits=limits) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        counted = _Counted(pool._network_backend)
        pool._network_backend = counted
        numbers = iter(range(calls))

        async def worker() -> None:
            for number in numbers:
                response = await client.get(f"/flows/{ids[number % len(ids)]}")
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return time.perf_counter() - started, counted.opened


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keepalive", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from tests.support.server import start_prefect_server

    results: dict[str, list[tuple[float, int]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="prefect-sdk-keepalive-") as scratch,
        start_prefect_server(home=Path(scratch) / "server") as server,
    ):
        with SyncPrefectClient(server.api_url) as client:
            ids = [client.create_flow_from_name(f"keepalive-{i}") for i in range(20)]
        for _ in range(args.rounds):
            for kind in ("prefect_sdk", "raw httpx"):
                for limits in (POOL_LIMITS, KEEP_ALL):
                    run = one_run if kind == "prefect_sdk" else one_raw_run
                    measured = asyncio.run(run(server.api_url, limits, ids, args.calls, args.tasks))
                    label = f"{kind}, 16 connections, {limits.max_keepalive_connections} kept alive"
                    results.setdefault(label, []).append(measured)
    print(f"{args.calls} read_flow calls from {args.tasks} tasks on one async client:")
    for label, runs in results.items():
        walls = [wall for wall, _ in runs]
        opened = [count for _, count in runs]
        print(
            f"  {label}: median {statistics.median(walls):.2f} s "
            f"(runs {', '.join(f'{w:.2f}' for w in walls)}); connections opened {opened}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
