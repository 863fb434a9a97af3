"""Offset paging: pages read ahead when the server gains from it, every row once, in order.

Prefect's list routes take `limit` and `offset`. `read_all` and `iterate` ask for pages of
`page_size` rows until a short page, so a caller is never cut off at the server's cap.

Read-ahead. Measured on Prefect 3 (pages of 200): a single-process SQLite server answers two
pages at once *slower* than one after the other (0.61-0.75x), a PostgreSQL server with two API
workers 1.75-2.1x faster. So the number of pages in flight is not fixed: `ReadAhead` (pure, no
I/O) watches the row throughput the caller gets (rows per second of wall time between pages)
and keeps a window of pages in flight that starts at 1, grows by one while each step up pays
(by more than `MARGIN`), and falls back to the best window when it does not, probing again only
after a gap that doubles on each failed probe; a route's first read on a client reads
`FRESH_GAP` pages one at a time before its first probe, which bounds what a probe can cost a
read (see there). What a read learnt is kept for the next read of
the same route on the same client, so a server where read-ahead does not pay is probed ever
more rarely. The client's `page_concurrency` (per call: `with_options(page_concurrency=N)`)
caps the window; 1 reads one page after the other, exactly as without read-ahead.

Overlap without contention. Under read-ahead the next page is sent as soon as the answer of the
page before is in, before that answer is parsed (`Submit` returns once a request is on the
wire): at a window of 1 the server still has one request at a time, but works on the next page
while the client parses the last one, so a read costs about the server's time alone rather than
the server's plus the client's. The price is one request past the end of every read of all rows
(dropped unanswered), which the plain loop of `page_concurrency=1` does not send.

Rows, once each. A row inserted before the current offset while a caller pages shifts the rows
after it one place later, so a plain offset loop reads the last row of a page again at the start
of the next one. Rows that have an `id` are handed out once: a set of the ids handed out (about
100 bytes a row) drops repeats. Pages that were in flight together may be answered by the server
in any order, and an insert between the reads of two neighbouring pages could then let a row
slip between them unseen; so each page read ahead starts one row early, on the last row of the
page before it, and a page whose first row is not that row is read again once its neighbour is
in (a page sent after its neighbour was answered cannot miss a row: inserts only push rows
later). Under concurrent inserts every row present when the read started is returned exactly
once; deletes can still make rows slip by, as with any offset paging. Rows without an `id` are
neither de-duplicated nor overlapped.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from ._concurrent import Await, Cancel, Handle, Submit
from ._operations import Item, Op

T = TypeVar("T")
R = TypeVar("R")

# The page size when none is given: the largest the server accepts by default (the clients'
# `page_size`, through `_resources._common.PAGE_SIZE`).
DEFAULT_PAGE_SIZE = 200
# The default cap on pages in flight (`PrefectClient(page_concurrency=...)`).
PAGE_CONCURRENCY = 4
# A larger window must give this much more throughput than the best smaller one to be kept.
MARGIN = 0.10
# Pages read at the settled window before the next probe: after a step up paid, after a failed
# probe (doubling on each failure), and at most.
FIRST_GAP = 2
FAILED_GAP = 32
MAX_GAP = 4096
# Pages a route's first read (on a client that has learnt nothing of it) reads one at a time
# before its first probe. Where read-ahead does not pay, a probe of two pages costs what those
# pages lose: measured 2 at once = 0.61-0.75 x the sequential speed on a single-process SQLite
# server, so 2 x (1 / 0.68 - 1) = 0.94 of a page's time. A read short enough that it is over
# before the probe pays nothing; one just past it pays 0.94 / 20 = 4.7 %, longer ones less; so
# at 0.68 x no first read is more than 5 % slower than sequential paging (simulated worst: 4.1 %;
# 5.6 % at the slowest measured, 0.61 x; 2.9 % at 0.75 x). The price, on a server where
# read-ahead pays: a fresh client's first 20 pages (4,000 rows) are read one at a time.
FRESH_GAP = 20

PageReader = Callable[[int, int], Op[list[T]]]
# A paging generator yields requests, the steps of `_concurrent.py` and (listings) `Item`s.
Steps = Generator[Any, Any, R]


def check_limit(limit: int | None, offset: int) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a whole number >= 0 or None, not {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number >= 0, not {offset!r}")


def check_page_concurrency(value: object) -> int:
    """`value` if it is a whole number >= 1; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"page_concurrency must be a whole number >= 1, not {value!r}")
    return value


@dataclass(frozen=True)
class Learnt:
    """What one read's `ReadAhead` hands to the next read of the same route."""

    window: int
    gap: int
    until_probe: int


class ReadAhead:
    """How many pages to keep in flight, from the throughput of the pages so far (no I/O).

    Call `completed(rows, now)` each time the next page in order is in (`now`: a monotonic
    clock); read `window`. The first call only starts the clock (a first page pays for
    connecting). Throughput is measured over samples of `max(2, window)` pages at one window.
    """

    def __init__(self, cap: int, learnt: Learnt | None = None, *, margin: float = MARGIN) -> None:
        self.cap = check_page_concurrency(cap)
        self.margin = margin
        start = learnt or Learnt(1, FIRST_GAP, FRESH_GAP)
        self.base = min(start.window, self.cap)  # the settled window
        self.window = self.base  # what to keep in flight now (base, or base + 1 when probing)
        self.gap = start.gap
        self.until_probe = start.until_probe
        self.rates: dict[int, float] = {}  # rows per second last measured at each window
        self._mark: float | None = None
        self._rows = 0
        self._pages = 0

    @property
    def probing(self) -> bool:
        return self.window > self.base

    def learnt(self) -> Learnt:
        return Learnt(self.base, self.gap, self.until_probe)

    def completed(self, rows: int, now: float) -> None:
        if self._mark is None:
            self._mark = now
            return
        self._rows += rows
        self._pages += 1
        if self._pages < max(2, self.window):
            return
        elapsed = now - self._mark
        rate = self._rows / elapsed if elapsed > 0 else float("inf")
        pages = self._pages
        self._mark, self._rows, self._pages = now, 0, 0
        self._decide(rate, pages)

    def _decide(self, rate: float, pages: int) -> None:
        if self.probing:
            if rate > self.rates.get(self.base, 0.0) * (1 + self.margin):
                self.base = self.window  # it paid: keep it, and try one more at once
                self.rates[self.base] = rate
                self.gap = FIRST_GAP
                self.until_probe = 0
                self.window = min(self.base + 1, self.cap)
            else:  # it did not: back to the best window, and wait longer before trying again
                self.rates[self.window] = rate
                self.window = self.base
                self.gap = min(max(self.gap * 2, FAILED_GAP), MAX_GAP)
                self.until_probe = self.gap
            return
        self.rates[self.base] = rate
        smaller = self.rates.get(self.base - 1)
        if smaller is not None and rate < smaller:  # the window no longer pays: halve it
            self.base = self.window = max(1, self.base // 2)
            self.until_probe = self.gap
            return
        self.until_probe -= pages
        if self.until_probe <= 0 and self.base < self.cap:
            self.window = self.base + 1


class ClientPages(Generic[T]):
    """A `PageReader` of one of a client's list routes, which also tells the paging the client's
    `page_concurrency` and keeps what read-ahead learnt of the route on the client."""

    def __init__(self, client: Any, route: str, read_page: PageReader[T]) -> None:
        self.client = client
        self.route = route
        self.read_page = read_page

    def __call__(self, offset: int, limit: int) -> Op[list[T]]:
        return self.read_page(offset, limit)

    @property
    def page_concurrency(self) -> int:
        return int(getattr(self.client, "page_concurrency", 1))

    @property
    def memory(self) -> dict[str, Learnt]:
        memory: dict[str, Learnt] = self.client._root._read_ahead
        return memory


def _key(row: Any) -> object:
    """The row's id, if it has one that can be compared (not the generated models' UNSET)."""
    key = getattr(row, "id", None)
    return key if isinstance(key, uuid.UUID | str | int) else None


class _Seen:
    """The ids handed out so far: a set, so the memory cost is one id per row."""

    def __init__(self) -> None:
        self.ids: set[object] = set()

    def first_time(self, row: Any) -> bool:
        key = _key(row)
        if key is None:
            return True
        if key in self.ids:
            return False
        self.ids.add(key)
        return True


@dataclass(eq=False)
class _Page(Generic[T]):
    offset: int
    size: int
    new_rows: int  # rows past the previous page's (size, less the overlapping row)
    after_previous: bool  # sent once every earlier page was in: cannot have missed a row
    op: Op[list[T]]
    handle: Handle


def _start(read_page: PageReader[T], page: dict[str, Any]) -> Steps[_Page[T]]:
    op = read_page(page["offset"], page["size"])
    handle = yield Submit(next(op))
    return _Page(op=op, handle=handle, **page)


def _finish(page: _Page[T], received: Callable[[], Steps[None]]) -> Steps[list[T]]:
    """The rows of a submitted page (a page's further requests, if any, are sent one by one);
    `received` runs once its answer is in, before it is parsed."""
    op = page.op
    try:
        try:
            response: httpx.Response = yield Await(page.handle)
        except Exception as error:  # the page's operation may handle it, as when driven bare
            step = op.throw(error)
        else:
            yield from received()
            step = op.send(response)
        while True:
            try:
                response = yield step
            except Exception as error:
                step = op.throw(error)
            else:
                step = op.send(response)
    except StopIteration as done:
        rows: list[T] = done.value
        return rows


def rows(
    read_page: PageReader[T],
    *,
    offset: int,
    page_size: int,
    limit: int | None = None,
    page_concurrency: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Steps[None]:
    """Yield an `Item` for each row from `offset` on (the first `limit` of them), in order."""
    check_limit(limit, offset)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"page_size must be a whole number >= 1, not {page_size!r}")
    if page_concurrency is None and isinstance(read_page, ClientPages):
        page_concurrency = read_page.page_concurrency
    cap = check_page_concurrency(1 if page_concurrency is None else page_concurrency)
    if limit == 0:
        return
    seen = _Seen()
    size = page_size if limit is None else min(page_size, limit)
    page = yield from read_page(offset, size)
    if cap == 1 or len(page) < size or len(page) == limit:
        wanted = limit
        while True:
            for row in page:
                if seen.first_time(row):
                    yield Item(row)
                    if wanted is not None:
                        wanted -= 1
            if len(page) < size or wanted == 0:
                return
            offset += len(page)
            size = page_size if wanted is None else min(page_size, wanted)
            page = yield from read_page(offset, size)
    memory: Mapping[str, Learnt] = {}
    if isinstance(read_page, ClientPages):
        memory = read_page.memory
    yield from _ahead(read_page, page, offset, page_size, limit, cap, memory, seen, clock)


def _ahead(
    read_page: PageReader[T],
    first: list[T],
    offset: int,
    page_size: int,
    limit: int | None,
    cap: int,
    memory: Mapping[str, Learnt],
    seen: _Seen,
    clock: Callable[[], float],
) -> Steps[None]:
    """The rows of a full first page and of the pages after it, up to the `ReadAhead` window of
    them in flight (sent before the rows of the page that is in are handed out)."""
    route = read_page.route if isinstance(read_page, ClientPages) else ""
    control = ReadAhead(cap, memory.get(route))
    control.completed(len(first), clock())
    keyed = page_size > 1 and bool(first) and all(_key(row) is not None for row in first)
    overlap = 1 if keyed else 0
    wanted = limit
    frontier = offset + len(first)  # the position after the rows the sent pages would cover
    previous = first
    in_flight: deque[_Page[T]] = deque()
    parsing = 0  # the new rows of the page whose answer is in and being parsed

    def fill() -> Steps[None]:
        nonlocal frontier
        ahead = parsing + sum(page.new_rows for page in in_flight)
        while len(in_flight) < control.window and (wanted is None or wanted > ahead):
            size = page_size if wanted is None else min(page_size, wanted - ahead + overlap)
            start = {"offset": frontier - overlap, "size": size, "new_rows": size - overlap}
            page = yield from _start(read_page, {**start, "after_previous": not in_flight})
            in_flight.append(page)
            frontier += page.new_rows
            ahead += page.new_rows

    def cancel_rest() -> Steps[None]:
        if in_flight:
            yield Cancel(tuple(page.handle for page in in_flight))
            _close(in_flight)

    got = first
    ended = False
    try:
        while True:
            if wanted is not None:
                wanted -= sum(1 for row in got if _key(row) is None or _key(row) not in seen.ids)
            if wanted == 0 or ended:
                yield from cancel_rest()
            else:
                yield from fill()  # keep the window full while the caller takes these rows
            for row in got:
                if seen.first_time(row):
                    yield Item(row)
            if not in_flight:
                return
            while True:
                head = in_flight.popleft()
                parsing = head.new_rows
                try:
                    # The next page is sent as soon as this one's answer is in, so the server
                    # works on it while this one is parsed (at a window of 1 the server still
                    # has one request at a time); if this page is the last, it is dropped.
                    got = yield from _finish(head, fill)
                except Exception:  # the first failing page in order: drop the rest, then raise
                    yield from cancel_rest()
                    raise
                finally:
                    parsing = 0
                if head.after_previous or not overlap:
                    break
                if got and _key(got[0]) == _key(previous[-1]):
                    break
                # Rows moved between this page's read and its neighbour's: read it again, now
                # that the neighbour is in, and the pages after it too.
                yield from cancel_rest()
                frontier = head.offset + overlap
                yield from fill()
            control.completed(len(got), clock())
            ended = len(got) < head.size  # the end: pages asked past it are dropped
            previous = got if got else previous
    finally:
        if isinstance(memory, dict) and route:
            memory[route] = control.learnt()
        _close(in_flight)


def _close(pages: deque[_Page[Any]]) -> None:
    for page in pages:
        page.op.close()
    pages.clear()


def read_all(
    read_page: PageReader[T],
    *,
    limit: int | None,
    offset: int,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_concurrency: int | None = None,
) -> Steps[list[T]]:
    """Every row from `offset` on, or the first `limit` of them, in the server's order, each
    row with an `id` once (see the module docstring); pages are read ahead when that pays."""
    steps = rows(
        read_page,
        offset=offset,
        page_size=page_size,
        limit=limit,
        page_concurrency=page_concurrency,
    )
    found: list[T] = []
    reply: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                step = steps.send(reply) if error is None else steps.throw(error)
            except StopIteration:
                return found
            reply, error = None, None
            if isinstance(step, Item):
                found.append(step.value)
                continue
            try:
                reply = yield step
            except Exception as caught:  # handed to the paging, which hands it to the page
                error = caught
    finally:
        steps.close()


def iterate(
    read_page: PageReader[T],
    *,
    offset: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_concurrency: int | None = None,
) -> Steps[None]:
    """Yield every row from `offset` on, in the server's order, each row with an `id` once;
    at most the read-ahead window of pages is held (see the module docstring)."""
    yield from rows(
        read_page, offset=offset, page_size=page_size, page_concurrency=page_concurrency
    )
