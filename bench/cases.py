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

SyncCall = Callable[[], object]
AsyncCall = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Case:
    """One benchmark: a call per client, made `calls_per_round` times per round, each timed."""

    name: str
    title: str
    is_async: bool
    calls_per_round: int
    requests_per_call: int
    calls: dict[str, Any]  # client -> SyncCall or AsyncCall


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

    # ----- every flow run: our iterator against offset loops -----
    async def ours_all_runs_async() -> object:
        count = 0
        async for _run in a[OURS].iter_flow_runs():
            count += 1
        return expect(count, runs, "ours iter_flow_runs")

    async def prefect_all_runs_async() -> object:
        count = 0
        while True:
            page = await a[PREFECT].read_flow_runs(limit=PAGE, offset=count)
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "prefect offset loop")

    async def raw_all_runs_async() -> object:
        count = 0
        while True:
            body = {"limit": PAGE, "offset": count}
            page = raw_json(await a[RAW].post("/flow_runs/filter", json=body))
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "raw offset loop")

    def ours_all_runs() -> object:
        return expect(sum(1 for _run in s[OURS].iter_flow_runs()), runs, "ours iter_flow_runs")

    def prefect_all_runs() -> object:
        count = 0
        while True:
            page = s[PREFECT].read_flow_runs(limit=PAGE, offset=count)
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "prefect offset loop")

    def raw_all_runs() -> object:
        count = 0
        while True:
            body = {"limit": PAGE, "offset": count}
            page = raw_json(s[RAW].post("/flow_runs/filter", json=body))
            count += len(page)
            if len(page) < PAGE:
                return expect(count, runs, "raw offset loop")

    # ----- concurrent read_flow on one async client -----
    flow_ids = seeded.flow_ids

    def concurrent(read: Callable[[uuid.UUID], Awaitable[object]], label: str) -> AsyncCall:
        async def run() -> object:
            ids = itertools.islice(itertools.cycle(flow_ids), concurrent_calls)
            done = 0

            async def worker() -> None:
                nonlocal done
                for flow in ids:  # the workers share one iterator
                    await read(flow)
                    done += 1

            await asyncio.gather(*(worker() for _ in range(CONCURRENT_TASKS)))
            return expect(done, concurrent_calls, label)

        return run

    async def ours_one(flow: uuid.UUID) -> object:
        return expect((await a[OURS].read_flow(flow)).id, flow, "ours read_flow")

    async def prefect_one(flow: uuid.UUID) -> object:
        return expect((await a[PREFECT].read_flow(flow)).id, flow, "prefect read_flow")

    async def raw_one(flow: uuid.UUID) -> object:
        row = raw_json(await a[RAW].get(f"/flows/{flow}"))
        return expect(row["id"], str(flow), "raw read_flow")

    paged = pages_for(runs)
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
        Case(
            "all_flow_runs_async",
            f"{runs} flow runs (async)",
            True,
            1,
            paged,
            {OURS: ours_all_runs_async, PREFECT: prefect_all_runs_async, RAW: raw_all_runs_async},
        ),
        Case(
            "all_flow_runs",
            f"{runs} flow runs (sync)",
            False,
            1,
            paged,
            {OURS: ours_all_runs, PREFECT: prefect_all_runs, RAW: raw_all_runs},
        ),
        Case(
            "concurrent_read_flow",
            f"{concurrent_calls} read_flow, {CONCURRENT_TASKS} tasks",
            True,
            1,
            concurrent_calls,
            {
                OURS: concurrent(ours_one, "ours concurrent"),
                PREFECT: concurrent(prefect_one, "prefect concurrent"),
                RAW: concurrent(raw_one, "raw concurrent"),
            },
        ),
    ]


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

    ours_all = [str(run.id) for run in s[OURS].iter_flow_runs()]
    raw_all: list[str] = []
    while True:
        body = {"limit": PAGE, "offset": len(raw_all)}
        page = [row["id"] for row in raw_json(s[RAW].post("/flow_runs/filter", json=body))]
        raw_all += page
        if len(page) < PAGE:
            break
    expect(ours_all, raw_all, "ours iter_flow_runs ids against the raw offset loop")
    expect(len(set(raw_all)), len(raw_all), "distinct flow run ids")
    compared["all_flow_runs"] = len(raw_all)
    return compared
