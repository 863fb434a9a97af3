"""Waiting for a flow run to finish, and running a deployment (Prefect's `run_deployment`).

`wait_for_flow_run` follows the run's state events over the `/events/out` websocket and reads
the run at each one; where no socket can be opened, or it drops, it polls `read_flow_run` with a
growing interval instead. It subscribes before its first read, so a change made in between is
not missed, and re-reads now and then even on events, so a lost event cannot make it wait for
ever. Written once for both clients, like every method (see _socket.py).
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from .._operations import Flow, operation
from .._policy import Sleep
from .._socket import Receive, Send
from ..errors import FlowRunWaitTimeout, PrefectSDKError
from ..states import is_final
from ._common import as_uuid
from .streams import EVENTS_OUT, open_socket

if TYPE_CHECKING:
    from prefect_api.models import FlowRunResponse

# Prefect's default: three hours.
WAIT_TIMEOUT = 10800.0
# Polling starts this often and doubles up to the cap (`poll_interval`, else POLL_CAP).
FIRST_POLL = 0.5
POLL_CAP = 10.0
# Reading the run this often on events too, in case an event went missing.
EVENT_RECHECK = 30.0


def _seconds(value: object, name: str, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"{name} must be a number of seconds or None, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, not {value!r}")
    return float(value)


def _state_name(run: Any) -> str:
    state = getattr(run, "state", None)
    if state is None:
        return "no state"
    return (
        f"{state.type_.value} ({state.name})" if getattr(state, "name", None) else state.type_.value
    )


def _finished(run: Any) -> bool:
    state = getattr(run, "state", None)
    return bool(state) and is_final(state)  # a run without a state (None, UNSET) is not


def _state_events_filter(run_id: uuid.UUID) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "type": "filter",
        "filter": {
            "resource": {"id": [f"prefect.flow-run.{run_id}"]},
            "event": {"prefix": ["prefect.flow-run."]},
            "occurred": {
                "since": now.isoformat(),
                "until": (now + datetime.timedelta(days=3650)).isoformat(),
            },
        },
        "backfill": False,
    }


class WaitOperations:
    """Waiting and running deployments: methods of PrefectClient and SyncPrefectClient."""

    @operation
    def wait_for_flow_run(
        self,
        flow_run_id: uuid.UUID | str,
        *,
        timeout: float | None = WAIT_TIMEOUT,
        poll_interval: float | None = None,
    ) -> Flow[FlowRunResponse]:
        """The flow run, once its state is final (COMPLETED, FAILED, CRASHED, CANCELLED).

        Follows the run's state events where the server offers its websocket, else polls every
        0.5 s, growing to `poll_interval` (default 10 s). `timeout` is how long to wait (None:
        for ever), not a limit on the run: on expiry `FlowRunWaitTimeout` names the run and its
        last state, and the run is left as it is."""
        from .flow_runs import FlowRunOperations

        run_id = as_uuid(flow_run_id, "flow_run_id")
        wait = _seconds(timeout, "timeout", allow_zero=True)
        cap = _seconds(poll_interval, "poll_interval", allow_zero=False) or POLL_CAP
        deadline = None if wait is None else time.monotonic() + wait
        read = FlowRunOperations.read_flow_run.fn

        socket = None
        try:
            socket = yield from open_socket(self, EVENTS_OUT)
            yield Send(socket, json.dumps(_state_events_filter(run_id)))
        except PrefectSDKError:  # no socket here (refused, dropped, not authenticated): poll
            socket = None
        run = yield from read(self, run_id)  # after subscribing: no change falls in between
        interval = FIRST_POLL
        while not _finished(run):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise FlowRunWaitTimeout(
                    f"flow run {run_id} ({run.name}) did not finish within {wait:g} s; "
                    f"its last state: {_state_name(run)}",
                    run,
                )
            if socket is not None:
                limit = EVENT_RECHECK if remaining is None else min(EVENT_RECHECK, remaining)
                try:
                    yield Receive(socket, limit)  # an event for the run, or time to re-check
                except PrefectSDKError:  # the socket dropped: poll from here on
                    socket = None
            else:
                yield Sleep(interval if remaining is None else min(interval, remaining))
                interval = min(interval * 2, cap)
            run = yield from read(self, run_id)
        return run

    @operation
    def run_deployment(
        self,
        name_or_id: uuid.UUID | str,
        *,
        parameters: dict[str, Any] | None = None,
        scheduled_time: datetime.datetime | None = None,
        flow_run_name: str | None = None,
        tags: list[str] | None = None,
        idempotency_key: str | None = None,
        work_queue_name: str | None = None,
        job_variables: dict[str, Any] | None = None,
        timeout: float | None = None,
        poll_interval: float | None = 5,
    ) -> Flow[FlowRunResponse]:
        """Create a run of a deployment (its id, or "flow-name/deployment-name") and wait until it
        is final, as Prefect's `run_deployment` does; return the flow run.

        The server checks `parameters` against the deployment's schema (a 422 names the bad
        one). `scheduled_time` sets when it may start (default: now). With `timeout=0` the new
        (SCHEDULED) run is returned at once; `timeout=None` waits for ever; a run not final in
        time raises `FlowRunWaitTimeout`. The same `idempotency_key` gives the same run."""
        from .. import states
        from .deployments import DeploymentOperations

        wait = _seconds(timeout, "timeout", allow_zero=True)
        _seconds(poll_interval, "poll_interval", allow_zero=False)
        deployment_id = yield from self._deployment_id(name_or_id)
        create = DeploymentOperations.create_flow_run_from_deployment.fn
        run = yield from create(
            self,
            deployment_id,
            parameters=parameters,
            state=states.Scheduled(scheduled_time),
            name=flow_run_name,
            tags=tags,
            idempotency_key=idempotency_key,
            work_queue_name=work_queue_name,
            job_variables=job_variables,
        )
        if wait == 0:
            return run
        return (
            yield from WaitOperations.wait_for_flow_run.fn(
                self, run.id, timeout=wait, poll_interval=poll_interval
            )
        )

    def _deployment_id(self, name_or_id: uuid.UUID | str) -> Flow[uuid.UUID]:
        from .deployments import DeploymentOperations

        if isinstance(name_or_id, uuid.UUID):
            return name_or_id
        if isinstance(name_or_id, str):
            try:
                return uuid.UUID(name_or_id)
            except ValueError:
                pass
            if name_or_id.count("/") == 1 and all(name_or_id.split("/")):
                read = DeploymentOperations.read_deployment_by_name.fn
                deployment = yield from read(self, name_or_id)
                return deployment.id
        raise ValueError(
            f"name_or_id must be a deployment id or 'flow-name/deployment-name', not {name_or_id!r}"
        )
