"""A workload written once and run through a SyncPrefectClient and a PrefectClient at once.

A unit of work is a generator of calls: it yields (method name, args, kwargs) and is sent each
result. `drive_sync` makes the calls with a sync client (in threads), `drive_async` with an async
one (in tasks); both record every call in the unit's `Ledger`, and stop a unit at its first
error. Used by the fault-proxy workload (test_faults.py) and the scale-out tests.

A method name may be dotted: `with_raw_response.create_logs` makes the call through
`client.with_raw_response` and gets back its `RawResponse`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

Call = tuple[str, tuple[Any, ...], dict[str, Any]]
Steps = Generator[Call, Any, None]


@dataclass(frozen=True)
class CallRecord:
    """One call the workload made: when it started (time.monotonic()) and how long it took."""

    op: str
    started: float
    seconds: float
    ok: bool


@dataclass
class Ledger:
    """What the callers were told: calls made and errors, per operation."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, BaseException]] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)

    def done(self, op: str, started: float = 0.0, seconds: float = 0.0) -> None:
        with self.lock:
            self.ops[op] += 1
            self.calls.append(CallRecord(op, started, seconds, True))

    def failed(self, op: str, error: BaseException, started: float = 0.0) -> None:
        with self.lock:
            self.errors.append((op, error))
            self.calls.append(CallRecord(op, started, time.monotonic() - started, False))

    @property
    def total(self) -> int:
        with self.lock:
            return len(self.calls)


class Unit(Protocol):
    ledger: Ledger

    def steps(self) -> Steps: ...


def method(client: Any, op: str) -> Any:
    return functools.reduce(getattr, op.split("."), client)


def drive_sync(client: Any, units: list[Any]) -> None:
    """Run `units` one after the other through a SyncPrefectClient."""
    for unit in units:
        steps = unit.steps()
        result: Any = None
        try:
            while True:
                op, args, kwargs = steps.send(result)
                started = time.monotonic()
                try:
                    result = method(client, op)(*args, **kwargs)
                except Exception as error:  # recorded, then this unit stops
                    unit.ledger.failed(op, error, started)
                    break
                unit.ledger.done(op, started, time.monotonic() - started)
        except StopIteration:
            pass


async def drive_async(client: Any, units: list[Any]) -> None:
    """Run `units` one after the other through a PrefectClient."""
    for unit in units:
        steps = unit.steps()
        result: Any = None
        try:
            while True:
                op, args, kwargs = steps.send(result)
                started = time.monotonic()
                try:
                    result = await method(client, op)(*args, **kwargs)
                except Exception as error:  # recorded, then this unit stops
                    unit.ledger.failed(op, error, started)
                    break
                unit.ledger.done(op, started, time.monotonic() - started)
        except StopIteration:
            pass
