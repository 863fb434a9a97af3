"""Build the `StateCreate` bodies that `set_flow_run_state` and `set_task_run_state` send,
and ask what kind of state a run is in.

    from prefect_sdk import states
    await client.set_flow_run_state(run_id, states.Failed(message="disk full"))
    if states.is_final(flow_run.state): ...

Named after Prefect's own state helpers (`prefect.states`); each takes an optional `name` and
`message`. Importing this module is cheap: the generated models load on the first build.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    from prefect_api.models import StateCreate

__all__ = [
    "FINAL_TYPES",
    "AwaitingConcurrencySlot",
    "AwaitingRetry",
    "Cancelled",
    "Cancelling",
    "Completed",
    "Crashed",
    "Failed",
    "HasStateType",
    "InfrastructurePending",
    "Late",
    "Paused",
    "Pending",
    "Retrying",
    "Running",
    "Scheduled",
    "StateLike",
    "Submitting",
    "Suspended",
    "is_cancelled",
    "is_cancelling",
    "is_completed",
    "is_crashed",
    "is_failed",
    "is_final",
    "is_paused",
    "is_pending",
    "is_running",
    "is_scheduled",
    "state",
]

FINAL_TYPES: frozenset[str] = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
"""The StateType values a run does not leave on its own (Prefect's TERMINAL_STATES)."""


class HasStateType(Protocol):
    """Anything with a `type_`, such as the generated `State` and `StateCreate`."""

    @property
    def type_(self) -> object: ...


StateLike: TypeAlias = HasStateType | str | None
"""What the predicates accept: a state, a `StateType` (a `str` enum), its value, or None."""


def _create(
    type_: str, name: str | None, message: str | None, details: dict[str, Any]
) -> StateCreate:
    """A `StateCreate`; `state_details` only when some detail was given, as Prefect's API allows."""
    from prefect_api.models import StateCreate, StateDetails, StateType
    from prefect_api.types import UNSET

    return StateCreate(
        type_=StateType(type_),
        name=name if name is not None else type_.title(),
        message=message if message is not None else UNSET,
        state_details=StateDetails(**details) if details else UNSET,
    )


def state(
    type_: str,
    *,
    name: str | None = None,
    message: str | None = None,
    scheduled_time: datetime.datetime | None = None,
) -> StateCreate:
    """A `StateCreate` of the given StateType value ("COMPLETED", ...), name and message."""
    details = {"scheduled_time": scheduled_time} if scheduled_time else {}
    return _create(type_, name, message, details)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def Scheduled(
    scheduled_time: datetime.datetime | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """SCHEDULED, to start at `scheduled_time` (default: now)."""
    when = scheduled_time or _now()
    return state("SCHEDULED", name=name, message=message, scheduled_time=when)


def Pending(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("PENDING", name=name, message=message)


def Running(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("RUNNING", name=name, message=message)


def Completed(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("COMPLETED", name=name, message=message)


def Failed(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("FAILED", name=name, message=message)


def Crashed(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("CRASHED", name=name, message=message)


def Cancelling(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("CANCELLING", name=name, message=message)


def Cancelled(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("CANCELLED", name=name, message=message)


def Paused(
    timeout_seconds: float | None = None,
    pause_expiration_time: datetime.datetime | None = None,
    reschedule: bool = False,
    pause_key: str | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """PAUSED until resumed, or until `timeout_seconds` from now / `pause_expiration_time`.

    `reschedule=True` lets the run's infrastructure exit while paused (see `Suspended`);
    `pause_key` tells one pause of a run from another. Prefect's own argument names.
    """
    if timeout_seconds is not None and pause_expiration_time is not None:
        raise ValueError("Cannot supply both a pause_expiration_time and timeout_seconds")
    details: dict[str, Any] = {}
    if pause_expiration_time is not None:
        details["pause_timeout"] = pause_expiration_time
    elif timeout_seconds is not None:
        details["pause_timeout"] = _now() + datetime.timedelta(seconds=timeout_seconds)
    if reschedule:
        details["pause_reschedule"] = True
    if pause_key is not None:
        details["pause_key"] = pause_key
    return _create("PAUSED", name, message, details)


def Suspended(
    timeout_seconds: float | None = None,
    pause_expiration_time: datetime.datetime | None = None,
    pause_key: str | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """PAUSED under the name "Suspended", with `pause_reschedule`: resumed as a fresh run."""
    return Paused(
        timeout_seconds=timeout_seconds,
        pause_expiration_time=pause_expiration_time,
        reschedule=True,
        pause_key=pause_key,
        name=name or "Suspended",
        message=message,
    )


def AwaitingRetry(
    scheduled_time: datetime.datetime | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """SCHEDULED under the name "AwaitingRetry": a run waiting for its next try."""
    return Scheduled(scheduled_time, name=name or "AwaitingRetry", message=message)


def AwaitingConcurrencySlot(
    scheduled_time: datetime.datetime | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """SCHEDULED under the name "AwaitingConcurrencySlot": a run waiting for a concurrency slot."""
    return Scheduled(scheduled_time, name=name or "AwaitingConcurrencySlot", message=message)


def Submitting(*, name: str | None = None, message: str | None = None) -> StateCreate:
    """PENDING under the name "Submitting": a run being handed to its infrastructure."""
    return state("PENDING", name=name or "Submitting", message=message)


def InfrastructurePending(*, name: str | None = None, message: str | None = None) -> StateCreate:
    """PENDING under the name "InfrastructurePending": a run waiting for its infrastructure."""
    return state("PENDING", name=name or "InfrastructurePending", message=message)


def Retrying(*, name: str | None = None, message: str | None = None) -> StateCreate:
    """RUNNING under the name "Retrying"."""
    return state("RUNNING", name=name or "Retrying", message=message)


def Late(
    scheduled_time: datetime.datetime | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """SCHEDULED under the name "Late": a run past its start time."""
    return Scheduled(scheduled_time, name=name or "Late", message=message)


def _type_value(state: StateLike) -> str | None:
    """The StateType value ("COMPLETED", ...) of a state, `StateType` or string; None for None.

    Refuses objects without a `type_` (a `FlowRun` rather than its `.state`, say): answering
    False for them would leave a wait-until-final loop spinning forever.
    """
    if state is None:
        return None
    if isinstance(state, str):
        kind: object = state
    elif hasattr(state, "type_"):
        kind = state.type_
    else:
        raise TypeError(f"expected a state, a StateType or its value, not {type(state).__name__}")
    value = getattr(kind, "value", kind)  # a StateType (ours or Prefect's) or a plain string
    return value if isinstance(value, str) else None


def is_final(state: StateLike) -> bool:
    """Whether `state` is COMPLETED, FAILED, CRASHED or CANCELLED: the run is over."""
    return _type_value(state) in FINAL_TYPES


def is_scheduled(state: StateLike) -> bool:
    """Whether `state` is SCHEDULED (including Late, AwaitingRetry, AwaitingConcurrencySlot)."""
    return _type_value(state) == "SCHEDULED"


def is_pending(state: StateLike) -> bool:
    """Whether `state` is PENDING."""
    return _type_value(state) == "PENDING"


def is_running(state: StateLike) -> bool:
    """Whether `state` is RUNNING (including Retrying)."""
    return _type_value(state) == "RUNNING"


def is_completed(state: StateLike) -> bool:
    """Whether `state` is COMPLETED."""
    return _type_value(state) == "COMPLETED"


def is_failed(state: StateLike) -> bool:
    """Whether `state` is FAILED (not CRASHED: see `is_crashed`)."""
    return _type_value(state) == "FAILED"


def is_crashed(state: StateLike) -> bool:
    """Whether `state` is CRASHED."""
    return _type_value(state) == "CRASHED"


def is_cancelled(state: StateLike) -> bool:
    """Whether `state` is CANCELLED."""
    return _type_value(state) == "CANCELLED"


def is_cancelling(state: StateLike) -> bool:
    """Whether `state` is CANCELLING (not yet final)."""
    return _type_value(state) == "CANCELLING"


def is_paused(state: StateLike) -> bool:
    """Whether `state` is PAUSED (including Suspended)."""
    return _type_value(state) == "PAUSED"
