"""The main example: prefect-sdk against an embedded Prefect server (`make demo`).

No server to start and no port opened. The demo always uses an embedded server, whatever the
environment says: it sets PREFECT_HOME to a new temporary directory and PREFECT_API_URL to empty
(a PREFECT_API_URL you set is ignored), so `get_client()` runs Prefect's server app in-process
(the `server` extra) on a throwaway database, and both clients reach it. The code below the two
`os.environ` lines runs unchanged against a real server: without them, `get_client()` uses your
PREFECT_API_URL (and PREFECT_API_KEY or PREFECT_API_AUTH_STRING).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time

# An embedded server on a throwaway database, whatever the caller's environment says (an empty
# PREFECT_API_URL: the in-process server).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-sdk-demo-")
os.environ["PREFECT_API_URL"] = ""

from prefect_sdk import ObjectNotFound, PrefectClient, get_client, states  # noqa: E402


def sync_part() -> None:
    with get_client(sync_client=True) as client:
        print(f"client: {client!r}, server version {client.api_version()}")
        flow_id = client.create_flow_from_name("demo-etl")
        print(f"created flow demo-etl: {flow_id}")

        run = client.create_flow_run(flow_id, name="nightly", tags=["demo"])
        for state in (states.Running(), states.Completed(message="all rows loaded")):
            result = client.set_flow_run_state(run.id, state)
            print(f"  {run.name}: -> {state.type_.value} ({result.status.value})")
        final = client.read_flow_run(run.id)
        print(f"  read back: state {final.state.type_.value}, message {final.state.message!r}")

        try:
            client.read_flow_by_name("no-such-flow")
        except ObjectNotFound as error:
            print(f"missing flow raises ObjectNotFound: {error}")


async def async_part() -> None:
    async with get_client() as client:
        started = time.perf_counter()
        names = [f"demo-bulk-{i:03d}" for i in range(250)]
        await asyncio.gather(*(client.create_flow_from_name(name) for name in names))
        print(f"created 250 flows concurrently in {time.perf_counter() - started:.2f}s")

        only_bulk = {"name": {"like_": "demo-bulk-"}}
        flows = await client.read_flows(flow_filter=only_bulk)
        print(f"read_flows returned {len(flows)} flows (past the server's 200-row page cap)")
        count = 0
        async for _ in client.iter_flows(flow_filter=only_bulk):
            count += 1
        print(f"iter_flows walked {count} flows page by page")


async def play_worker(client: PrefectClient, deployment_id: object) -> None:
    """What a Prefect worker would do: take the deployment's scheduled run and finish it."""
    only_this = {"id": {"any_": [str(deployment_id)]}}
    while not (runs := await client.read_flow_runs(deployment_filter=only_this)):
        await asyncio.sleep(0.1)
    for state in (states.Pending(), states.Running(), states.Completed(message="done")):
        await asyncio.sleep(0.3)
        await client.set_flow_run_state(runs[0].id, state)


async def orchestration_part() -> None:
    async with get_client() as client:
        flow_id = await client.create_flow_from_name("demo-report")
        deployment_id = await client.create_deployment(flow_id, "daily")
        worker = asyncio.create_task(play_worker(client, deployment_id))
        started = time.perf_counter()
        run = await client.run_deployment("demo-report/daily", parameters={}, timeout=60)
        await worker
        print(
            f"run_deployment: {run.name} went {run.state.type_.value} in "
            f"{time.perf_counter() - started:.1f}s (followed over the events websocket)"
        )
        print(
            f"  its state events, as the server stored them: {await stored_states(client, run.id)}"
        )


# How long the demo waits for the server to store a run's last state events.
EVENTS_WAIT = 15.0


async def stored_states(client: PrefectClient, run_id: object) -> str:
    """The run's state events the server has stored, oldest first. The server stores events in
    batches (every few seconds), so those of the last state changes come a little after the run
    finished: read until the Completed one is there, at most EVENTS_WAIT seconds."""
    only_run = {"resource": {"id": [f"prefect.flow-run.{run_id}"]}}
    started = time.perf_counter()
    while True:
        page = await client.read_events(only_run, limit=10)
        events = sorted(page.events, key=lambda event: event.occurred)
        names = [event.event.removeprefix("prefect.flow-run.") for event in events]
        waited = time.perf_counter() - started
        if "Completed" in names:
            return f"{' -> '.join(names)} (all stored {waited:.1f}s after run_deployment returned)"
        if waited >= EVENTS_WAIT:
            return (
                f"{' -> '.join(names) or 'none'} (the server stores events in batches: "
                f"Completed was not stored yet after {EVENTS_WAIT:.0f}s)"
            )
        await asyncio.sleep(0.5)


def main() -> None:
    sync_part()
    asyncio.run(async_part())
    asyncio.run(orchestration_part())
    print("demo done")


if __name__ == "__main__":
    main()
