"""Build the `StateCreate` bodies that `set_flow_run_state` and `set_task_run_state` send.

    from prefect_sdk import states
    await client.set_flow_run_state(run_id, states.Failed(message="disk full"))

Named after Prefect's own state helpers; each takes an optional `name` and `message`.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect_api.models import StateCreate


def state(
    type_: str,
    *,
    name: str | None = None,
    message: str | None = None,
    scheduled_time: datetime.datetime | None = None,
) -> StateCreate:
    """A `StateCreate` of the given StateType value ("COMPLETED", ...), name and message."""
    from prefect_api.models import StateCreate, StateDetails, StateType
    from prefect_api.types import UNSET

    details = StateDetails(scheduled_time=scheduled_time) if scheduled_time else UNSET
    return StateCreate(
        type_=StateType(type_),
        name=name if name is not None else type_.title(),
        message=message if message is not None else UNSET,
        state_details=details,
    )


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


def Paused(*, name: str | None = None, message: str | None = None) -> StateCreate:
    return state("PAUSED", name=name, message=message)


def AwaitingRetry(
    scheduled_time: datetime.datetime | None = None,
    *,
    name: str | None = None,
    message: str | None = None,
) -> StateCreate:
    """SCHEDULED under the name "AwaitingRetry": a run waiting for its next try."""
    return Scheduled(scheduled_time, name=name or "AwaitingRetry", message=message)


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
