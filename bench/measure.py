"""Timing: wall time and the client process's own CPU time, interleaved call by call.

The server is another process, so `time.process_time()` here is the client's CPU alone (every
thread of this process: Prefect's client may use more than one).

The server's wall time drifts by tens of percent over seconds (its background services share
its event loop and the machine's cores), so the three clients take turns call by call (A B C,
B C A, C A B, ...): neighbouring calls see the same server, and the medians compare like with
like.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cases import Case
from .clients import CLIENTS, OURS, Clients

# A block that sent other requests than expected (a retry, a token fetch) is taken again.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Sample:
    """Seconds one call took."""

    wall: float
    cpu: float


@dataclass
class Series:
    """Every sample of one client on one benchmark."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    def as_json(self) -> dict[str, Any]:
        walls = [s.wall * 1e3 for s in self.samples]
        return {
            "wall_ms": self.wall * 1e3,
            "cpu_ms": self.cpu * 1e3,
            "samples": len(self.samples),
            "wall_ms_quartiles": [round(q, 4) for q in statistics.quantiles(walls, n=4)]
            if len(walls) > 1
            else walls,
            "wall_ms_samples": [round(w, 4) for w in walls],
            "cpu_ms_samples": [round(s.cpu * 1e3, 4) for s in self.samples],
        }


Results = dict[str, dict[str, Series]]


def _timed_sync(fn: Callable[[], object]) -> Sample:
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - wall0
    return Sample(wall, time.process_time() - cpu0)


async def _timed_async(fn: Callable[[], Any]) -> Sample:
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    await fn()
    wall = time.perf_counter() - wall0
    return Sample(wall, time.process_time() - cpu0)


def call_timed(clients: Clients, case: Case, client: str) -> Sample:
    """One call of `client` on `case`, timed (async calls run on the clients' loop)."""
    fn = case.calls[client]
    if case.is_async:
        return clients.loop.run_until_complete(_timed_async(fn))
    return _timed_sync(fn)


def warm_up(clients: Clients, cases: list[Case]) -> None:
    """Call everything once per client (lazy imports, CSRF probing, first connections), then
    move every surviving object out of the collector's way (`gc.freeze`), so a collection
    costs whoever allocated, not whoever happens to be running when the heap is full."""
    for case in cases:
        for client in CLIENTS:
            call_timed(clients, case, client)
    gc.collect()
    gc.freeze()


def rotation(step: int) -> tuple[str, ...]:
    shift = step % len(CLIENTS)
    return CLIENTS[shift:] + CLIENTS[:shift]


def interleaved_block(
    clients: Clients, case: Case, step: int, anomalies: list[str]
) -> dict[str, list[Sample]]:
    """`case.calls_per_round` calls of every client, taking turns call by call.

    Each client's requests are counted; a client that sent other requests than its calls need
    (a retry, a token fetch) has its samples of this block dropped and taken again on its own.
    """
    taken: dict[str, list[Sample]] = {client: [] for client in CLIENTS}

    def sent_so_far(client: str) -> int:
        return clients.requests(client, case.is_async, case.defaults)

    before = {client: sent_so_far(client) for client in CLIENTS}
    for call in range(case.calls_per_round):
        for client in rotation(step + call):
            taken[client].append(call_timed(clients, case, client))
    expected = case.calls_per_round * case.requests_per_call
    # Only prefect-sdk reads ahead; the others must send exactly what they need.
    extra = case.calls_per_round * case.extra_requests
    for client in CLIENTS:
        sent = sent_so_far(client) - before[client]
        attempt = 1
        allowed = extra if client == OURS else 0
        while not expected <= sent <= expected + allowed:
            note = f"{case.name}/{client}: sent {sent} requests, expected {expected}; retaken"
            anomalies.append(note)
            print(f"  warning: {note}", file=sys.stderr)
            if attempt == MAX_ATTEMPTS:
                raise RuntimeError(f"{case.name}/{client}: unexpected requests, {attempt} times")
            attempt += 1
            start = sent_so_far(client)
            taken[client] = [call_timed(clients, case, client) for _ in range(case.calls_per_round)]
            sent = sent_so_far(client) - start
    return taken


def run_rounds(clients: Clients, cases: list[Case], rounds: int, anomalies: list[str]) -> Results:
    """`rounds` rounds of every benchmark; every call is a sample."""
    results: Results = {case.name: {client: Series() for client in CLIENTS} for case in cases}
    started = time.perf_counter()
    for number in range(rounds):
        for case in cases:
            gc.collect()
            block = interleaved_block(clients, case, number, anomalies)
            for client, samples in block.items():
                results[case.name][client].samples += samples
        elapsed = time.perf_counter() - started
        print(f"  round {number + 1}/{rounds} done ({elapsed:.0f} s)", file=sys.stderr)
    return results
