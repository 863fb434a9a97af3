"""`python -m bench.keepalive`: how many connections one async client opens under concurrency.

Starts a real server, then runs `--calls` `read_flow` calls from `--tasks` tasks on one
PrefectClient, once with Prefect's own client's pool (16 connections, 8 kept alive) and once with
this SDK's default (all 16 kept alive), `--rounds` times in turn. Prints the wall time and the connections each run
opened (counted at the pool's network backend, as the load test counts them), so the README's advice can be checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from prefect_sdk import PrefectClient, SyncPrefectClient
from prefect_sdk.client import POOL_LIMITS
from tests.support.sockets import count_sockets

# Prefect's own client's pool: 16 connections, 8 of them kept alive.
PREFECTS_POOL = httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=25)


async def one_run(
    sdk: bool, api_url: str, limits: httpx.Limits, ids: list[uuid.UUID], calls: int, tasks: int
) -> tuple[float, int]:
    """`calls` reads of a flow from `tasks` tasks on one PrefectClient (`sdk`) or one bare
    httpx.AsyncClient (is the pool's behaviour httpcore's?): wall time, connections opened."""
    async with contextlib.AsyncExitStack() as stack:
        if sdk:
            client = await stack.enter_async_context(
                PrefectClient(api_url, httpx_settings={"limits": limits})
            )
            pool = client._http._transport.inner._pool  # the httpcore pool the client built

            async def read(flow_id: uuid.UUID) -> None:
                assert (await client.read_flow(flow_id)).id == flow_id

        else:
            raw = await stack.enter_async_context(
                httpx.AsyncClient(base_url=api_url, limits=limits)
            )
            pool = raw._transport._pool  # type: ignore[attr-defined]

            async def read(flow_id: uuid.UUID) -> None:
                assert (await raw.get(f"/flows/{flow_id}")).status_code == 200

        sockets = count_sockets(pool)
        numbers = iter(range(calls))

        async def worker() -> None:
            for number in numbers:  # shared: each number is taken by one task
                await read(ids[number % len(ids)])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return time.perf_counter() - started, sockets.opened


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
                for limits in (PREFECTS_POOL, POOL_LIMITS):
                    measured = asyncio.run(
                        one_run(
                            kind == "prefect_sdk",
                            server.api_url,
                            limits,
                            ids,
                            args.calls,
                            args.tasks,
                        )
                    )
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
