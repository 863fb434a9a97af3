"""Both clients against the real server behind a fault-injecting proxy.

The proxy (`fault_proxy.py`) answers every 5th request with a fault instead of the server's
answer: 429/503 with `Retry-After` in seconds or as an HTTP date, a 502 HTML page with none,
a connection dropped before or in the middle of the answer (the latter after the server did the
work), or an answer held back past the client's read timeout (again after the work was
done). A workload of 500+ creates and reads through a SyncPrefectClient and a PrefectClient at
once must come through whole: every call succeeds, every fault is retried exactly once per
fault, every wait honours `Retry-After`, and the server, read directly afterwards, holds exactly
the rows the callers were told about.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from prefect_sdk import (
    PrefectClient,
    PrefectHTTPStatusError,
    PrefectSDKError,
    SyncPrefectClient,
)
from prefect_sdk import states as st
from prefect_sdk._policy import RETRY_STATUSES
from tests.reliability import workload
from tests.reliability.conftest import RETRY_LINE, RetryLog
from tests.reliability.fault_proxy import (
    FORWARDED_KINDS,
    KINDS,
    Always,
    Event,
    EveryKth,
    FaultProxy,
    without_server_retries,
)

pytestmark = pytest.mark.usefixtures("short_backoff")

READ_TIMEOUT = 2.0
# The held-back answer comes this long after the request: well past READ_TIMEOUT, so that a
# client thread or task held up a while between sending and reading still times out (it costs
# nothing: the client has given up on it and sent the retry after READ_TIMEOUT).
PROXY_DELAY = READ_TIMEOUT + 3.0
# The schedule faults one request at most twice, but SQLite's own 503s ("database is locked")
# spend retries too: on a busy 2-core machine a create met ten in a row, and 12 were spent.
MAX_RETRIES = 30
UNITS_PER_WORKER = (11, 10, 10)  # units of work per thread (sync) and per task (async)
EARLY = 0.02  # how much sooner than asked a retry may arrive (clock and scheduling noise)

# The reason each fault must be logged with when the client retries it.
LOGGED_REASON = {
    "429-retry-after-0": {"429"},
    "503-retry-after-1": {"503"},
    "503-retry-after-date": {"503"},
    "502-no-retry-after": {"502"},
    "drop-before-forward": {"RemoteProtocolError"},
    "close-mid-response": {"RemoteProtocolError", "ReadError"},
    "delay-past-timeout": {"ReadTimeout"},
}


def timeouts() -> httpx.Timeout:
    return httpx.Timeout(10.0, read=READ_TIMEOUT)


@dataclass
class Ledger(workload.Ledger):
    """What the callers were told: results and errors, per operation."""

    flows: dict[str, uuid.UUID] = field(default_factory=dict)  # name -> id returned
    keyed_runs: dict[str, uuid.UUID] = field(default_factory=dict)  # idempotency key -> run id
    plain_runs: dict[str, uuid.UUID] = field(default_factory=dict)  # run name -> run id
    verdicts: list[tuple[uuid.UUID, str, Any]] = field(default_factory=list)


class Unit:
    """One unit of the workload, written once for both clients as a generator of calls.

    It yields (method name, args, kwargs) and is sent each result; `workload.drive_sync` and
    `workload.drive_async` make the calls with a sync or an async client.
    """

    def __init__(self, prefix: str, number: int, deployment_id: uuid.UUID, ledger: Ledger):
        self.prefix = prefix
        self.number = number
        self.deployment_id = deployment_id
        self.ledger = ledger

    def steps(self) -> workload.Steps:
        ledger = self.ledger
        name = f"{self.prefix}-flow-{self.number}"
        flow_id = yield ("create_flow_from_name", (name,), {})
        ledger.flows[name] = flow_id
        flow = yield ("read_flow", (flow_id,), {})
        assert flow.id == flow_id and flow.name == name

        key = f"{self.prefix}-key-{self.number}"
        run = yield (
            "create_flow_run_from_deployment",
            (self.deployment_id,),
            {"idempotency_key": key},
        )
        ledger.keyed_runs[key] = run.id
        again = yield (
            "create_flow_run_from_deployment",
            (self.deployment_id,),
            {"idempotency_key": key},
        )
        assert again.id == run.id, "the same idempotency key gave a second run"

        for proposed in (st.Pending(), st.Running()):
            verdict = yield ("set_flow_run_state", (run.id, proposed), {})
            ledger.verdicts.append((run.id, proposed.type_.value, verdict))

        rows = yield ("read_flow_runs", (), {"flow_run_filter": {"id": {"any_": [str(run.id)]}}})
        assert [row.id for row in rows] == [run.id]
        flows = yield ("read_flows", (), {"flow_filter": {"name": {"any_": [name]}}, "limit": 5})
        assert [row.id for row in flows] == [flow_id]

        if self.number % 4 == 0:  # a create without the caller's key: the SDK sends its own
            run_name = f"{self.prefix}-plain-{self.number}"
            plain = yield ("create_flow_run", (flow_id,), {"name": run_name})
            ledger.plain_runs[run_name] = plain.id


def next_attempt(events: list[Event], event: Event) -> Event | None:
    """The next request the proxy received with the same method, path and body."""
    return next((e for e in events if e.index > event.index and e.key == event.key), None)


def lost_creates(events: list[Event], route: str) -> tuple[int, int]:
    """How many POSTs to `route` the server made whose answer the client never saw, and how
    many more it may have made.

    A fault sent after forwarding lost a row the server made only when the server's own answer
    was a success: a forwarded request that the server refused (a 503 for a locked SQLite
    database) or that never reached it made nothing. A request whose forwarding failed part way
    (the proxy's 502, or a held-back answer with no upstream answer) may or may not have.
    """
    posts = [e for e in events if e.method == "POST" and e.route == route]
    made = sum(
        1
        for e in posts
        if e.kind in FORWARDED_KINDS and e.status is not None and 200 <= e.status < 300
    )
    unsure = sum(1 for e in posts if e.upstream_failed)
    return made, unsure


# What the client logs a retry with, for each attempt the proxy had: exactly, except where the
# server itself answered slowly (an attempt answered in more than half the read timeout may
# have been timed out by the client first, and logged as a ReadTimeout instead of its status).
DROPPED = ("RemoteProtocolError", "ReadError")  # which one depends on the moment it broke
MATCH_EARLY = 0.25  # how much sooner than the proxy's clock says a retry line may be written
MATCH_LATE = 5.0  # and how much later (a busy machine)


def client_reasons(event: Event, read_timeout: float = READ_TIMEOUT) -> tuple[str, ...]:
    """The reasons the client may log a retry of this attempt with (none: it does not retry
    it). An ordinary answer that took longer than half the read timeout may have come after it."""
    if event.kind is None:
        reasons = (str(event.status),) if event.status in RETRY_STATUSES else ()
        slow = event.answered - event.received > read_timeout / 2
        return (*reasons, "ReadTimeout") if slow else reasons
    if event.kind == "close-mid-response" and event.upstream_failed:
        return ("502",)  # nothing to cut short: the proxy answered its own 502, whole
    return tuple(sorted(LOGGED_REASON[event.kind]))


def logged_as(reason: str) -> str:
    """A retry line's reason, with DROPPED's two as one."""
    return "dropped" if reason in DROPPED else reason


def expected_retries(
    events: list[Event], read_timeout: float = READ_TIMEOUT
) -> tuple[Counter[str], Counter[str]]:
    """The least and the most retries the client can have logged for the proxy's attempts,
    per reason (`logged_as`), and under "all" in total.

    An attempt with one possible reason counts for it in both. A slow answer with a retryable
    status was retried once, for its status or as a ReadTimeout: once in the total, in the most
    of both. A slow answer the client would not have retried was retried only if it timed out
    first: in the most of ReadTimeout and of the total.
    """
    least: Counter[str] = Counter()
    most: Counter[str] = Counter()
    for event in events:
        reasons = {logged_as(r) for r in client_reasons(event, read_timeout)}
        if not reasons:
            continue
        optional = event.kind is None and event.status not in RETRY_STATUSES
        most.update(reasons | {"all"})
        if not optional:
            least["all"] += 1
            if len(reasons) == 1:
                least.update(reasons)
    return least, most


def match_retries(
    events: list[Event],
    retries: list[tuple[float, re.Match[str]]],
    api_url: str,
    read_timeout: float = READ_TIMEOUT,
) -> list[str]:
    """The proxy's and the client's view of every attempt, matched one by one: the report of
    those that do not match (empty when all do).

    Each retry line (method, URL, reason, when written) is matched with an attempt the proxy
    had for the same method and path, whose answer could have been logged with that reason,
    and that was answered (or timed out) shortly before the line was written: as many as can
    be, those the client must have retried first. Left over
    are retry lines no attempt accounts for (a request that did not go through the proxy, an
    answer the proxy recorded otherwise), and attempts the client should have retried but did
    not log; each is shown with the proxy's attempts and the client's lines on that path
    within a few seconds of it.
    """
    origin = api_url[: -len(urlsplit(api_url).path) or None]

    def path_of(url: str) -> str:
        return url[len(origin) :] if url.startswith(origin) else url

    def due(event: Event, reason: str) -> float:
        """When the client can have written its retry line for this attempt, by the proxy's
        clock: once the answer went out, or once the read timeout ran out."""
        if reason == "ReadTimeout":
            return min(event.answered, event.received + read_timeout)
        return event.answered

    open_events = [e for e in events if client_reasons(e, read_timeout)]
    lines = sorted(retries, key=lambda r: r[0])

    def fits(event: Event, line: tuple[float, re.Match[str]]) -> bool:
        when, match = line
        reason = match["reason"]
        return (
            event.method == match["method"]
            and event.path == path_of(match["url"])
            and reason in client_reasons(event, read_timeout)
            and due(event, reason) - MATCH_EARLY <= when <= due(event, reason) + MATCH_LATE
        )

    # A maximum matching (augmenting paths), the attempts the client must have retried first:
    # an attempt once matched stays matched, so an optional one cannot take a line from them.
    candidates = {
        e.index: [i for i, line in enumerate(lines) if fits(e, line)] for e in open_events
    }
    line_of: dict[int, int] = {}  # event index -> line
    event_of: dict[int, int] = {}  # line -> event index

    def augment(event: int, seen: set[int]) -> bool:
        for i in candidates[event]:
            if i in seen:
                continue
            seen.add(i)
            if i not in event_of or augment(event_of[i], seen):
                event_of[i], line_of[event] = event, i
                return True
        return False

    optional = {
        e.index for e in open_events if e.kind is None and e.status not in RETRY_STATUSES
    }  # an ordinary answer, slow: a timeout may or may not have followed
    for event in sorted(open_events, key=lambda e: e.index in optional):
        augment(event.index, set())
    stray = [line for i, line in enumerate(lines) if i not in event_of]
    unlogged = [e for e in open_events if e.index not in line_of and e.index not in optional]

    def context(method: str, path: str, around: float) -> list[str]:
        near = [
            f"    proxy  #{e.index} {e.kind or 'relayed'} {e.status} received "
            f"{e.received:.3f} answered {e.answered:.3f} (connection {e.connection_id})"
            for e in events
            if e.method == method and e.path == path and abs(e.received - around) < 4.0
        ]
        written = [
            f"    client {when:.3f} {line.string}"
            for when, line in lines
            if line["method"] == method
            and path_of(line["url"]) == path
            and abs(when - around) < 4.0
        ]
        return near + written

    report = []
    for when, line in stray:
        report.append(
            f"a retry no attempt through the proxy accounts for: {when:.3f} {line.string}"
        )
        report.extend(context(line["method"], path_of(line["url"]), when))
    for event in unlogged:
        report.append(
            f"an attempt the client did not log a retry of: #{event.index} {event.method} "
            f"{event.path} {event.kind or 'relayed'} {event.status}, expected "
            f"{'/'.join(client_reasons(event, read_timeout))}"
        )
        report.extend(context(event.method, event.path, event.received))
    return report


def one_line(error: BaseException) -> bool:
    text = str(error)
    return bool(text.strip()) and "\n" not in text


def fake_event(index: int, kind: str | None, status: int | None, **extra: Any) -> Event:
    fields: dict[str, Any] = {
        "method": "POST",
        "path": "/api/flow_runs/",
        "key": "POST /api/flow_runs/ x",
        "received": 0.0,
        "received_wall": 0.0,
        "answered": 0.0,
        "answered_wall": 0.0,
        "retry_after": None,
        "retry_not_before": None,
        "connection_id": 1,
    }
    return Event(index=index, kind=kind, status=status, **{**fields, **extra})


def test_a_lost_answer_counts_as_a_row_only_when_the_server_made_it() -> None:
    """The workload's duplicate accounting, on the cases a busy machine produces."""
    events = [
        fake_event(1, "delay-past-timeout", 201),  # made, answer held back: a copy follows
        fake_event(2, "close-mid-response", 201),  # made, answer cut: a copy follows
        fake_event(3, "close-mid-response", 503),  # the server refused it: nothing made
        fake_event(4, "delay-past-timeout", None, upstream_failed=True),  # never answered
        fake_event(5, "503-retry-after-1", 503),  # refused by the proxy: never forwarded
        fake_event(6, None, 201),  # an ordinary create
    ]
    assert lost_creates(events, "/api/flow_runs/") == (2, 1)
    assert lost_creates(events, "/api/flows/") == (0, 0)


def timed(*lines: tuple[float, str]) -> list[tuple[float, re.Match[str]]]:
    """Retry lines as `RetryLog.timed_retries()` gives them."""
    return [(when, m) for when, line in lines if (m := RETRY_LINE.match(line))]


# A busy machine's cases: a fault, the server's own 503 (fast and slow), a slow 200, a held-back
# answer, a cut one, an ordinary answer. (received, answered) by the proxy's clock.
BUSY = [
    fake_event(1, "503-retry-after-1", 503, received=0.0, answered=0.0),
    fake_event(2, None, 503, received=1.0, answered=1.1),
    fake_event(3, None, 503, received=2.0, answered=4.1),  # slower than the read timeout
    fake_event(4, None, 200, received=5.0, answered=7.2),  # as slow, and not retryable
    fake_event(5, "delay-past-timeout", 201, received=8.0, answered=13.0),
    fake_event(6, "close-mid-response", 201, received=14.0, answered=14.1),
    fake_event(7, None, 201, received=15.0, answered=15.1),
]
PROXY = "http://127.0.0.1:9/api"
RUNS = f"POST {PROXY}/flow_runs/"
BUSY_RETRIES = [
    (0.01, f"{RUNS}: 503, retry 1 in 1.00s"),
    (1.12, f"{RUNS}: 503, retry 1 in 0.05s"),
    (4.01, f"{RUNS}: ReadTimeout, retry 1 in 0.05s"),  # #3: timed out before its 503 came
    (10.02, f"{RUNS}: ReadTimeout, retry 1 in 0.05s"),  # #5, at the read timeout
    (14.12, f"{RUNS}: RemoteProtocolError, retry 1 in 0.05s"),
]


def test_the_retry_accounting_allows_for_slow_answers_only() -> None:
    """Exact for every attempt but the server's slow answers, which the client may have timed
    out on: a slow 503 is one retry, for either reason; a slow 200 may be a ReadTimeout."""
    least, most = expected_retries(BUSY)
    assert least == Counter({"503": 2, "ReadTimeout": 1, "dropped": 1, "all": 5})
    assert most == Counter({"503": 3, "ReadTimeout": 3, "dropped": 1, "all": 6})


def test_retry_lines_are_matched_with_the_attempts_they_retried() -> None:
    assert match_retries(BUSY, timed(*BUSY_RETRIES), PROXY) == []

    # A retry of a request that did not go through the proxy (the direct client's) is left
    # over, and so is an attempt the client should have retried but did not log.
    direct = (0.5, "POST http://127.0.0.1:4200/api/flows/: 503, retry 1 in 0.05s")
    report = match_retries(BUSY, timed(direct, *BUSY_RETRIES[:1], *BUSY_RETRIES[2:]), PROXY)
    headlines = [line for line in report if not line.startswith(" ")]
    assert headlines == [
        "a retry no attempt through the proxy accounts for: 0.500 " + direct[1],
        "an attempt the client did not log a retry of: #2 POST /api/flow_runs/ relayed 503, "
        "expected 503",
    ]
    assert f"    client 0.010 {RUNS}: 503, retry 1 in 1.00s" in report  # the context shown


def test_the_servers_own_retries_are_not_the_faults_attempts() -> None:
    events = [
        fake_event(1, "close-mid-response", 201),
        fake_event(2, None, 503),  # SQLite's 503: sent again
        fake_event(3, None, 201, received=1.0, answered=3.5),  # too slow: sent again
        fake_event(4, None, 409),  # the answer that came through
        fake_event(5, None, 503, key="another request"),  # a last answer: kept
    ]
    kept = without_server_retries(events, READ_TIMEOUT)
    assert [e.index for e in kept] == [1, 4, 5]


@pytest.mark.timeout(150)
async def test_workload_through_faults(
    api_url: str, monkeypatch: pytest.MonkeyPatch, retry_log: RetryLog
) -> None:
    await check_workload_through_faults(api_url, monkeypatch, retry_log)


async def check_workload_through_faults(
    api_url: str, monkeypatch: pytest.MonkeyPatch, retry_log: RetryLog
) -> None:
    """The workload through the fault proxy, and every check of it (test_postgres runs it too)."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", str(MAX_RETRIES))
    prefix = f"faults-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        deployment_id = direct.create_deployment(
            direct.create_flow_from_name(f"{prefix}-deployed"), f"{prefix}-deployment"
        )

    ledger = Ledger()
    numbers = iter(range(10_000))
    sync_work = [
        [Unit(prefix, next(numbers), deployment_id, ledger) for _ in range(n)]
        for n in UNITS_PER_WORKER
    ]
    async_work = [
        [Unit(prefix, next(numbers), deployment_id, ledger) for _ in range(n)]
        for n in UNITS_PER_WORKER
    ]
    units = sum(UNITS_PER_WORKER) * 2

    started = time.monotonic()
    with FaultProxy(api_url, EveryKth(5, KINDS), delay=PROXY_DELAY) as proxy:
        settings = {"timeout": timeouts()}
        with SyncPrefectClient(proxy.api_url, httpx_settings=settings) as sync_client:
            async with PrefectClient(proxy.api_url, httpx_settings=settings) as async_client:
                await asyncio.gather(
                    *(
                        asyncio.to_thread(workload.drive_sync, sync_client, work)
                        for work in sync_work
                    ),
                    *(workload.drive_async(async_client, work) for work in async_work),
                )
    # Read after the proxy stopped: a held-back answer is recorded once its wait is over.
    events = proxy.events
    elapsed = time.monotonic() - started

    # --- every call succeeded (the retries could not be spent), and there were 500+ ---
    assert not ledger.errors, [f"{op}: {type(e).__name__}: {e}" for op, e in ledger.errors]
    assert sum(ledger.ops.values()) >= 500, ledger.ops
    assert ledger.ops["create_flow_from_name"] == units

    # --- every kind of fault happened, often; every fault was followed by a retry ---
    faults = [e for e in events if e.kind is not None]
    counts = Counter(e.kind for e in faults)
    assert set(counts) == set(KINDS), counts
    assert min(counts.values()) >= 10, counts
    assert all(next_attempt(events, e) is not None for e in faults)

    # --- the client retried each fault once, and each retryable answer of the server itself
    # (SQLite's "database is locked" is a 503; an upstream failure is the proxy's 502): the
    # retries of requests sent through the proxy (the client that made the deployment above
    # talked to the server directly, and may have met a 503 of its own) ---
    retries = [m for m in retry_log.retries() if m["url"].startswith(proxy.api_url + "/")]
    reasons = Counter(m["reason"] for m in retries)
    logged = Counter(logged_as(m["reason"]) for m in retries)
    # Each retry line matched with the proxy's attempt it was for: what does not match, with
    # both sides' records of it, is printed (and shown by a failing check below).
    mismatched = match_retries(events, retry_log.timed_retries(), proxy.api_url)
    if mismatched:
        print("\nretries that do not match the proxy's events:\n" + "\n".join(mismatched))
    least, most = expected_retries(events)
    genuine = Counter(
        str(e.status) for e in events if e.kind is None and e.status in RETRY_STATUSES
    )
    for reason in ("429", "502", "503", "dropped", "ReadTimeout", "all"):
        got = sum(logged.values()) if reason == "all" else logged[reason]
        assert least[reason] <= got <= most[reason], (
            reason,
            f"logged {got}, expected {least[reason]}-{most[reason]}",
            dict(reasons),
            dict(counts),
            dict(genuine),
            "\n".join(mismatched[:40]),
        )
    assert set(reasons) <= {"429", "502", "503", "RemoteProtocolError", "ReadError", "ReadTimeout"}

    # --- Retry-After, not backoff (50-400 ms here), set the waits it asked for ---
    delays = Counter((m["reason"], m["d"]) for m in retries)
    assert delays[("429", "0.00")] == counts["429-retry-after-0"]
    # "1" asks for 1.00 s; an HTTP date 1-2 s ahead can come out as 1.00 too (read at x.000 s).
    one_second = delays[("503", "1.00")] - counts["503-retry-after-1"]
    assert 0 <= one_second <= counts["503-retry-after-date"], (delays, counts)
    # An HTTP date 1-2 s ahead when sent; the client may read it a little later.
    from_date = sum(n for (r, d), n in delays.items() if r == "503" and 0.5 <= float(d) <= 2.0)
    assert from_date == counts["503-retry-after-date"] + counts["503-retry-after-1"]

    # --- and the request was sent again no sooner than Retry-After said ---
    waits: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for event in faults:
        retry = next_attempt(events, event)
        assert retry is not None
        if event.kind == "delay-past-timeout":  # the client waited its read timeout, no less
            waits[event.kind].append(retry.received - event.received)
            assert retry.received - event.received >= READ_TIMEOUT - EARLY
            continue
        waits[event.kind or ""].append(retry.received - event.answered)
        if event.kind in ("429-retry-after-0", "503-retry-after-1"):
            asked = float(event.retry_after or "nan")
            assert retry.received - event.answered >= asked - EARLY, (event, retry)
        if event.kind == "503-retry-after-date":
            assert event.retry_not_before is not None
            assert retry.received_wall >= event.retry_not_before - EARLY, (event, retry)
            assert retry.received - event.answered >= 1.0 - EARLY
    assert min(waits["503-retry-after-1"]) >= 1.0 - EARLY
    assert min(waits["503-retry-after-date"]) >= 1.0 - EARLY

    # --- the server holds exactly what the callers were told, nothing more ---
    with SyncPrefectClient(api_url) as direct:
        flows = direct.read_flows(flow_filter={"name": {"like_": f"{prefix}-flow-"}})
        assert sorted(f.name for f in flows) == sorted(ledger.flows)
        assert {f.name: f.id for f in flows} == ledger.flows

        runs = direct.read_flow_runs(deployment_filter={"id": {"any_": [str(deployment_id)]}})
        per_key = Counter(run.idempotency_key for run in runs)
        assert per_key == Counter({key: 1 for key in ledger.keyed_runs}), per_key.most_common(3)
        assert {run.idempotency_key: run.id for run in runs} == ledger.keyed_runs
        assert {run.state.type_.value for run in runs} == {"RUNNING"}
        # Each state change was made once, however often it was sent.
        for run_id in ledger.keyed_runs.values():
            history = [s.type_.value for s in direct.read_flow_run_states(run_id)]
            assert history == ["SCHEDULED", "PENDING", "RUNNING"], (run_id, history)

        # A state change whose answer was lost was sent again: the server, told by the
        # transition id, refused to make it twice, and the client reported the first
        # attempt's ACCEPT rather than the repeat's REJECT.
        lost_state_answers = {
            e.route.split("/")[-2]
            for e in events
            if (e.kind in FORWARDED_KINDS or e.upstream_failed) and e.route.endswith("/set_state")
        }
        for _, proposed, verdict in ledger.verdicts:
            assert verdict.status.value == "ACCEPT", verdict
            assert verdict.state.type_.value == proposed
        replayed = len(lost_state_answers)

        # A create without the caller's idempotency key whose answer was lost was sent again
        # with the key the SDK made for the call: the server returned the run it had made, so
        # each plain create left exactly one run, the one the caller was told about.
        plain = direct.read_flow_runs(flow_run_filter={"name": {"any_": sorted(ledger.plain_runs)}})
        assert {run.name: run.id for run in plain} == ledger.plain_runs
        copies = Counter(run.name for run in plain)
        duplicates = sum(copies.values()) - len(copies)
        assert duplicates == 0, copies.most_common(3)
        made, unsure = lost_creates(events, "/api/flow_runs/")

    print(
        f"\nfaults: {len(events)} requests, {sum(ledger.ops.values())} calls, {elapsed:.1f}s; "
        f"faults {dict(counts)}; server's own retryable answers {dict(genuine)}; "
        f"retries logged {dict(reasons)}; replayed state changes "
        f"{replayed}; plain creates whose answer was lost {made} (+{unsure} unsure), "
        f"duplicated {duplicates}; waits (min/max s) "
        + ", ".join(f"{k} {min(v):.2f}/{max(v):.2f}" for k, v in waits.items() if v)
    )


# ----- when the retries run out -----------------------------------------------------------

CREATE_RUN = "/api/deployments/"


@dataclass(frozen=True)
class Exhaust:
    kind: str
    error: type[BaseException]
    reaches_server: bool


EXHAUST = [
    Exhaust("429-retry-after-0", PrefectHTTPStatusError, False),
    Exhaust("502-no-retry-after", PrefectHTTPStatusError, False),
    Exhaust("drop-before-forward", httpx.RemoteProtocolError, False),
    Exhaust("close-mid-response", httpx.TransportError, True),
    Exhaust("delay-past-timeout", httpx.ReadTimeout, True),
]


async def call(kind: str, api: str, op: Callable[[Any], Any], **settings: Any) -> Any:
    """Open a client of `kind` on `api`, run op(client) (awaiting it if need be), close it."""
    if kind == "sync":
        with SyncPrefectClient(api, httpx_settings=settings) as client:
            return op(client)
    async with PrefectClient(api, httpx_settings=settings) as client:
        return await op(client)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", EXHAUST, ids=[case.kind for case in EXHAUST])
async def test_spent_retries_raise_clearly_and_leave_at_most_one_row(
    kind: str, case: Exhaust, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every attempt at an idempotent create faulted: a clear error, and one row or none."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "1")
    prefix = f"spent-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        flow_id = direct.create_flow_from_name(f"{prefix}-flow")
        deployment_id = direct.create_deployment(flow_id, f"{prefix}-deployment")
    key = f"{prefix}-key"

    schedule = Always(case.kind, "POST", CREATE_RUN)
    with (
        FaultProxy(api_url, schedule, delay=PROXY_DELAY) as proxy,
        pytest.raises(case.error) as info,
    ):
        await call(
            kind,
            proxy.api_url,
            lambda c: c.create_flow_run_from_deployment(deployment_id, idempotency_key=key),
            timeout=timeouts(),
        )
    attempts = [e for e in proxy.events if e.route.startswith(CREATE_RUN)]

    error = info.value
    assert [e.kind for e in attempts] == [case.kind, case.kind]  # the first try and one retry
    assert "\n" not in str(error)
    text = str(error)
    assert isinstance(error, PrefectSDKError)  # transport errors too, as the SDK's twins
    assert text.startswith(f"POST {proxy.api_url}/deployments/{deployment_id}/create_flow_run")
    assert len(text) < 700
    if isinstance(error, PrefectHTTPStatusError):
        assert str(attempts[-1].status) in text
    else:  # no answer, no status: the error carries the request
        assert isinstance(error, httpx.TransportError)
        assert error.request.url.path.endswith("/create_flow_run")

    with SyncPrefectClient(api_url) as direct:
        runs = direct.read_flow_runs(deployment_filter={"id": {"any_": [str(deployment_id)]}})
    assert [run.idempotency_key for run in runs] == ([key] if case.reaches_server else [])


@pytest.mark.timeout(60)
async def test_spent_retries_on_a_create_without_key_leave_one_row(
    kind: str, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create without the caller's key, answered never: the first attempt made a row, and the
    retry, carrying the key the SDK made for the call, was recognised by the server."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "1")
    name = f"spent-plain-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        flow_id = direct.create_flow_from_name(name)

    schedule = Always("close-mid-response", "POST", "/api/flow_runs/")
    with FaultProxy(api_url, schedule) as proxy, pytest.raises(httpx.TransportError) as info:
        await call(kind, proxy.api_url, lambda c: c.create_flow_run(flow_id, name=name))
    attempts = [e for e in proxy.events if e.route == "/api/flow_runs/"]

    assert len(attempts) == 2
    assert attempts[0].body == attempts[1].body  # the same request, key and all
    assert one_line(info.value), repr(info.value)
    with SyncPrefectClient(api_url) as direct:
        runs = direct.read_flow_runs(flow_run_filter={"name": {"any_": [name]}})
    assert len(runs) == 1
    assert runs[0].idempotency_key.startswith("prefect-sdk-")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("client_kind", ["sync", "async"])
async def test_spent_retries_on_timeouts_raise_an_error_that_says_so(
    client_kind: str, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "1")
    flow_name = f"spent-timeout-{uuid.uuid4().hex[:8]}"
    with (
        FaultProxy(
            api_url, Always("delay-past-timeout", "POST", "/api/flows/"), delay=4.0
        ) as proxy,
        pytest.raises(httpx.ReadTimeout) as info,
    ):
        await call(
            client_kind,
            proxy.api_url,
            lambda c: c.create_flow_from_name(flow_name),
            timeout=httpx.Timeout(10.0, read=1.0),
        )
    assert len([e for e in proxy.events if e.route == "/api/flows/"]) == 2
    assert one_line(info.value), f"the error's whole text is {str(info.value)!r}"


# ----- a lost answer, then a retry that gets through -------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", sorted(FORWARDED_KINDS))
async def test_state_change_whose_answer_was_lost_is_reported_as_accepted(
    kind: str, fault: str, api_url: str
) -> None:
    """The server made the transition, the answer never came, the retry was refused as a
    repeat: the caller still hears ACCEPT, and the run's history has the state once."""
    with SyncPrefectClient(api_url) as direct:
        flow_id = direct.create_flow_from_name(f"lost-state-{uuid.uuid4().hex[:8]}")
        run = direct.create_flow_run(flow_id)

    route = f"/api/flow_runs/{run.id}/set_state"
    with FaultProxy(api_url, Always(fault, "POST", route, times=1), delay=PROXY_DELAY) as proxy:
        verdict = await call(
            kind,
            proxy.api_url,
            lambda c: c.set_flow_run_state(run.id, st.Running()),
            timeout=timeouts(),
        )
    attempts = [
        e.kind for e in without_server_retries(proxy.events, READ_TIMEOUT) if e.route == route
    ]

    assert attempts == [fault, None]  # the first attempt reached the server, its answer was lost
    assert verdict.status.value == "ACCEPT"
    assert verdict.details.type_ == "accept_details"
    assert verdict.state.type_.value == "RUNNING"
    with SyncPrefectClient(api_url) as direct:
        history = [s.type_.value for s in direct.read_flow_run_states(run.id)]
        # Only the repeat of this call's own transition is turned into ACCEPT: a REJECT the
        # server means still comes through as one, though it returns the same current state
        # (which carries the transition id of the earlier call).
        late = direct.set_flow_run_state(run.id, st.Late())
    assert history == ["PENDING", "RUNNING"]
    assert (late.status.value, late.state.id) == ("REJECT", verdict.state.id), late
    assert late.details.reason == "Only scheduled flows can be marked late."


@pytest.mark.timeout(60)
async def test_retried_create_with_an_idempotency_key_makes_one_row(
    kind: str, api_url: str
) -> None:
    """The caller's own key: the server recognises the retry by it (and it is the run's key)."""
    name = f"keyed-plain-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        flow_id = direct.create_flow_from_name(name)

    schedule = Always("close-mid-response", "POST", "/api/flow_runs/", times=1)
    with FaultProxy(api_url, schedule) as proxy:
        run = await call(
            kind,
            proxy.api_url,
            lambda c: c.create_flow_run(flow_id, name=name, idempotency_key=name),
        )
    events = without_server_retries(proxy.events, READ_TIMEOUT)
    attempts = [e.kind for e in events if e.route == "/api/flow_runs/"]

    assert attempts == ["close-mid-response", None]
    with SyncPrefectClient(api_url) as direct:
        runs = direct.read_flow_runs(flow_run_filter={"name": {"any_": [name]}})
    assert [(r.id, r.idempotency_key) for r in runs] == [(run.id, name)]
