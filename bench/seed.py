"""Fill a fresh server with the rows the benchmarks read, over raw httpx (no client under test).

Flow runs are created from deployments, 100 per request (the server's cap for
`/deployments/{id}/create_flow_run/bulk`), each with its own state. Requests go one at a time:
the default server writes to SQLite, which takes one writer at a time, so concurrent writes only
come back as "database is locked" rows to send again (measured: 1,000 runs took 7 s one request
at a time, 17 s two at a time, 40 s as single creates four at a time).
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

# Terminal and non-terminal states, cycled over the seeded runs. No CANCELLED: Prefect 3.9's
# cancellation-cleanup service re-reads the task runs of every cancelled flow run on each of its
# loops, so 714 of them kept the bench server at 0.3-0.4 of a core for as long as it ran
# (measured with py-spy after seeding 5,000 runs), under every measurement that followed.
STATES: tuple[tuple[str, str], ...] = (
    ("COMPLETED", "Completed"),
    ("FAILED", "Failed"),
    ("RUNNING", "Running"),
    ("SCHEDULED", "Scheduled"),
    ("PENDING", "Pending"),
    ("CRASHED", "Crashed"),
)
WRITERS = 1  # requests in flight at once (see above)
DEPLOYMENTS = 10
BULK_SIZE = 100
ATTEMPTS = 20
READ_FLOW_NAME = "bench-read-flow"  # the flow read by id
SCHEDULED_AT = (
    datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
).isoformat()


@dataclass(frozen=True)
class Seeded:
    """What the seeding created: the flow read by id, every flow, and the run count."""

    flow_id: uuid.UUID
    flow_ids: tuple[uuid.UUID, ...]
    flow_runs: int
    seconds: float
    retries: int


async def create_flow(api_url: str, name: str) -> uuid.UUID:
    """Create the flow `name` (or find it: flow names are unique) and return its id."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60.0) as http:
        response = await http.post("/flows/", json={"name": name, "tags": ["bench"]})
        response.raise_for_status()
        return uuid.UUID(response.json()["id"])


def backoff(attempt: int) -> float:
    return min(1.0, 0.05 * 2.0**attempt)


async def seed(api_url: str, *, flows: int, flow_runs: int) -> Seeded:
    """Create one flow to read by id, `flows` more flows, and `flow_runs` runs spread over them."""
    started = time.perf_counter()
    limits = httpx.Limits(
        max_connections=WRITERS,
        max_keepalive_connections=WRITERS,
        keepalive_expiry=2.0,  # well under uvicorn's 5 s, so the server never closes one first
    )
    retries = 0
    gate = asyncio.Semaphore(WRITERS)
    async with httpx.AsyncClient(base_url=api_url, limits=limits, timeout=60.0) as http:

        async def post(path: str, body: Any) -> Any:
            nonlocal retries
            for attempt in range(ATTEMPTS):
                try:
                    async with gate:
                        response = await http.post(path, json=body)
                except httpx.TransportError:
                    # A connection dropped mid-way: send again (safe: flows are unique by
                    # name, deployments by flow and name, runs carry an idempotency key).
                    retries += 1
                    await asyncio.sleep(backoff(attempt))
                    continue
                if response.status_code != 503:  # 503: SQLite was locked, write again
                    break
                retries += 1
                await asyncio.sleep(backoff(attempt))
            else:
                raise RuntimeError(f"POST {path}: no answer in {ATTEMPTS} attempts")
            if response.status_code not in (200, 201):
                raise RuntimeError(f"POST {path} -> {response.status_code}: {response.text[:300]}")
            return response.json()

        async def new_flow(name: str) -> uuid.UUID:
            row = await post("/flows/", {"name": name, "tags": ["bench"]})
            return uuid.UUID(row["id"])

        flow_id = await new_flow(READ_FLOW_NAME)
        flow_ids = [await new_flow(f"bench-flow-{i:04d}") for i in range(flows)]
        deployment_ids = [
            (await post("/deployments/", {"name": f"bench-{i}", "flow_id": str(flow)}))["id"]
            for i, flow in enumerate(flow_ids[:DEPLOYMENTS] or [flow_id])
        ]

        async def create_runs(batch: int) -> None:
            nonlocal retries
            first = batch * BULK_SIZE
            pending = list(range(first, min(first + BULK_SIZE, flow_runs)))
            path = (
                f"/deployments/{deployment_ids[batch % len(deployment_ids)]}/create_flow_run/bulk"
            )
            for attempt in range(ATTEMPTS):
                reply = await post(path, [run_body(index) for index in pending])
                # Rows are answered in order; a row SQLite refused ("database is locked") is
                # sent again (safe: each carries an idempotency key).
                results = reply["results"]
                pending = [
                    index
                    for index, row in zip(pending, results, strict=True)
                    if row["status"] != "CREATED"
                ]
                if not pending:
                    return
                retries += len(pending)
                await asyncio.sleep(backoff(attempt))
            raise RuntimeError(f"{len(pending)} flow runs not created: {results[:1]}")

        for batch in range(-(-flow_runs // BULK_SIZE)):
            await create_runs(batch)

        # The counts every benchmark will assert.
        flow_count = (await http.post("/flows/count", json={})).json()
        run_count = (await http.post("/flow_runs/count", json={})).json()
    if flow_count != flows + 1 or run_count != flow_runs:
        raise RuntimeError(
            f"seeding left {flow_count} flows and {run_count} flow runs, "
            f"expected {flows + 1} and {flow_runs}"
        )
    return Seeded(
        flow_id=flow_id,
        flow_ids=(flow_id, *flow_ids),
        flow_runs=flow_runs,
        seconds=time.perf_counter() - started,
        retries=retries,
    )


def run_body(index: int) -> dict[str, Any]:
    """One seeded flow run: a few parameters and tags, and a state cycled over STATES.

    Scheduled runs are scheduled a month out, so the server's late-runs service leaves them
    alone: the rows do not change while they are being read.
    """
    state_type, state_name = STATES[index % len(STATES)]
    details: dict[str, Any] = {}
    if state_type == "SCHEDULED":
        details["scheduled_time"] = SCHEDULED_AT
    return {
        "name": f"bench-run-{index:05d}",
        "idempotency_key": f"bench-run-{index:05d}",
        "parameters": {"index": index, "label": f"run {index}", "values": [1, 2, 3]},
        "tags": ["bench", f"batch-{index % 10}"],
        "state": {
            "type": state_type,
            "name": state_name,
            "message": f"seeded as {state_name.lower()}",
            "state_details": details,
        },
    }
