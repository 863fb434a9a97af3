"""The scale-out workload: a unit of mixed calls, the runner, and the check against PostgreSQL.

One `RunUnit` makes 12 calls: a flow (create, read back), a flow run of it without a caller's
idempotency key (created Pending), Running then Completed through `set_flow_run_state`, a batch of
log lines, a variable created and updated twice, and reads of the run, the flow and the variable.
`run_workload` spreads the units over sync threads and async tasks of one SyncPrefectClient and
one PrefectClient (tests/reliability/workload.py drives them), with an events reader alongside
and a `disrupt` coroutine (the kills, the Redis restart) that watches the calls made so far.
`stored` reads back from PostgreSQL what the server kept, to compare with what the callers were
told.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from prefect_sdk import PrefectClient, SyncPrefectClient
from prefect_sdk import states as st
from prefect_sdk._policy import MAYBE_APPLIED_EXTENSION
from tests.reliability import workload

if TYPE_CHECKING:
    from tests.scaleout.conftest import ScaleOut

CALLS_PER_UNIT = 12
LOG_LINES = 3
TIMEOUT = httpx.Timeout(30.0)
# Every connection of the pool kept alive: see the README's "Connections".
LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16)


@dataclass
class Ledger(workload.Ledger):
    """What the callers were told the server did."""

    flows: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id
    runs: dict[str, uuid.UUID] = field(default_factory=dict)  # run name -> id
    transitions: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)  # run, to, verdict
    logs: dict[str, bool] = field(
        default_factory=dict
    )  # message -> its batch may have been sent twice
    variables: dict[str, int] = field(default_factory=dict)  # name -> last value acknowledged


class RunUnit:
    def __init__(self, prefix: str, number: int, ledger: Ledger) -> None:
        self.prefix = prefix
        self.number = number
        self.ledger = ledger

    def steps(self) -> workload.Steps:
        ledger, n = self.ledger, self.number
        name = f"{self.prefix}-flow-{n}"
        flow_id = yield ("create_flow_from_name", (name,), {})
        with ledger.lock:
            ledger.flows[name] = flow_id
        run_name = f"{self.prefix}-run-{n}"
        run = yield ("create_flow_run", (flow_id,), {"name": run_name, "tags": [self.prefix]})
        with ledger.lock:
            ledger.runs[run_name] = run.id
        read = yield ("read_flow_run", (run.id,), {})
        assert read.id == run.id and read.state_type.value == "PENDING", read.state_type

        verdict = yield ("set_flow_run_state", (run.id, st.Running()), {})
        with ledger.lock:
            ledger.transitions.append((run.id, "RUNNING", verdict.status.value))

        now = datetime.datetime.now(datetime.timezone.utc)
        messages = [f"{self.prefix} run {n} line {i}" for i in range(LOG_LINES)]
        logs = [
            {
                "name": "scaleout",
                "level": 20,
                "message": message,
                "timestamp": (now + datetime.timedelta(milliseconds=i)).isoformat(),
                "flow_run_id": str(run.id),
            }
            for i, message in enumerate(messages)
        ]
        raw = yield ("with_raw_response.create_logs", (logs,), {})
        resent = any(r.extensions.get(MAYBE_APPLIED_EXTENSION) for r in raw.responses)
        with ledger.lock:
            ledger.logs.update(dict.fromkeys(messages, resent))

        variable = f"{self.prefix}-var-{n}"
        yield ("create_variable", ({"name": variable, "value": 0},), {})
        with ledger.lock:
            ledger.variables[variable] = 0
        for value in (1, 2):
            yield ("update_variable", ({"name": variable, "value": value},), {})
            with ledger.lock:
                ledger.variables[variable] = value

        verdict = yield ("set_flow_run_state", (run.id, st.Completed()), {})
        with ledger.lock:
            ledger.transitions.append((run.id, "COMPLETED", verdict.status.value))

        rows = yield ("read_flow_runs", (), {"flow_run_filter": {"id": {"any_": [str(run.id)]}}})
        assert [(r.id, r.state_type.value) for r in rows] == [(run.id, "COMPLETED")]
        flows = yield ("read_flows", (), {"flow_filter": {"name": {"any_": [name]}}})
        assert [f.id for f in flows] == [flow_id]
        stored = yield ("read_variable_by_name", (variable,), {})
        assert stored.value == 2


@dataclass
class EventsSeen:
    """What the `iter_events` reader alongside the workload saw."""

    passes: int = 0
    ids: set[uuid.UUID] = field(default_factory=set)
    errors: list[BaseException] = field(default_factory=list)


async def read_events_alongside(
    client: PrefectClient, since: datetime.datetime, done: asyncio.Event, seen: EventsSeen
) -> None:
    """Read the flow-run events since `since` page by page, again and again, until `done`.

    TODO(subscribe_events): when `PrefectClient.subscribe_events` lands, open the websocket
    stream here instead (it reconnects through the kills), and keep this paging read as a
    second reader.
    """
    event_filter = {
        "occurred": {"since": since.isoformat()},
        "event": {"prefix": ["prefect.flow-run."]},
    }
    while not done.is_set():
        try:
            async for event in client.iter_events(event_filter):
                seen.ids.add(event.id)
            seen.passes += 1
        except Exception as error:  # recorded: the read goes on
            seen.errors.append(error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=1.0)


@dataclass
class Run:
    ledger: Ledger
    seconds: float
    events: EventsSeen
    started: float  # time.monotonic() when the workload began


async def run_workload(
    api_url: str,
    prefix: str,
    units: int,
    disrupt: Callable[[Ledger], Awaitable[None]],
    workers: tuple[int, int] = (4, 4),
) -> Run:
    """`units` RunUnits over `workers` = (sync threads, async tasks), `disrupt(ledger)` and an
    events reader alongside; returns once all of them are done."""
    ledger = Ledger()
    all_units = [RunUnit(prefix, n, ledger) for n in range(units)]
    sync_count, async_count = workers
    shares = [all_units[i :: sync_count + async_count] for i in range(sync_count + async_count)]
    settings = {"timeout": TIMEOUT, "limits": LIMITS}
    since = datetime.datetime.now(datetime.timezone.utc)
    seen = EventsSeen()
    done = asyncio.Event()
    started = time.monotonic()
    with SyncPrefectClient(api_url, httpx_settings=settings) as sync_client:
        async with PrefectClient(api_url, httpx_settings=settings) as async_client:
            reader = asyncio.create_task(read_events_alongside(async_client, since, done, seen))
            work = asyncio.gather(
                *(
                    asyncio.to_thread(workload.drive_sync, sync_client, share)
                    for share in shares[:sync_count]
                ),
                *(workload.drive_async(async_client, share) for share in shares[sync_count:]),
            )
            await asyncio.gather(work, disrupt(ledger))
            done.set()
            await reader
    return Run(ledger, time.monotonic() - started, seen, started)


async def when_calls_reach(ledger: Ledger, count: int) -> None:
    while ledger.total < count:
        await asyncio.sleep(0.05)


# ----- what the server kept, read from PostgreSQL ------------------------------------------


@dataclass
class Stored:
    flows: dict[str, list[uuid.UUID]]  # name -> ids
    runs: dict[str, list[tuple[uuid.UUID, str | None, str | None]]]  # name -> (id, key, state)
    histories: dict[uuid.UUID, list[str]]  # run id -> state types in order
    logs: Counter[str]  # message -> rows
    variables: dict[str, list[Any]]  # name -> values (one per row)
    events: Counter[tuple[str, str]]  # (event, resource id) -> rows


async def stored(scaleout: ScaleOut, prefix: str) -> Stored:
    import json

    like = prefix + "-%"
    flows: dict[str, list[uuid.UUID]] = {}
    for row in await scaleout.query("SELECT name, id FROM flow WHERE name LIKE $1", like):
        flows.setdefault(row["name"], []).append(row["id"])
    runs: dict[str, list[tuple[uuid.UUID, str | None, str | None]]] = {}
    rows = await scaleout.query(
        "SELECT name, id, idempotency_key, state_type::text AS state FROM flow_run "
        "WHERE name LIKE $1",
        like,
    )
    for row in rows:
        runs.setdefault(row["name"], []).append((row["id"], row["idempotency_key"], row["state"]))
    run_ids = [run_id for values in runs.values() for run_id, _, _ in values]
    histories: dict[uuid.UUID, list[str]] = {run_id: [] for run_id in run_ids}
    rows = await scaleout.query(
        "SELECT flow_run_id, type::text AS type FROM flow_run_state "
        "WHERE flow_run_id = ANY($1::uuid[]) ORDER BY timestamp, created",
        run_ids,
    )
    for row in rows:
        histories[row["flow_run_id"]].append(row["type"])
    logs: Counter[str] = Counter()
    rows = await scaleout.query(
        "SELECT message, count(*) AS n FROM log WHERE message LIKE $1 GROUP BY message",
        prefix + " run %",
    )
    for row in rows:
        logs[row["message"]] = row["n"]
    variables: dict[str, list[Any]] = {}
    for row in await scaleout.query("SELECT name, value FROM variable WHERE name LIKE $1", like):
        value = row["value"]
        variables.setdefault(row["name"], []).append(
            json.loads(value) if isinstance(value, str) else value
        )
    events: Counter[tuple[str, str]] = Counter()
    resources = [f"prefect.flow-run.{run_id}" for run_id in run_ids]
    rows = await scaleout.query(
        "SELECT event, resource_id FROM events WHERE resource_id = ANY($1::text[])", resources
    )
    for row in rows:
        events[(row["event"], row["resource_id"])] += 1
    return Stored(flows, runs, histories, logs, variables, events)


async def settled(scaleout: ScaleOut, prefix: str) -> Stored:
    """`stored`, once the flow-run events stopped arriving: the services process writes them
    from Redis to the database in batches, at least every 5 s (its flush interval). Waits until
    every state stored has its event, or no new event came for 8 s, at most 40 s."""
    deadline = time.monotonic() + 40.0
    last, changed = -1, time.monotonic()
    while True:
        db = await stored(scaleout, prefix)
        count = sum(db.events.values())
        if count != last:
            last, changed = count, time.monotonic()
        if not missing_events(db) or time.monotonic() - changed > 8.0:
            return db
        if time.monotonic() > deadline:
            return db
        await asyncio.sleep(1.0)


def state_events(db: Stored) -> list[tuple[str, str]]:
    """The (event, resource id) the server emits for the states stored: one per state, named
    after it (`prefect.flow-run.Running`)."""
    return [
        (f"prefect.flow-run.{state.title()}", f"prefect.flow-run.{run_id}")
        for run_id, history in db.histories.items()
        for state in history
    ]


def missing_events(db: Stored) -> list[tuple[str, str]]:
    """The events of stored states that the database does not have."""
    return [key for key in state_events(db) if not db.events[key]]


def failover_waits(run: Run, disruptions: list[float], window: float = 10.0) -> list[float]:
    """For each disruption (time.monotonic()), the longest call that was in flight at it or
    started within `window` seconds after it: how long a caller waited across it."""
    waits = []
    for at in disruptions:
        spans = [
            c.seconds
            for c in run.ledger.calls
            if c.started <= at + window and c.started + c.seconds >= at
        ]
        waits.append(max(spans, default=0.0))
    return waits


def describe_errors(errors: list[tuple[str, BaseException]]) -> Counter[str]:
    return Counter(f"{op}: {type(e).__name__}: {str(e)[:160]}" for op, e in errors)
