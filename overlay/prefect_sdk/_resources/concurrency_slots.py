"""Holding global concurrency slots: `client.concurrency(...)` and `client.rate_limit(...)`.

Prefect's `prefect.concurrency.asyncio.concurrency` / `.sync.concurrency` and `rate_limit`, as
client methods. Everything that talks to the server is an operation, written once and run by
the client's driver (`client._bind`): acquiring (`_acquire`: retrying while the server answers
423 Locked, waiting as its Retry-After says, until `timeout_seconds` or `max_retries`),
renewing a lease (`renew_lease`, with a few retries of its own) and releasing it. Only the two
context-manager shells differ per client: the async one renews in an asyncio task, the sync one
in a daemon thread on the same client (httpx.Client is thread-safe).

Slots are held under a lease, so a holder that dies without releasing (a killed process) frees
them when the lease runs out; the shell renews it every `RENEWAL_FRACTION` of its duration, as
Prefect does, and releases on exit, whether the block ends, raises or (async) is cancelled, and
an async acquisition cancelled while the server was granting it gives the lease straight back.
Unlike Prefect's, these emit no `prefect.concurrency-limit.acquired`/`released` events (Prefect
sends them through its run-time events client, which this SDK does not have); the slots and
leases on the server are the same."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, overload

import httpx

from .._operations import Flow, Op, operation
from .._policy import Sleep, parse_retry_after
from ..errors import (
    ConcurrencyLeaseLost,
    ConcurrencyLimitMissing,
    ConcurrencySlotAcquisitionTimeout,
    PrefectHTTPStatusError,
)
from ._common import as_text
from .concurrency import ConcurrencyOperations

if TYPE_CHECKING:
    from prefect_api.models import MinimalConcurrencyLimitResponse

    from ..client import PrefectClient, SyncPrefectClient

logger = logging.getLogger("prefect_sdk")

P = ParamSpec("P")

# Renew when this fraction of the lease has passed (Prefect's `_RENEWAL_FRACTION`).
RENEWAL_FRACTION = 0.75
# A renewal that fails for a reason that may pass (a 5xx, a dropped connection the transport's
# own retries did not get past) is tried this many times in all, waiting 1 s, then 2 s.
RENEWAL_ATTEMPTS = 3
RENEWAL_BACKOFF = 1.0
# The wait after a 423 that carries no usable Retry-After (the server always sends one).
LOCKED_WAIT = 1.0
# How long the sync shell waits for its renewal thread to stop before releasing anyway.
RENEWAL_JOIN_TIMEOUT = 5.0
LOCKED = 423


@dataclass
class ConcurrencyLease:
    """Slots held by `client.concurrency`: what `with`/`async with` gives.

    `lease_id` is None when none of the named limits exists (nothing is held). `renewals`
    counts the renewals the server accepted; `lost` is the error that ended renewing, if one did
    (the slots may then be given to others).
    """

    lease_id: uuid.UUID | None
    limits: list[MinimalConcurrencyLimitResponse]
    occupy: int
    lease_duration: float
    renewals: int = 0
    lost: BaseException | None = None


@dataclass
class _Watch:
    """Whether the acquisition's caller went away (an async cancellation) while a request was
    in flight: then a lease the server grants is released at once instead of returned."""

    in_flight: bool = False
    abandoned: bool = False


def _name_list(names: object) -> list[str]:
    """`names` (a name, or a list of names, as Prefect takes them) as a non-empty list."""
    if isinstance(names, str):
        return [as_text(names, "names")]
    if not isinstance(names, Sequence) or not names:
        raise ValueError(f"names must be a limit name or a non-empty list of names, not {names!r}")
    return [as_text(name, "each of names") for name in names]


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
    return value


def _seconds(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name} must be a number of seconds >= 0 or None, not {value!r}")
    return float(value)


def _duration(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"lease_duration must be a number of seconds > 0, not {value!r}")
    return float(value)


def _retries(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be a whole number >= 0 or None, not {value!r}")
    return value


def _missing(names: list[str], limits: list[MinimalConcurrencyLimitResponse]) -> list[str]:
    found = {limit.name for limit in limits}
    return [name for name in names if name not in found]


def _report_missing(missing: list[str], strict: bool) -> None:
    """Raise for missing limits under `strict`; else warn, as Prefect does, and go on."""
    if not missing:
        return
    if strict:
        raise ConcurrencyLimitMissing(
            f"global concurrency limits {missing} do not exist (strict=True): create them "
            "first (client.create_global_concurrency_limit)",
            missing,
        )
    logger.warning("global concurrency limits %s do not exist: not limited by them", missing)


def _acquire(
    attempt: Callable[[], Op[Any]],
    names: list[str],
    occupy: int,
    timeout_seconds: float | None,
    max_retries: int | None,
    watch: _Watch | None = None,
) -> Flow[Any]:
    """Make `attempt` (an increment) until the server grants it, waiting after each 423 as its
    Retry-After says; ConcurrencySlotAcquisitionTimeout past `timeout_seconds` or after
    `max_retries` 423s. None if `watch` says the caller left during a 423."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    locked = 0
    while True:
        if watch is not None:
            watch.in_flight = True
        try:
            return (yield from attempt())
        except PrefectHTTPStatusError as error:
            if error.status_code != LOCKED:
                raise
            wait = parse_retry_after(error.response.headers.get("Retry-After"))
        finally:
            if watch is not None:
                watch.in_flight = False
        if watch is not None and watch.abandoned:
            return None
        locked += 1
        remaining = None if deadline is None else deadline - time.monotonic()
        if (max_retries is not None and locked > max_retries) or (
            remaining is not None and remaining <= 0
        ):
            within = (
                f"after {max_retries} retries"
                if remaining is None or remaining > 0
                else f"within {timeout_seconds:g} s"
            )
            raise ConcurrencySlotAcquisitionTimeout(
                f"could not acquire {occupy} slot(s) of {names} {within}: the limits stayed full",
                names,
                occupy,
            )
        wait = LOCKED_WAIT if wait is None else wait
        yield Sleep(wait if remaining is None else min(wait, remaining))


@dataclass(frozen=True)
class _Arguments:
    """`concurrency`'s arguments, checked."""

    names: list[str]
    occupy: int
    timeout_seconds: float | None
    lease_duration: float
    max_retries: int | None
    strict: bool
    holder: Any
    raise_on_loss: bool


class _context_manager(Generic[P]):
    """Makes `concurrency` give an async context manager on PrefectClient and a context manager
    on SyncPrefectClient (as `@operation` does for methods), and tells type checkers so."""

    def __init__(self, fn: Callable[Concatenate[Any, P], _Arguments]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @overload
    def __get__(self, client: None, owner: type) -> _context_manager[P]: ...
    @overload
    def __get__(self, client: PrefectClient, owner: type) -> Callable[P, AsyncConcurrency]: ...
    @overload
    def __get__(self, client: SyncPrefectClient, owner: type) -> Callable[P, SyncConcurrency]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        from ..client import PrefectClient

        shell = AsyncConcurrency if isinstance(client, PrefectClient) else SyncConcurrency

        @functools.wraps(self.fn)
        def method(*args: Any, **kwargs: Any) -> _Shell:
            return shell(client, self.fn(client, *args, **kwargs))

        # What `help()` and IDEs show: no `self`, and the context manager this client gives.
        full = inspect.signature(self.fn)
        method.__signature__ = full.replace(  # type: ignore[attr-defined]
            parameters=list(full.parameters.values())[1:], return_annotation=shell.__name__
        )
        return method


class ConcurrencySlotOperations:
    """`concurrency` and `rate_limit`: methods of PrefectClient and SyncPrefectClient."""

    @_context_manager
    def concurrency(
        self,
        names: str | Sequence[str],
        occupy: int = 1,
        timeout_seconds: float | None = None,
        max_retries: int | None = None,
        lease_duration: float = 300.0,
        *,
        strict: bool = False,
        holder: Any = None,
        raise_on_lease_renewal_failure: bool | None = None,
    ) -> _Arguments:
        """Hold `occupy` slots of each named global concurrency limit for the duration of a
        block: `async with client.concurrency("db"):` (PrefectClient), `with ...:`
        (SyncPrefectClient), giving a ConcurrencyLease. Prefect's `concurrency`, with its
        parameters in its order.

        Waits while the limits are full (ConcurrencySlotAcquisitionTimeout after
        `timeout_seconds`, or after `max_retries` refusals). The slots are held under a lease of
        `lease_duration` seconds (the server takes 60 to 86400), renewed in the background and
        released when the block ends, however it ends. A missing limit is skipped with a warning,
        or is ConcurrencyLimitMissing under `strict`. If the lease cannot be renewed a warning is
        logged and `lease.lost` set; with `raise_on_lease_renewal_failure` (default: `strict`)
        the block's end raises ConcurrencyLeaseLost. `holder` (a ConcurrencyLeaseHolder or dict)
        is recorded on the lease.
        """
        raise_on_loss = (
            strict if raise_on_lease_renewal_failure is None else raise_on_lease_renewal_failure
        )
        return _Arguments(
            _name_list(names),
            _count(occupy, "occupy"),
            _seconds(timeout_seconds, "timeout_seconds"),
            _duration(lease_duration),
            _retries(max_retries),
            bool(strict),
            holder,
            bool(raise_on_loss),
        )

    @operation
    def rate_limit(
        self,
        names: str | Sequence[str],
        occupy: int = 1,
        timeout_seconds: float | None = None,
        strict: bool = False,
        *,
        max_retries: int | None = None,
    ) -> Flow[list[MinimalConcurrencyLimitResponse]]:
        """Take `occupy` slots of each named limit in rate-limit mode, waiting while they are
        taken (Prefect's `rate_limit`): nothing is held or released, the limits' slot decay
        frees the slots. Every limit needs a slot decay (else UnprocessableEntity). Returns the
        limits taken; timeouts, `max_retries` and `strict` as for `concurrency`."""
        name_list = _name_list(names)
        slots = _count(occupy, "occupy")
        timeout = _seconds(timeout_seconds, "timeout_seconds")

        def attempt() -> Op[list[MinimalConcurrencyLimitResponse]]:
            increment = ConcurrencyOperations.increment_concurrency_slots.fn
            return (yield from increment(self, name_list, slots, "rate_limit"))

        limits: list[MinimalConcurrencyLimitResponse] = yield from _acquire(
            attempt, name_list, slots, timeout, _retries(max_retries)
        )
        _report_missing(_missing(name_list, limits), strict)
        return limits


def acquire_lease(client: Any, arguments: _Arguments, watch: _Watch | None = None) -> Flow[Any]:
    """The operation that takes the slots for `concurrency`, under a lease: a ConcurrencyLease
    (None if `watch` says the caller left). Run by the client's driver (`client._bind`)."""
    increment = ConcurrencyOperations.increment_concurrency_slots_with_lease.fn
    release = ConcurrencyOperations.release_concurrency_slots_with_lease.fn
    names, occupy, duration = arguments.names, arguments.occupy, arguments.lease_duration

    def attempt() -> Op[Any]:
        return (
            yield from increment(client, names, occupy, "concurrency", duration, arguments.holder)
        )

    granted = yield from _acquire(
        attempt, names, occupy, arguments.timeout_seconds, arguments.max_retries, watch
    )
    if granted is None:
        return None
    missing = _missing(names, granted.limits)
    abandoned = watch is not None and watch.abandoned
    if abandoned or not granted.limits or (missing and arguments.strict):
        # A caller that left, nothing to hold (no limit exists: the server still made an empty
        # lease), or a strict refusal: give the lease back now.
        yield from release(client, granted.lease_id)
        if abandoned:
            return None
    _report_missing(missing, arguments.strict)
    held = bool(granted.limits)
    return ConcurrencyLease(granted.lease_id if held else None, granted.limits, occupy, duration)


def renew_lease(client: Any, lease_id: uuid.UUID, lease_duration: float) -> Flow[None]:
    """The operation that renews a lease: a failure that may pass (a 5xx, a transport error the
    transport's own retries did not get past) is tried again, a 410 (the lease is gone) not."""
    renew = ConcurrencyOperations.renew_concurrency_lease.fn
    for attempt in range(RENEWAL_ATTEMPTS):
        try:
            yield from renew(client, lease_id, lease_duration)
            return None
        except PrefectHTTPStatusError as error:
            if error.status_code < 500 or attempt == RENEWAL_ATTEMPTS - 1:
                raise
        except httpx.TransportError:
            if attempt == RENEWAL_ATTEMPTS - 1:
                raise
        yield Sleep(RENEWAL_BACKOFF * 2**attempt)
    return None


class _Shell:
    """What both shells share: the arguments, the lease held, and what a lost lease does."""

    def __init__(self, client: Any, arguments: _Arguments) -> None:
        self.client = client
        self.arguments = arguments
        self.lease: ConcurrencyLease | None = None
        self.entered = False
        self.interval = arguments.lease_duration * RENEWAL_FRACTION

    def _enter(self) -> None:
        """Refuse a second entry before acquiring anything (the slots would be held twice)."""
        if self.entered:
            raise RuntimeError("a client.concurrency(...) context cannot be entered twice")
        self.entered = True

    def _entered(self, lease: ConcurrencyLease | None) -> ConcurrencyLease:
        assert lease is not None
        self.lease = lease
        return lease

    def _lose(self, lease: ConcurrencyLease, error: BaseException) -> None:
        lease.lost = error
        logger.warning(
            "concurrency lease %s on %s could not be renewed: the slots are no longer reserved "
            "and others may take them (%s: %s)",
            lease.lease_id,
            self.arguments.names,
            type(error).__name__,
            error,
        )

    def _raise_if_lost(self, lease: ConcurrencyLease, failed: bool) -> None:
        if lease.lost is not None and self.arguments.raise_on_loss and not failed:
            raise ConcurrencyLeaseLost(
                f"the concurrency lease {lease.lease_id} on {self.arguments.names} was lost while "
                f"the block ran ({type(lease.lost).__name__}: {lease.lost})"
            ) from lease.lost


class AsyncConcurrency(_Shell):
    """`async with client.concurrency(...) as lease:` on PrefectClient."""

    _renewing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ConcurrencyLease:
        self._enter()
        watch = _Watch()
        acquiring = asyncio.ensure_future(self.client._bind(acquire_lease)(self.arguments, watch))
        try:
            lease = await asyncio.shield(acquiring)
        except asyncio.CancelledError:
            # A request in flight may be granted: the operation then releases the lease itself.
            # Between requests nothing is pending on the server, and the task can just stop.
            watch.abandoned = True
            if not watch.in_flight:
                acquiring.cancel()
            acquiring.add_done_callback(_ignore_outcome)
            raise
        lease = self._entered(lease)
        if lease.lease_id is not None:
            self._renewing = asyncio.ensure_future(self._renew(lease, lease.lease_id))
        return lease

    async def _renew(self, lease: ConcurrencyLease, lease_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.client._bind(renew_lease)(lease_id, lease.lease_duration)
            except Exception as error:  # noqa: BLE001 - reported: logged, kept, maybe raised
                self._lose(lease, error)
                return
            lease.renewals += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        lease = self.lease
        assert lease is not None
        try:
            if self._renewing is not None:
                self._renewing.cancel()
                await asyncio.wait({self._renewing})
        finally:
            if lease.lease_id is not None:
                # Shielded: a cancellation while releasing must not leave the slots held (the
                # release then finishes on its own).
                releasing = asyncio.ensure_future(
                    self.client.release_concurrency_slots_with_lease(lease.lease_id)
                )
                releasing.add_done_callback(_ignore_outcome)
                await asyncio.shield(releasing)
        self._raise_if_lost(lease, exc_type is not None)


def _ignore_outcome(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned acquisition's result, so asyncio does not report it."""
    if not task.cancelled():
        task.exception()


class SyncConcurrency(_Shell):
    """`with client.concurrency(...) as lease:` on SyncPrefectClient."""

    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> ConcurrencyLease:
        self._enter()
        lease = self._entered(self.client._bind(acquire_lease)(self.arguments))
        if lease.lease_id is not None:
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._renew,
                args=(lease, lease.lease_id, self._stop),
                name=f"concurrency-lease-renewal-{lease.lease_id}",
                daemon=True,
            )
            self._thread.start()
        return lease

    def _renew(self, lease: ConcurrencyLease, lease_id: uuid.UUID, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.client._bind(renew_lease)(lease_id, lease.lease_duration)
            except Exception as error:  # noqa: BLE001 - reported: logged, kept, maybe raised
                if not stop.is_set():  # else it raced the release: nothing was lost
                    self._lose(lease, error)
                return
            lease.renewals += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        lease = self.lease
        assert lease is not None
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join(RENEWAL_JOIN_TIMEOUT)
        if lease.lease_id is not None:
            self.client.release_concurrency_slots_with_lease(lease.lease_id)
        self._raise_if_lost(lease, exc_type is not None)
