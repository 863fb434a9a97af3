"""Read-ahead paging against the real server, with both clients.

The bulk tests page through 1,100 logs of one (made-up) flow run, posted in a few requests with
raw httpx, one millisecond apart (a loaded SQLite server makes about two flow runs a second,
too slow to seed a thousand); the concurrent-insert test uses flow runs, as users page them.
Pages are of 50 rows.
A counting transport (wrapped by the client's own retrying transport, as a user's `transport`
is) shows how many page requests were in flight at once, and fails a chosen page for the error
test. On the test server (single-process SQLite) read-ahead does not pay, so the controller would
rightly stay at one page; the tests that need pages in flight start it where a read that learnt
otherwise would (`_read_ahead`, what the client keeps between reads).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from prefect_sdk import PrefectClient, SyncPrefectClient
from prefect_sdk._paging import Learnt
from prefect_sdk.errors import PermissionDeniedError

from .conftest import BlockingAsyncClient

LOGS = 1_100
PAGE = 50
# The insert test: runs before the read, pages of RUN_PAGE, NEW_RUNS inserted after each page.
OLD_RUNS = 60
RUN_PAGE = 10
NEW_RUNS = 3
WIDE = Learnt(4, 2, 10**6)  # four pages in flight from the second page on
ROUTE = "prefect_api.api.logs.read_logs"  # what read-ahead learns is kept per route
RUN_ROUTE = "prefect_api.api.flow_runs.read_flow_runs"


def real(client: Any) -> SyncPrefectClient | PrefectClient:
    return client.client if isinstance(client, BlockingAsyncClient) else client


def by_flow(flow_id: str) -> dict[str, Any]:
    return {"id": {"any_": [flow_id]}}


def create_flow(http: httpx.Client, name: str) -> str:
    response = http.post("/flows/", json={"name": name})
    response.raise_for_status()
    return str(response.json()["id"])


def create_runs(
    http: httpx.Client, flow_id: str, names: list[str], start: datetime.datetime
) -> None:
    """Scheduled runs, one second apart in expected start time from `start` on."""

    def create(index: int) -> None:
        when = (start + datetime.timedelta(seconds=index)).isoformat()
        body = {
            "flow_id": flow_id,
            "name": names[index],
            "idempotency_key": names[index],  # a create sent again makes no second run
            "state": {"type": "SCHEDULED", "state_details": {"scheduled_time": when}},
        }
        for attempt in range(10):  # a busy SQLite server answers 503, or drops the connection
            try:
                response = http.post("/flow_runs/", json=body)
            except httpx.TransportError:
                if attempt == 9:
                    raise
            else:
                if response.status_code != 503:
                    break
            time.sleep(0.2 * (attempt + 1))
        response.raise_for_status()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(create, range(len(names))))


@pytest.fixture(scope="module")
def seeded(api_url: str) -> tuple[str, list[str]]:
    """LOGS logs of one made-up flow run, one millisecond apart; the run id, their messages."""
    run_id = str(uuid.uuid4())
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    messages = [f"line {index:05d}" for index in range(LOGS)]
    logs = [
        {
            "name": "paging",
            "level": 20,
            "message": message,
            "timestamp": (start + datetime.timedelta(milliseconds=index)).isoformat(),
            "flow_run_id": run_id,
        }
        for index, message in enumerate(messages)
    ]
    with httpx.Client(base_url=api_url, timeout=60) as http:
        for first in range(0, LOGS, 200):
            http.post("/logs/", json=logs[first : first + 200]).raise_for_status()
    return run_id, messages


def of_run(run_id: str) -> dict[str, Any]:
    return {"flow_run_id": {"any_": [run_id]}}


class Counting:
    """Counts the requests being sent at once; answers 403 to pages whose offset `fails`."""

    def __init__(self, fails: Callable[[int], bool] = lambda offset: False) -> None:
        self.fails = fails
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.offsets: list[int] = []

    def enter(self, request: httpx.Request) -> httpx.Response | None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        if request.url.path.endswith("/logs/filter"):
            offset = json.loads(request.content)["offset"]
            with self.lock:
                self.offsets.append(offset)
            if self.fails(offset):
                return httpx.Response(403, json={"detail": "page refused"}, request=request)
        return None

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class SyncCounting(httpx.HTTPTransport):
    def __init__(self, counting: Counting) -> None:
        super().__init__()
        self.counting = counting

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.counting.enter(request) or super().handle_request(request)
        finally:
            self.counting.leave()


class AsyncCounting(httpx.AsyncHTTPTransport):
    def __init__(self, counting: Counting) -> None:
        super().__init__()
        self.counting = counting

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.counting.enter(request) or await super().handle_async_request(request)
        finally:
            self.counting.leave()


def page_threads() -> list[threading.Thread]:
    return [
        thread for thread in threading.enumerate() if thread.name.startswith("prefect-sdk-page")
    ]


def test_every_row_once_in_the_server_order_with_pages_read_ahead(
    client: Any, seeded: tuple[str, list[str]]
) -> None:
    run_id, messages = seeded
    real(client).page_size = PAGE
    real(client)._read_ahead[ROUTE] = WIDE
    ahead = client.read_logs(of_run(run_id))
    assert [row.message for row in ahead] == messages
    assert real(client).page_concurrency == 4

    real(client).page_concurrency = 1
    plain = client.read_logs(of_run(run_id))
    assert [row.id for row in plain] == [row.id for row in ahead]

    listed = list(client.iter_logs(of_run(run_id), offset=3))
    assert [row.message for row in listed] == messages[3:]
    limited = client.read_logs(of_run(run_id), limit=120, offset=10)
    assert [row.message for row in limited] == messages[10:130]


def test_with_raw_response_records_every_page_read_ahead(
    client: Any, seeded: tuple[str, list[str]]
) -> None:
    run_id, messages = seeded
    sdk = real(client)
    sdk.page_size = PAGE
    sdk._read_ahead[ROUTE] = WIDE
    result = sdk.with_raw_response.read_logs(of_run(run_id))
    raw = client.run(result) if isinstance(client, BlockingAsyncClient) else result
    assert [row.message for row in raw.parsed] == messages
    offsets = [json.loads(response.request.content)["offset"] for response in raw.responses]
    assert offsets == sorted(offsets) and len(offsets) > LOGS // PAGE  # every page, in order
    assert all(response.status_code == 200 for response in raw.responses)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_pages_really_overlap_and_with_options_caps_them(
    kind: str, api_url: str, seeded: tuple[str, list[str]]
) -> None:
    run_id, messages = seeded
    counting = Counting()

    def read(client: Any, cap: int | None) -> Any:
        client.page_size = PAGE
        client._read_ahead[ROUTE] = WIDE
        chosen = client if cap is None else client.with_options(page_concurrency=cap)
        return chosen.read_logs(of_run(run_id))

    if kind == "sync":
        with SyncPrefectClient(
            api_url, httpx_settings={"transport": SyncCounting(counting)}
        ) as client:
            assert [row.message for row in read(client, None)] == messages
            most_default = counting.most
            counting.most = 0
            assert [row.message for row in read(client, 2)] == messages
    else:

        async def main() -> int:
            async with PrefectClient(
                api_url, httpx_settings={"transport": AsyncCounting(counting)}
            ) as client:
                assert [row.message for row in await read(client, None)] == messages
                most = counting.most
                counting.most = 0
                assert [row.message for row in await read(client, 2)] == messages
                return most

        most_default = asyncio.run(main())
    assert most_default == 4
    assert counting.most == 2
    with pytest.raises(ValueError, match="page_concurrency must be a whole number >= 1, not 0"):
        SyncPrefectClient(api_url).with_options(page_concurrency=0)
    with pytest.raises(ValueError, match="page_concurrency must be a whole number >= 1"):
        PrefectClient(api_url, page_concurrency=-2)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_listing_closed_early_leaves_nothing_in_flight(
    kind: str, api_url: str, seeded: tuple[str, list[str]]
) -> None:
    run_id, messages = seeded
    counting = Counting()
    if kind == "sync":
        with SyncPrefectClient(
            api_url, httpx_settings={"transport": SyncCounting(counting)}
        ) as client:
            client.page_size = PAGE
            client._read_ahead[ROUTE] = WIDE
            rows = client.iter_logs(of_run(run_id))
            taken = [next(rows).message for _ in range(120)]
            assert counting.most > 1 and page_threads()
            rows.close()
            assert counting.now == 0
            assert page_threads() == []
    else:

        async def main() -> list[str]:
            async with PrefectClient(
                api_url, httpx_settings={"transport": AsyncCounting(counting)}
            ) as client:
                client.page_size = PAGE
                client._read_ahead[ROUTE] = WIDE
                rows = client.iter_logs(of_run(run_id))
                got = [(await rows.__anext__()).message for _ in range(120)]
                assert counting.most > 1
                await rows.aclose()  # type: ignore[attr-defined]
                assert counting.now == 0
                assert asyncio.all_tasks() == {asyncio.current_task()}
                return got

        taken = asyncio.run(main())
    assert taken == messages[:120]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_failing_page_raises_once_and_nothing_is_yielded_twice(
    kind: str, api_url: str, seeded: tuple[str, list[str]]
) -> None:
    run_id, messages = seeded
    counting = Counting(fails=lambda offset: 90 <= offset < 110)  # the third page of 50
    got: list[str] = []
    if kind == "sync":
        with SyncPrefectClient(
            api_url, httpx_settings={"transport": SyncCounting(counting)}
        ) as client:
            client.page_size = PAGE
            client._read_ahead[ROUTE] = WIDE
            with pytest.raises(PermissionDeniedError, match="page refused"):
                for row in client.iter_logs(of_run(run_id)):
                    got.append(str(row.message))
            assert counting.now == 0 and page_threads() == []
    else:

        async def main() -> None:
            async with PrefectClient(
                api_url, httpx_settings={"transport": AsyncCounting(counting)}
            ) as client:
                client.page_size = PAGE
                client._read_ahead[ROUTE] = WIDE
                with pytest.raises(PermissionDeniedError, match="page refused"):
                    async for row in client.iter_logs(of_run(run_id)):
                        got.append(str(row.message))
                assert counting.now == 0

        asyncio.run(main())
    assert got == messages[: len(got)] and len(got) <= 100  # in order, once, none past page 2
    assert max(counting.offsets) > 110  # pages after the failing one were in flight


@pytest.fixture
def scheduled(api_url: str, unique: str) -> Iterator[tuple[httpx.Client, str, set[str]]]:
    """A flow with 60 runs in the past; the raw client to add more, the flow, the runs' ids."""
    with httpx.Client(base_url=api_url, timeout=60) as http:
        flow_id = create_flow(http, unique)
        past = datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc)
        create_runs(http, flow_id, [f"{unique}-old-{i}" for i in range(OLD_RUNS)], past)
        body = {"flows": by_flow(flow_id), "limit": 200, "offset": 0}
        ids = {run["id"] for run in http.post("/flow_runs/filter", json=body).json()}
        assert len(ids) == OLD_RUNS
        yield http, flow_id, ids


def newer(http: httpx.Client, flow_id: str, batch: int) -> None:
    """Runs whose expected start time is later than every run's so far: they sort first."""
    start = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        hours=batch
    )
    create_runs(
        http, flow_id, [f"new-{batch}-{i}-{uuid.uuid4().hex[:6]}" for i in range(NEW_RUNS)], start
    )


def test_concurrent_inserts_every_earlier_run_exactly_once(
    client: Any, scheduled: tuple[httpx.Client, str, set[str]]
) -> None:
    http, flow_id, before = scheduled
    sdk = real(client)
    sdk.page_size = RUN_PAGE
    sdk._read_ahead[RUN_ROUTE] = WIDE
    arguments = {"flow_filter": by_flow(flow_id), "sort": "EXPECTED_START_TIME_DESC"}
    seen: list[str] = []

    def after(count: int) -> None:
        if count % RUN_PAGE == 0:
            newer(http, flow_id, count // RUN_PAGE)

    if isinstance(sdk, SyncPrefectClient):
        for run in sdk.iter_flow_runs(**arguments):
            seen.append(str(run.id))
            after(len(seen))
    else:

        async def main() -> None:
            async for run in sdk.iter_flow_runs(**arguments):
                seen.append(str(run.id))
                after(len(seen))

        client.run(main())
    assert len(seen) == len(set(seen)), "a run was returned twice"
    assert before <= set(seen), "a run present before the read was missed"

    # A plain offset loop over the same route, with the same inserts, repeats runs.
    plain: list[str] = []
    offset, batch = 0, 100
    while True:
        body = {
            "flows": by_flow(flow_id),
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": RUN_PAGE,
            "offset": offset,
        }
        page = http.post("/flow_runs/filter", json=body).json()
        plain.extend(run["id"] for run in page)
        if len(page) < RUN_PAGE:
            break
        offset += len(page)
        batch += 1
        newer(http, flow_id, batch)
    assert len(plain) > len(set(plain))
