"""The benchmarks: the same call made by each of the three clients.

Every call checks what it got (the flow's id, the row count), so the three clients are seen to
read the same rows; the check is a comparison or a `len`, negligible next to the call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .clients import OURS, PREFECT, RAW, Clients
from .seed import Seeded

PAGE = 200  # rows per page: the server's default cap
CONCURRENT_TASKS = 50
DEFAULT_TASKS = 100  # the out-of-the-box benchmark: twice the calls, from 100 tasks

SyncCall = Callable[[], object]
AsyncCall = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Case:
    """One benchmark: a call per client, made `calls_per_round` times per round, each timed.

    A call sends `requests_per_call` requests, or up to `extra_requests` more (pages read ahead
    past the end of a list, which come back empty). `defaults`: the clients with their default
    settings (`Clients.aio_default`) rather than the shared pool."""

    name: str
    title: str
    is_async: bool
    calls_per_round: int
    requests_per_call: int
    calls: dict[str, Any]  # client -> SyncCall or AsyncCall
    extra_requests: int = 0
    defaults: bool = False


class Mismatch(AssertionError):
    """A client read something other than the rows every client should have read."""


def expect(got: object, wanted: object, what: str) -> object:
    """`got`, checked to equal `wanted`."""
    if got != wanted:
        raise Mismatch(f"{what}: got {got!r}, expected {wanted!r}")
    return got


def pages_for(rows: int) -> int:
    """Requests an offset loop needs for `rows` rows: full pages, then one short (maybe empty)."""
    return rows // PAGE + 1


def build_cases(
    clients: Clients,
    seeded: Seeded,
    *,
    single_calls: int,
    page_calls: int,
    concurrent_calls: int,
) -> list[Case]:
    """Every benchmark of the run, in the order they are reported."""
    s, a = clients.sync, clients.aio
    flow_id = seeded.flow_id
    flow_path = f"/flows/{flow_id}"
    flow_id_text = str(flow_id)
    runs = seeded.flow_runs
    list_body = {"limit": PAGE, "offset": 0}

    # ----- read_flow by id -----
    def ours_read_flow() -> object:
        return expect(s[OURS].read_flow(flow_id).id, flow_id, "ours read_flow")

    def prefect_read_flow() -> object:
        return expect(s[PREFECT].read_flow(flow_id).id, flow_id, "prefect read_flow")

    def raw_read_flow() -> object:
        return expect(raw_json(s[RAW].get(flow_path))["id"], flow_id_text, "raw read_flow")

    async def ours_read_flow_async() -> object:
        return expect((await a[OURS].read_flow(flow_id)).id, flow_id, "ours read_flow")

    async def prefect_read_flow_async() -> object:
        return expect((await a[PREFECT].read_flow(flow_id)).id, flow_id, "prefect read_flow")

    async def raw_read_flow_async() -> object:
        row = raw_json(await a[RAW].get(flow_path))
        return expect(row["id"], flow_id_text, "raw read_flow")

    # ----- one page of 200 -----
    def list_calls(method: str, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        prefect_read, prefect_read_async = prefect_list_readers(method)

        def ours() -> object:
            return expect(len(getattr(s[OURS], method)(limit=PAGE)), PAGE, f"ours {method}")

        def prefect() -> object:
            return expect(len(prefect_read(s[PREFECT], 0)), PAGE, f"prefect {method}")

        def raw() -> object:
            return expect(len(raw_json(s[RAW].post(path, json=list_body))), PAGE, f"raw {method}")

        async def ours_async() -> object:
            rows = await getattr(a[OURS], method)(limit=PAGE)
            return expect(len(rows), PAGE, f"ours {method}")

        async def prefect_async() -> object:
            rows = await prefect_read_async(a[PREFECT], 0)
            return expect(len(rows), PAGE, f"prefect {method}")

        async def raw_async() -> object:
            rows = raw_json(await a[RAW].post(path, json=list_body))
            return expect(len(rows), PAGE, f"raw {method}")

        sync_calls = {OURS: ours, PREFECT: prefect, RAW: raw}
        async_calls = {OURS: ours_async, PREFECT: prefect_async, RAW: raw_async}
        return sync_calls, async_calls

    flows_sync, flows_async = list_calls("read_flows", "/flows/filter")
    runs_sync, runs_async = list_calls("read_flow_runs", "/flow_runs/filter")

    sequential_sync, sequential_async = all_runs_calls(clients, runs, page_concurrency=1)
    parallel_sync, parallel_async = all_runs_calls(clients, runs, page_concurrency=None)

    # ----- concurrent read_flow on one async client -----
    flow_ids = seeded.flow_ids

    def concurrent(
        read: Callable[[uuid.UUID], Awaitable[object]], label: str, calls: int, tasks: int
    ) -> AsyncCall:
        async def run() -> object:
            ids = itertools.islice(itertools.cycle(flow_ids), calls)
            done = 0

            async def worker() -> None:
                nonlocal done
                for flow in ids:  # the workers share one iterator
                    await read(flow)
                    done += 1

            await asyncio.gather(*(worker() for _ in range(tasks)))
            return expect(done, calls, label)

        return run

    def readers(kind: dict[str, Any]) -> dict[str, Callable[[uuid.UUID], Awaitable[object]]]:
        async def ours_one(flow: uuid.UUID) -> object:
            return expect((await kind[OURS].read_flow(flow)).id, flow, "ours read_flow")

        async def prefect_one(flow: uuid.UUID) -> object:
            return expect((await kind[PREFECT].read_flow(flow)).id, flow, "prefect read_flow")

        async def raw_one(flow: uuid.UUID) -> object:
            row = raw_json(await kind[RAW].get(f"/flows/{flow}"))
            return expect(row["id"], str(flow), "raw read_flow")

        return {OURS: ours_one, PREFECT: prefect_one, RAW: raw_one}

    shared, defaults = readers(a), readers(clients.aio_default)
    default_calls = concurrent_calls * 2

    return [
        Case(
            "read_flow",
            "read_flow (sync)",
            False,
            single_calls,
            1,
            {OURS: ours_read_flow, PREFECT: prefect_read_flow, RAW: raw_read_flow},
        ),
        Case(
            "read_flow_async",
            "read_flow (async)",
            True,
            single_calls,
            1,
            {
                OURS: ours_read_flow_async,
                PREFECT: prefect_read_flow_async,
                RAW: raw_read_flow_async,
            },
        ),
        Case("read_flows_200", "read_flows(200) (sync)", False, page_calls, 1, flows_sync),
        Case(
            "read_flows_200_async",
            "read_flows(200) (async)",
            True,
            page_calls,
            1,
            flows_async,
        ),
        Case(
            "read_flow_runs_200",
            "read_flow_runs(200) (sync)",
            False,
            page_calls,
            1,
            runs_sync,
        ),
        Case(
            "read_flow_runs_200_async",
            "read_flow_runs(200) (async)",
            True,
            page_calls,
            1,
            runs_async,
        ),
        *all_runs_cases(
            "all_flow_runs",
            f"{runs} flow runs",
            runs,
            (sequential_sync, sequential_async),
            (parallel_sync, parallel_async),
        ),
        Case(
            "concurrent_read_flow",
            f"{concurrent_calls} read_flow, {CONCURRENT_TASKS} tasks",
            True,
            1,
            concurrent_calls,
            {
                client: concurrent(read, f"{client} concurrent", concurrent_calls, CONCURRENT_TASKS)
                for client, read in shared.items()
            },
        ),
        Case(
            "concurrent_read_flow_defaults",
            f"{default_calls} read_flow, {DEFAULT_TASKS} tasks, default settings",
            True,
            1,
            default_calls,
            {
                client: concurrent(read, f"{client} concurrent", default_calls, DEFAULT_TASKS)
                for client, read in defaults.items()
            },
            defaults=True,
        ),
    ]


CallPair = tuple[dict[str, SyncCall], dict[str, AsyncCall]]


def all_runs_calls(clients: Clients, runs: int, *, page_concurrency: int | None) -> CallPair:
    """Every flow run, read by each client: ours with `iter_flow_runs` (`page_concurrency`
    pages at most in flight; None: the client's default, adaptive read-ahead), Prefect's and raw
    httpx with offset loops of 200, one page after another. (sync calls, async calls)"""
    s, a = clients.sync, clients.aio

    def ours_of(kind: dict[str, Any]) -> Any:
        client = kind[OURS]
        return (
            client
            if page_concurrency is None
            else client.with_options(page_concurrency=page_concurrency)
        )

    async def ours_async() -> object:
        count = 0
        async for _run in ours_of(a).iter_flow_runs():
            count += 1
        return expect(count, runs, "ours iter_flow_runs")

    async def prefect_async() -> object:
        count = 0
        while True:
            page = await a[PREFECT].read_flow_runs(limit=PAGE, offset=count)
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "prefect offset loop")

    async def raw_async() -> object:
        count = 0
        while True:
            body = {"limit": PAGE, "offset": count}
            page = raw_json(await a[RAW].post("/flow_runs/filter", json=body))
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "raw offset loop")

    def ours() -> object:
        return expect(sum(1 for _run in ours_of(s).iter_flow_runs()), runs, "ours iter_flow_runs")

    def prefect() -> object:
        count = 0
        while True:
            page = s[PREFECT].read_flow_runs(limit=PAGE, offset=count)
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "prefect offset loop")

    def raw() -> object:
        count = 0
        while True:
            body = {"limit": PAGE, "offset": count}
            page = raw_json(s[RAW].post("/flow_runs/filter", json=body))
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "raw offset loop")

    return {OURS: ours, PREFECT: prefect, RAW: raw}, {
        OURS: ours_async,
        PREFECT: prefect_async,
        RAW: raw_async,
    }


# Pages prefect-sdk may read ahead past the end of a list (its default page_concurrency - 1).
READ_AHEAD_EXTRA = 3


def all_runs_cases(
    name: str, title: str, runs: int, sequential: CallPair, parallel: CallPair
) -> list[Case]:
    """The all-rows benchmarks, async then sync: ours with one page at a time, then ours with
    parallel pages; Prefect's client and raw httpx read one page at a time in both."""
    pages = pages_for(runs)
    out = []
    for suffix, mode, is_async in (("_async", "async", True), ("", "sync", False)):
        index = 1 if is_async else 0
        out.append(
            Case(
                name + suffix,
                f"{title} ({mode})",
                is_async,
                1,
                pages,
                sequential[index],
            )
        )
        out.append(
            Case(
                f"{name}_parallel{suffix}",
                f"{title}, parallel pages ({mode})",
                is_async,
                1,
                pages,
                parallel[index],
                extra_requests=READ_AHEAD_EXTRA,
            )
        )
    return out


def prefect_list_readers(
    method: str,
) -> tuple[Callable[[Any, int], list[Any]], Callable[[Any, int], Awaitable[list[Any]]]]:
    """Prefect's client reading one page of 200 flows or flow runs at `offset`, (sync, async).

    Its own `read_flows` / `read_flow_runs`, called as a user would. (They send `"sort": null`,
    which the server refuses from fastapi 0.151 on: the `server` extra pins fastapi below it.)
    """

    def read(client: Any, offset: int) -> list[Any]:
        rows: list[Any] = getattr(client, method)(limit=PAGE, offset=offset)
        return rows

    async def read_async(client: Any, offset: int) -> list[Any]:
        rows: list[Any] = await getattr(client, method)(limit=PAGE, offset=offset)
        return rows

    return read, read_async


def raw_json(response: Any) -> Any:
    """The floor: status check and json.loads, no models."""
    if response.status_code != 200:
        raise Mismatch(f"{response.request.method} {response.url} -> {response.status_code}")
    return json.loads(response.content)


def verify_same_rows(clients: Clients) -> dict[str, int]:
    """Read the same lists with all three clients (sync) and check the ids agree, in order.

    Returns the number of rows compared per list.
    """
    s = clients.sync
    compared: dict[str, int] = {}
    for method, path in (("read_flows", "/flows/filter"), ("read_flow_runs", "/flow_runs/filter")):
        ours = [str(row.id) for row in getattr(s[OURS], method)(limit=PAGE)]
        prefect = [str(row.id) for row in prefect_list_readers(method)[0](s[PREFECT], 0)]
        raw = [row["id"] for row in raw_json(s[RAW].post(path, json={"limit": PAGE}))]
        expect(ours, raw, f"ours {method} ids against raw")
        expect(prefect, raw, f"prefect {method} ids against raw")
        compared[method] = len(raw)

    compared.update(verify_all_runs(clients))
    return compared


def verify_all_runs(clients: Clients) -> dict[str, int]:
    """Read every flow run with ours (parallel pages, and one at a time) and a raw offset loop,
    and check the ids agree, in order."""
    s = clients.sync
    raw_all: list[str] = []
    while True:
        body = {"limit": PAGE, "offset": len(raw_all)}
        page = [row["id"] for row in raw_json(s[RAW].post("/flow_runs/filter", json=body))]
        raw_all += page
        if len(page) < PAGE:
            break
    for label, ours in (
        ("parallel pages", s[OURS]),
        ("one page at a time", s[OURS].with_options(page_concurrency=1)),
    ):
        ours_all = [str(run.id) for run in ours.iter_flow_runs()]
        expect(ours_all, raw_all, f"ours iter_flow_runs ({label}) ids against the raw offset loop")
    expect(len(set(raw_all)), len(raw_all), "distinct flow run ids")
    return {"all_flow_runs": len(raw_all)}
