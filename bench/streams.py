"""`python -m bench.streams`: the event stream and waiting, measured against a real server.

- events/s through `subscribe_events`: a live subscription receiving `--events` events that
  another client emits over `/events/in` (first to last received);
- latency from a state change (`set_flow_run_state` sent) to its event on the stream;
- time to see a finished run: `wait_for_flow_run` following events vs polling (the websocket
  refused by a loopback proxy), from the moment the run is set COMPLETED to the call's return.

Medians of `--rounds`. Server and client on this machine: the figures include the server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from prefect_sdk import PrefectClient, SyncPrefectClient, states


async def throughput(api_url: str, count: int) -> float:
    """Events/s of a backfill: `count` stored events sent by the server as fast as it reads them
    (a live burst of more than 256 events overflows the server's per-subscriber queue, which
    then drops events: see the README)."""
    rid = f"bench.{uuid.uuid4().hex[:8]}"
    wanted = {"resource": {"id": [rid]}}
    async with PrefectClient(api_url) as client:
        events = [{"event": "bench.tick", "resource": {"prefect.resource.id": rid}}] * count
        await client.emit_events(events)
        while (await client.read_events(wanted)).total < count:
            await asyncio.sleep(0.5)
        got = 0
        started = time.perf_counter()
        async for _ in client.subscribe_events(wanted, backfill=True):
            got += 1
            if got == count:
                break
        return count / (time.perf_counter() - started)


async def latency(api_url: str, rounds: int) -> list[float]:
    async with PrefectClient(api_url) as client:
        flow_id = await client.create_flow_from_name("bench-latency")
        samples = []
        for _ in range(rounds):
            run = await client.create_flow_run(flow_id, state=states.Scheduled())
            seen = asyncio.Event()
            stamp: dict[str, float] = {}

            async def watch(
                run_id: uuid.UUID = run.id,
                stamp: dict[str, float] = stamp,
                seen: asyncio.Event = seen,
            ) -> None:
                wanted = {"resource": {"id": [f"prefect.flow-run.{run_id}"]}}
                async for event in client.subscribe_events(wanted, backfill=False):
                    if event.event == "prefect.flow-run.Pending":
                        stamp["seen"] = time.perf_counter()
                        seen.set()
                        return

            task = asyncio.create_task(watch())
            await asyncio.sleep(0.5)  # the subscription is open
            stamp["set"] = time.perf_counter()  # the event can come before the answer does
            await client.set_flow_run_state(run.id, states.Pending())
            await asyncio.wait_for(seen.wait(), 30)
            await task
            samples.append(stamp["seen"] - stamp["set"])
        return samples


def detect(api_url: str, rounds: int, *, polling: bool) -> list[float]:
    from tests.support.ws_proxy import SocketProxy

    samples = []
    with (
        SocketProxy(api_url, refuse_upgrades=polling) as proxy,
        SyncPrefectClient(proxy.api_url) as client,
    ):
        flow_id = client.create_flow_from_name("bench-detect")
        for _ in range(rounds):
            run = client.create_flow_run(flow_id)
            client.set_flow_run_state(run.id, states.Running())
            stamp: dict[str, float] = {}

            def finish(run_id: uuid.UUID = run.id, stamp: dict[str, float] = stamp) -> None:
                with SyncPrefectClient(api_url) as other:
                    time.sleep(2.0)
                    other.set_flow_run_state(run_id, states.Completed())
                    stamp["set"] = time.perf_counter()

            threading.Thread(target=finish).start()
            client.wait_for_flow_run(run.id, timeout=60, poll_interval=10)
            samples.append(time.perf_counter() - stamp["set"])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from tests.support.server import start_prefect_server

    with (
        tempfile.TemporaryDirectory() as scratch,
        start_prefect_server(home=Path(scratch) / "server") as server,
    ):
        rates = [asyncio.run(throughput(server.api_url, args.events)) for _ in range(3)]
        print(
            f"subscribe_events (backfill of {args.events}): "
            f"{statistics.median(rates):,.0f} events/s (median of 3)"
        )
        waits = asyncio.run(latency(server.api_url, args.rounds))
        print(f"state change -> its event: {statistics.median(waits) * 1000:.0f} ms median")
        for polling in (False, True):
            seen = detect(server.api_url, args.rounds, polling=polling)
            how = "polling (websocket refused)" if polling else "events"
            print(
                f"finished run seen by wait_for_flow_run, {how}: "
                f"{statistics.median(seen) * 1000:.0f} ms median, max {max(seen) * 1000:.0f}"
            )


if __name__ == "__main__":
    main()
