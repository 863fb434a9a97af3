"""Read-ahead paging without a server: the `ReadAhead` controller with fake timings, and the
paging generators driven by a small driver of this file's own over an in-memory table.

The driver answers a `Submit`ted request either at once or only when it is awaited, so a test
can make the server read a later page before an earlier one, the case where an insert between
the two reads would let a row slip by a plain offset loop.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from prefect_sdk._concurrent import Await, Cancel, Handle, Submit
from prefect_sdk._operations import Item
from prefect_sdk._paging import (
    FAILED_GAP,
    FRESH_GAP,
    ClientPages,
    Learnt,
    ReadAhead,
    check_page_concurrency,
    iterate,
    read_all,
)

# ------------------------------------------------------------------------ the controller


def simulate(control: ReadAhead, pages: int, seconds_per_page: Callable[[int], float]) -> list[int]:
    """Feed `control` `pages` completions of 10 rows; a page takes `seconds_per_page(window)`
    of wall time. The windows it chose, page by page."""
    now = 0.0
    windows = []
    for _ in range(pages):
        windows.append(control.window)
        now += seconds_per_page(control.window)
        control.completed(10, now)
    return windows


def scaling(workers: int, contention: float = 1.0) -> Callable[[int], float]:
    """A server with `workers` that each answer a page in 0.1 s; above one page at a time every
    page is `contention` times slower (a single-process server: 1/0.7)."""

    def seconds(window: int) -> float:
        slow = contention if window > 1 else 1.0
        return 0.1 * slow / min(window, workers)

    return seconds


def test_window_grows_while_throughput_grows_up_to_the_cap() -> None:
    control = ReadAhead(4)
    windows = simulate(control, 40, scaling(workers=8))
    assert windows[0] == 1
    assert max(windows) == 4
    assert windows[-10:] == [4] * 10
    assert control.base == 4


def test_window_shrinks_back_when_a_larger_one_does_not_pay() -> None:
    control = ReadAhead(4)
    windows = simulate(control, 200, scaling(workers=2))
    assert 3 in windows  # it tried three ...
    assert control.base == 2  # ... and went back to two
    assert windows.count(3) <= 12  # rare probes: the gap doubles after each failure
    assert control.gap >= FAILED_GAP


def test_where_concurrency_hurts_it_stays_sequential_but_for_rare_probes() -> None:
    control = ReadAhead(4)
    seconds = scaling(workers=1, contention=1 / 0.65)
    windows = simulate(control, 300, seconds)
    assert control.base == 1
    probing = sum(1 for window in windows if window > 1)
    assert probing <= 10  # a few probes of two pages in 300 pages
    spent = sum(seconds(window) for window in windows)
    assert spent <= 1.05 * 300 * seconds(1)


@pytest.mark.parametrize("two_at_once", [0.61, 0.68, 0.75])
def test_no_first_read_is_much_slower_than_sequential_where_concurrency_hurts(
    two_at_once: float,
) -> None:
    # A fresh client, a single-process server where two pages at once go at `two_at_once` of
    # the sequential speed (the range measured on SQLite): reads of every length up to 400 pages.
    seconds = scaling(workers=1, contention=1 / two_at_once)
    worst = max(
        sum(seconds(window) for window in simulate(ReadAhead(4), pages, seconds))
        / (pages * seconds(1))
        for pages in range(1, 400)
    )
    assert worst <= {0.61: 1.065, 0.68: 1.05, 0.75: 1.04}[two_at_once]
    short = simulate(ReadAhead(4), FRESH_GAP, seconds)
    assert short == [1] * FRESH_GAP  # a read over before the first probe is plain sequential


def test_what_a_read_learnt_carries_over_to_the_next() -> None:
    first = ReadAhead(4)
    simulate(first, 40, scaling(workers=1, contention=1.5))
    learnt = first.learnt()
    assert learnt.window == 1 and learnt.gap >= FAILED_GAP
    second = ReadAhead(4, learnt)
    windows = simulate(second, 15, scaling(workers=1, contention=1.5))
    assert windows == [1] * 15  # no probe until the learnt gap has passed

    fast = ReadAhead(4, Learnt(4, 2, 0))
    assert fast.window == 4
    assert ReadAhead(2, Learnt(4, 2, 0)).window == 2  # a smaller cap wins


def test_cap_is_respected_and_one_means_sequential() -> None:
    three = ReadAhead(3)
    assert max(simulate(three, 100, scaling(workers=16))) == 3
    one = ReadAhead(1)
    assert simulate(one, 100, scaling(workers=16)) == [1] * 100


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_page_concurrency_must_be_a_whole_number_of_at_least_one(bad: object) -> None:
    with pytest.raises(ValueError, match="page_concurrency must be a whole number >= 1"):
        check_page_concurrency(bad)


# --------------------------------------------------------------- the paging generators


@dataclass(frozen=True)
class Row:
    id: str
    n: int


@dataclass(frozen=True)
class Plain:
    """A row without an id: not de-duplicated."""

    n: int


class Table:
    """An ordered table answering `POST /rows {"offset", "limit"}`."""

    def __init__(self, count: int, *, keyed: bool = True) -> None:
        self.keyed = keyed
        self.rows: list[Any] = [self.make(n) for n in range(count)]
        self.asked: list[tuple[int, int]] = []
        self.fail_offsets: set[int] = set()
        self.inserted = 0

    def make(self, n: int) -> Any:
        return Row(str(uuid.uuid4()), n) if self.keyed else Plain(n)

    def insert_at_front(self, count: int) -> None:
        for _ in range(count):
            self.inserted += 1
            self.rows.insert(0, self.make(-self.inserted))

    def answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        offset, limit = body["offset"], body["limit"]
        self.asked.append((offset, limit))
        if offset in self.fail_offsets:
            raise httpx.ConnectError("page refused", request=request)
        page = self.rows[offset : offset + limit]
        return httpx.Response(200, request=request, extensions={"rows": page})


def reader(
    table: Table,
) -> Callable[[int, int], Generator[httpx.Request, httpx.Response, list[Any]]]:
    def read_page(offset: int, limit: int) -> Generator[httpx.Request, httpx.Response, list[Any]]:
        request = httpx.Request("POST", "http://test/rows", json={"offset": offset, "limit": limit})
        response = yield request
        rows: list[Any] = response.extensions["rows"]
        return rows

    return read_page


class FakeClient:
    """What `ClientPages` reads of a client: its cap, and what read-ahead learnt before."""

    def __init__(self, page_concurrency: int, learnt: Learnt | None = None) -> None:
        self.page_concurrency = page_concurrency
        self._root = self
        self._read_ahead: dict[str, Learnt] = {"rows": learnt} if learnt else {}


def wide(table: Table, cap: int = 4) -> ClientPages[Any]:
    """A reader that starts at `cap` pages in flight, as after a read that learnt it pays."""
    return ClientPages(FakeClient(cap, Learnt(cap, 2, 10**6)), "rows", reader(table))


class Driver:
    """Carries out a paging generator's steps against a `Table`, as the clients' drivers do.

    `late`: a submitted request is read by the table only when awaited, unless another one is
    still unread (then at once): the server reads a later page before an earlier one.
    """

    def __init__(
        self, table: Table, *, late: bool = False, after_item: Callable[[int], None] | None = None
    ) -> None:
        self.table = table
        self.late = late
        self.after_item = after_item
        self.pending: dict[Handle, Any] = {}  # a request not read yet, or its answer / error
        self.most_in_flight = 0
        self.cancelled = 0
        self.in_flight_when_raised: int | None = None

    def _read(self, request: httpx.Request) -> Any:
        try:
            return self.table.answer(request)
        except httpx.HTTPError as error:
            return error

    def perform(self, step: Any) -> Any:
        if isinstance(step, httpx.Request):
            return self.table.answer(step)
        if isinstance(step, Submit):
            handle = Handle()
            unread = any(isinstance(value, httpx.Request) for value in self.pending.values())
            self.pending[handle] = (
                step.request if self.late and not unread else self._read(step.request)
            )
            self.most_in_flight = max(self.most_in_flight, len(self.pending))
            return handle
        if isinstance(step, Await):
            value = self.pending.pop(step.handle)
            if isinstance(value, httpx.Request):
                value = self._read(value)
            if isinstance(value, Exception):
                raise value
            return value
        assert isinstance(step, Cancel)
        for handle in step.handles:
            del self.pending[handle]
            self.cancelled += 1
        return None

    def run(self, steps: Generator[Any, Any, Any]) -> tuple[list[Any], Any]:
        items: list[Any] = []
        reply: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    step = steps.send(reply) if error is None else steps.throw(error)
                except StopIteration as done:
                    return items, done.value
                except Exception:
                    self.in_flight_when_raised = len(self.pending)
                    raise
                reply, error = None, None
                if isinstance(step, Item):
                    items.append(step.value)
                    if self.after_item is not None:
                        self.after_item(len(items))
                    continue
                try:
                    reply = self.perform(step)
                except Exception as caught:
                    error = caught
        finally:
            steps.close()


def test_rows_come_in_order_once_each_with_pages_read_out_of_order() -> None:
    table = Table(1_003)
    driver = Driver(table, late=True)
    items, _ = driver.run(iterate(wide(table), page_size=50))
    assert [row.n for row in items] == list(range(1_003))
    assert driver.most_in_flight == 4
    assert driver.pending == {}


def test_read_all_keeps_at_most_the_cap_in_flight_and_drops_pages_past_the_end() -> None:
    table = Table(420)
    driver = Driver(table)
    _, found = driver.run(
        read_all(reader(table), limit=None, offset=0, page_size=10, page_concurrency=3)
    )
    assert [row.n for row in found] == list(range(420))
    assert 1 < driver.most_in_flight <= 3  # it did read ahead, and no further than the cap
    assert driver.pending == {}


def test_page_concurrency_one_is_the_plain_sequential_loop() -> None:
    table = Table(120)
    driver = Driver(table)
    _, found = driver.run(
        read_all(reader(table), limit=None, offset=0, page_size=50, page_concurrency=1)
    )
    assert [row.n for row in found] == list(range(120))
    assert table.asked == [(0, 50), (50, 50), (100, 50)]
    assert driver.most_in_flight == 0  # no Submit at all


def test_no_page_asks_beyond_the_limit() -> None:
    table = Table(1_000)
    driver = Driver(table)
    _, found = driver.run(read_all(wide(table), limit=130, offset=7, page_size=50))
    assert [row.n for row in found] == list(range(7, 137))
    assert max(offset + limit for offset, limit in table.asked) <= 7 + 130


def test_a_failing_middle_page_raises_once_after_the_others_are_cancelled() -> None:
    table = Table(1_000)
    table.fail_offsets = {147}  # the fourth page (read ahead, each starts one row early)
    yielded: list[int] = []
    driver = Driver(table, after_item=yielded.append)
    with pytest.raises(httpx.ConnectError, match="page refused"):
        driver.run(iterate(wide(table), page_size=50))
    assert driver.cancelled >= 2  # the pages after it, cancelled before it raised
    assert driver.in_flight_when_raised == 0
    assert len(yielded) == len(set(yielded))
    assert len(yielded) <= 150  # nothing of the failing page or after it


def test_inserts_at_the_front_while_paging_every_old_row_once() -> None:
    for late in (False, True):
        table = Table(600)
        before = {row.id for row in table.rows}

        def insert(count: int, table: Table = table) -> None:
            if count % 50 == 0:
                table.insert_at_front(7)

        items, _ = Driver(table, late=late, after_item=insert).run(
            iterate(wide(table), page_size=50)
        )
        ids = [row.id for row in items]
        assert len(ids) == len(set(ids)), "a row was handed out twice"
        assert before <= set(ids), "a row present before the read was skipped"


def test_sequential_paging_drops_rows_that_inserts_pushed_into_the_next_page() -> None:
    table = Table(300)
    before = {row.id for row in table.rows}
    items, _ = Driver(table, after_item=lambda count: count % 50 or table.insert_at_front(3)).run(
        iterate(reader(table), page_size=50, page_concurrency=1)
    )
    ids = [row.id for row in items]
    assert len(ids) == len(set(ids)) and before <= set(ids)


def test_rows_without_an_id_are_not_deduplicated() -> None:
    table = Table(300, keyed=False)
    items, _ = Driver(table, after_item=lambda count: count % 50 or table.insert_at_front(3)).run(
        iterate(reader(table), page_size=50, page_concurrency=1)
    )
    numbers = [row.n for row in items]
    assert len(numbers) > len(set(numbers))  # the plain offset loop's repeats, let through


def test_limit_zero_and_bad_arguments() -> None:
    table = Table(10)
    _, found = Driver(table).run(
        read_all(reader(table), limit=0, offset=0, page_size=5, page_concurrency=4)
    )
    assert found == [] and table.asked == []
    with pytest.raises(ValueError, match="page_concurrency must be a whole number >= 1, not 0"):
        Driver(table).run(iterate(reader(table), page_size=5, page_concurrency=0))
    with pytest.raises(ValueError, match="limit must be a whole number >= 0"):
        Driver(table).run(read_all(reader(table), limit=-1, offset=0))


@pytest.mark.parametrize("cap", [1, 4])
def test_the_next_page_is_sent_before_the_page_in_is_parsed(cap: int) -> None:
    # A fresh client (window 1 for its first 20 pages): each page after the first is sent as soon
    # as the answer before it is in, so the server works while that answer is parsed; the server
    # still has one request at a time. page_concurrency=1 is the plain loop: send, parse, send.
    table = Table(1_000)
    log: list[str] = []
    answer = table.answer

    def logged(request: httpx.Request) -> httpx.Response:
        log.append("sent")
        return answer(request)

    table.answer = logged  # type: ignore[method-assign]

    plain = reader(table)

    def read_page(offset: int, limit: int) -> Generator[httpx.Request, httpx.Response, list[Any]]:
        rows = yield from plain(offset, limit)
        log.append("parsed")
        return rows

    driver = Driver(table)
    _, found = driver.run(
        read_all(
            ClientPages(FakeClient(cap), "rows", read_page), limit=None, offset=0, page_size=50
        )
    )
    assert [row.n for row in found] == list(range(1_000))
    assert driver.most_in_flight == (0 if cap == 1 else 1)  # cap 1 sends plain requests
    ahead = []  # pages sent but not parsed, at each parse
    for index, event in enumerate(log):
        if event == "parsed":
            before = log[:index]
            ahead.append(before.count("sent") - before.count("parsed"))
    if cap == 1:
        assert ahead == [1] * len(ahead)
    else:
        assert ahead[0] == 1  # the first page is read alone
        assert ahead[1:] == [2] * (len(ahead) - 1)
