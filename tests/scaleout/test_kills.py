"""Nothing lost while one API process is killed (SIGKILL) and started again, twice.

2,000+ mixed calls (flows and flow runs created without a caller's key, Pending -> Running ->
Completed, reads, log lines, variables created and updated) through a SyncPrefectClient and a
PrefectClient at once, with an `iter_events` reader alongside. API process 1 is killed at 20 %
and again at 55 % of the calls, and started again 2 s after each kill; HAProxy sends the other
process the new requests once it sees the first down. Afterwards PostgreSQL, read directly,
must hold exactly what the callers were told: 0 calls failed, 0 lost writes, 0 duplicate flow
runs, every transition applied once, every log line stored (once, unless its batch's answer was
lost after the server stored it: the server has no key to recognise log lines by).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from tests.reliability.conftest import RetryLog
from tests.scaleout.conftest import ScaleOut
from tests.scaleout.workload import (
    CALLS_PER_UNIT,
    LOG_LINES,
    Ledger,
    describe_errors,
    failover_waits,
    missing_events,
    run_workload,
    settled,
    state_events,
    when_calls_reach,
)

pytestmark = [pytest.mark.scaleout, pytest.mark.usefixtures("short_backoff")]

UNITS = 240  # x 12 calls = 2,880
KILLS = (0.20, 0.55)  # of the calls made, when API process 1 is killed
DOWN = 2.0  # seconds between a kill and the start of the process again
# Retries a call may spend: the backoff (50 ms growing to 400 ms) cannot reach it in a failover.
MAX_RETRIES = 30


@pytest.mark.timeout(900)
async def test_workload_while_an_api_process_is_killed_twice(
    scaleout: ScaleOut, monkeypatch: pytest.MonkeyPatch, retry_log: RetryLog
) -> None:
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", str(MAX_RETRIES))
    prefix = f"kills-{uuid.uuid4().hex[:8]}"
    total = UNITS * CALLS_PER_UNIT
    kills: list[float] = []
    restarts: list[float] = []

    async def kill_and_restart(ledger: Ledger) -> None:
        for share in KILLS:
            await when_calls_reach(ledger, int(total * share))
            kills.append(time.monotonic())
            await asyncio.to_thread(scaleout.kill_api, 1)
            await asyncio.sleep(DOWN)
            restarts.append(await asyncio.to_thread(scaleout.start_api, 1))

    run = await run_workload(scaleout.api_url, prefix, UNITS, kill_and_restart)
    ledger = run.ledger
    db = await settled(scaleout, prefix)

    # --- the kills happened during the run, and every call succeeded ---
    assert len(kills) == len(KILLS) and len(restarts) == len(KILLS)
    assert all(run.started < at < run.started + run.seconds for at in kills)
    assert not ledger.errors, describe_errors(ledger.errors).most_common(10)
    assert ledger.total == total >= 2000, ledger.ops

    # --- 0 lost writes, 0 duplicates: PostgreSQL holds exactly what the callers were told ---
    assert {name: ids for name, ids in db.flows.items()} == {
        name: [flow_id] for name, flow_id in ledger.flows.items()
    }
    duplicate_runs = {name: rows for name, rows in db.runs.items() if len(rows) > 1}
    assert not duplicate_runs, duplicate_runs
    assert {name: rows[0][0] for name, rows in db.runs.items()} == ledger.runs
    assert all(rows[0][1].startswith("prefect-sdk-") for rows in db.runs.values())
    assert {rows[0][2] for rows in db.runs.values()} == {"COMPLETED"}
    # Every transition applied once, and reported as accepted (a retried one too).
    assert Counter(verdict for _, _, verdict in ledger.transitions) == {"ACCEPT": 2 * UNITS}
    histories = Counter(tuple(history) for history in db.histories.values())
    assert histories == {("PENDING", "RUNNING", "COMPLETED"): UNITS}, histories
    assert db.variables == {name: [value] for name, value in ledger.variables.items()}
    # Every log line stored, and once. The server keeps no key for log lines, so a batch whose
    # answer was lost after the server stored it would be stored again by the retry: a line of
    # such a batch (the ledger knows which were resent) may be there twice, and is counted;
    # any other line twice is a failure.
    lost_lines = set(ledger.logs) - set(db.logs)
    assert not lost_lines, sorted(lost_lines)[:5]
    twice = {message: n for message, n in db.logs.items() if n > 1}
    assert all(ledger.logs[message] for message in twice), twice
    assert sum(db.logs.values()) == len(ledger.logs) + sum(n - 1 for n in twice.values())
    resent_batches = sum(ledger.logs.values()) // LOG_LINES

    # --- the retries: what the kills cost the callers ---
    retries = retry_log.timed_retries()
    reasons = Counter(m["reason"] for _, m in retries)
    waits = failover_waits(run, kills)
    durations = sorted(c.seconds for c in ledger.calls)
    retried = Counter(retried_call(m["method"], m["url"]) for _, m in retries)
    recovered = sum("reading the object it made" in line for line in retry_log.lines)
    ends = [*kills[1:], float("inf")]
    per_kill = [
        Counter(m["reason"] for when, m in retries if at <= when < end)
        for at, end in zip(kills, ends, strict=True)
    ]
    missing = missing_events(db)
    expected_events = len(state_events(db))  # 3 per run: Pending (created), Running, Completed
    events_stored = expected_events - len(missing)
    if missing:
        print(
            f"\nstate-change events the server did not store: {len(missing)}: {missing[:5]}; "
            "their requests in the HAProxy log:\n" + "\n".join(requests_of(scaleout, missing[:5]))
        )
    print(
        f"\nscale-out kills: {ledger.total} calls in {run.seconds:.1f}s "
        f"({ledger.total / run.seconds:.0f}/s), {len(kills)} SIGKILLs of API 1, "
        f"restart took {', '.join(f'{r:.1f}s' for r in restarts)} (after {DOWN:.0f}s down); "
        f"0 failed, 0 lost, 0 duplicates; retries {sum(reasons.values())} {dict(reasons)} "
        f"of {dict(retried)}; creates answered 409 and read back {recovered}; log batches "
        f"resent after a lost answer {resent_batches}, log lines stored twice {len(twice)}; "
        f"per kill {[dict(c) for c in per_kill]}; longest call across each kill "
        f"{', '.join(f'{w:.2f}s' for w in waits)} (all calls: median {durations[len(durations) // 2]:.3f}s, "
        f"99th percentile {durations[int(len(durations) * 0.99)]:.3f}s, longest {durations[-1]:.2f}s); "
        f"events read alongside {len(run.events.ids)} in {run.events.passes} passes "
        f"({len(run.events.errors)} errors); flow-run events stored {events_stored} of "
        f"{expected_events} state changes; topology started in {scaleout.started_in:.0f}s"
    )
    assert not run.events.errors, run.events.errors[:3]
    assert run.events.passes >= 2
    # A killed process may die after a change and before its event reached Redis: that
    # would be the server's loss, counted above. Most of them arrive.
    assert events_stored >= 0.95 * expected_events, (events_stored, expected_events)


def retried_call(method: str, url: str) -> str:
    """`POST /flow_runs/{id}/set_state` for a retried request's method and URL."""
    path = url.split("/api/", 1)[-1].split("?", 1)[0]
    parts = [
        "{id}" if len(part) == 36 and part.count("-") == 4 else part for part in path.split("/")
    ]
    if parts and parts[0] == "variables" and len(parts) > 2:  # /variables/name/{name}
        parts[2:] = ["{name}"]
    return f"{method} /{'/'.join(parts)}"


def requests_of(scaleout: ScaleOut, missing: list[tuple[str, str]]) -> list[str]:
    """The HAProxy log lines of the requests about the runs of these events."""
    ids = {resource.rsplit(".", 1)[-1] for _, resource in missing}
    return [
        line
        for line in scaleout.log("haproxy").splitlines()
        if any(run_id in line for run_id in ids)
    ]
