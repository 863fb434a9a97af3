"""The workload while Redis (the broker, cache, causal ordering and lease storage) is killed and
started again, empty.

What the server does while Redis is away is the server's business; the test records what the
client saw (errors, with the server's answers; retries) and checks what the client owes: no
crash (every error is the SDK's own HTTP or transport error, raised once the call cannot
succeed), nothing acknowledged lost, no duplicate run, and once Redis is back every call
succeeds again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from prefect_sdk import PrefectHTTPStatusError
from tests.reliability.conftest import RetryLog
from tests.scaleout.conftest import ScaleOut
from tests.scaleout.workload import (
    CALLS_PER_UNIT,
    Ledger,
    describe_errors,
    missing_events,
    run_workload,
    settled,
    state_events,
    when_calls_reach,
)

pytestmark = [pytest.mark.scaleout, pytest.mark.usefixtures("short_backoff")]

UNITS = 100  # x 12 calls = 1,200
AT = 0.3  # of the calls made, when Redis is killed
DOWN = 6.0  # seconds Redis stays down (with 2 s no call failed here; with 6 s some do)
AFTER_UNITS = 12  # a second, smaller run once Redis is back: it must all succeed


@pytest.mark.timeout(600)
@pytest.mark.parametrize("extra_codes", ["", "500"], ids=["default", "retry-500"])
async def test_workload_while_redis_restarts(
    scaleout: ScaleOut, monkeypatch: pytest.MonkeyPatch, retry_log: RetryLog, extra_codes: str
) -> None:
    """With the default retries, and with 500 retried too (PREFECT_CLIENT_RETRY_EXTRA_CODES):
    the server answers 500 when a create's event cannot be published to Redis (the create is
    rolled back), which only the second retries."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "30")
    monkeypatch.setenv("PREFECT_CLIENT_RETRY_EXTRA_CODES", extra_codes)
    prefix = f"redis-{uuid.uuid4().hex[:8]}"
    moments: dict[str, float] = {}

    async def restart_redis(ledger: Ledger) -> None:
        await when_calls_reach(ledger, int(UNITS * CALLS_PER_UNIT * AT))
        moments["killed"] = time.monotonic()
        await asyncio.to_thread(scaleout.kill_redis)
        await asyncio.sleep(DOWN)
        await asyncio.to_thread(scaleout.start_redis)
        moments["started"] = time.monotonic()

    run = await run_workload(scaleout.api_url, prefix, UNITS, restart_redis)
    ledger = run.ledger
    db = await settled(scaleout, prefix)

    # --- what the client saw ---
    errors = ledger.errors
    answers = Counter(failure(e) for _, e in errors)
    retries = retry_log.timed_retries()
    reasons = Counter(m["reason"] for _, m in retries)
    failed_at = [c.started + c.seconds - moments["killed"] for c in ledger.calls if not c.ok]
    print(
        f"\nRedis killed at {AT:.0%} of the calls, down {DOWN:.0f}s, started again (empty), "
        f"extra retried statuses {extra_codes or 'none'}: "
        f"{ledger.total} calls in {run.seconds:.1f}s, {len(errors)} failed "
        f"(answers {dict(answers)}; "
        f"{', '.join(f'{t:+.1f}s' for t in sorted(failed_at)[:10])} from the kill); "
        f"retries {sum(reasons.values())} {dict(reasons)}; failed calls "
        f"{dict(Counter(f'{op} -> {failure(e)}' for op, e in errors))}; events read alongside "
        f"{len(run.events.ids)} ({len(run.events.errors)} read errors: "
        f"{[str(e)[:120] for e in run.events.errors[:2]]}); state-change events stored "
        f"{len(state_events(db)) - len(missing_events(db))} of {len(state_events(db))}"
    )

    # Writes the server made although it answered the call with an error (not acknowledged).
    unacknowledged = {
        "flows": len(set(db.flows) - set(ledger.flows)),
        "flow runs": len(set(db.runs) - set(ledger.runs)),
        "variables": len(set(db.variables) - set(ledger.variables)),
    }
    print(f"stored although the call that made them failed: {unacknowledged}")

    # --- no crash: an error is the SDK's own, for an answer or a connection ---
    unexpected = [
        (op, e) for op, e in errors if not isinstance(e, PrefectHTTPStatusError | httpx.HTTPError)
    ]
    assert not unexpected, unexpected[:3]
    assert all(c.ok for c in ledger.calls if c.started + c.seconds < moments["killed"]), (
        "a call failed before Redis was killed"
    )

    # --- what the callers were told was done, is stored; nothing twice ---
    for name, flow_id in ledger.flows.items():
        assert db.flows.get(name) == [flow_id], name
    assert not {name: rows for name, rows in db.runs.items() if len(rows) > 1}
    for name, run_id in ledger.runs.items():
        assert [row[0] for row in db.runs[name]] == [run_id], name
    accepted = Counter(
        (run_id, state) for run_id, state, verdict in ledger.transitions if verdict == "ACCEPT"
    )
    for (run_id, state), n in accepted.items():
        assert n == 1 and db.histories[run_id].count(state) == 1, (run_id, db.histories[run_id])
    for history in db.histories.values():
        assert len(history) == len(set(history)), history  # no state applied twice
    assert set(ledger.logs) <= set(db.logs), sorted(set(ledger.logs) - set(db.logs))[:5]
    for name, value in ledger.variables.items():
        # The last update acknowledged, or the one after it when that call failed after the
        # server had applied it.
        assert db.variables[name][0] in (value, value + 1) and len(db.variables[name]) == 1

    # Retrying 500 as well (safe for the creates: their retries are recognised), nothing failed.
    if extra_codes:
        assert not errors, describe_errors(errors).most_common(5)

    # --- and with Redis back, the client works as before ---
    after_prefix = f"redis-after-{uuid.uuid4().hex[:8]}"
    after = await run_workload(
        scaleout.api_url, after_prefix, AFTER_UNITS, lambda ledger: asyncio.sleep(0)
    )
    assert not after.ledger.errors, describe_errors(after.ledger.errors).most_common(5)
    assert after.ledger.total == AFTER_UNITS * CALLS_PER_UNIT
    # The events of runs made after the restart: through the new Redis and the services
    # process's consumers (the server's own recovery; printed, not required).
    later = await settled(scaleout, after_prefix)
    print(
        f"after the restart: {after.ledger.total} calls, 0 failed; their state-change events "
        f"stored {len(state_events(later)) - len(missing_events(later))} of "
        f"{len(state_events(later))}"
    )


def failure(error: BaseException) -> str:
    """What the server answered (its status and detail), or the transport error's kind."""
    if isinstance(error, PrefectHTTPStatusError):
        return f"{error.status_code} {error.detail}".strip()
    return type(error).__name__
