"""Aggregates over runs: state histories, lateness, a flow run's graph, the task workers seen.

These are the reads the server's dashboards are built from, offered for scripts that want the
same numbers (runs per state per interval, how late runs start) without paging every run.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._operations import Op, call, call_list, operation
from ._common import as_tags, as_uuid, filter_fields, given

if TYPE_CHECKING:
    from prefect_api.models import Graph, HistoryResponse, TaskWorkerResponse


def _interval(
    history_start: datetime.datetime,
    history_end: datetime.datetime,
    history_interval_seconds: float,
) -> dict[str, Any]:
    """The history window's fields, checked: an aware start before the end, a positive step."""
    for name, moment in (("history_start", history_start), ("history_end", history_end)):
        if not isinstance(moment, datetime.datetime) or moment.tzinfo is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, not {moment!r}")
    if history_end <= history_start:
        raise ValueError(f"history_end ({history_end}) must be after history_start")
    seconds = history_interval_seconds
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(f"history_interval_seconds must be a number > 0, not {seconds!r}")
    return {
        "history_start": history_start,
        "history_end": history_end,
        "history_interval_seconds": float(seconds),
    }


class HistoryOperations:
    """Run aggregates: methods of PrefectClient and SyncPrefectClient."""

    @operation
    def flow_run_history(
        self,
        history_start: datetime.datetime,
        history_end: datetime.datetime,
        history_interval_seconds: float,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
    ) -> Op[list[HistoryResponse]]:
        """How many of the matching flow runs were in each state, per interval of
        `history_interval_seconds` from `history_start` to `history_end`."""
        from prefect_api.api.flow_runs import flow_run_history
        from prefect_api.models import FlowRunHistoryBody, HistoryResponse

        fields = filter_fields(
            FlowRunHistoryBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
        )
        window = _interval(history_start, history_end, history_interval_seconds)
        body = FlowRunHistoryBody(**window, **fields)
        return (yield from call_list(self, flow_run_history, HistoryResponse, body=body))

    @operation
    def task_run_history(
        self,
        history_start: datetime.datetime,
        history_end: datetime.datetime,
        history_interval_seconds: float,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
    ) -> Op[list[HistoryResponse]]:
        """How many of the matching task runs were in each state, per interval."""
        from prefect_api.api.task_runs import task_run_history
        from prefect_api.models import HistoryResponse, TaskRunHistoryBody

        fields = filter_fields(
            TaskRunHistoryBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
        )
        window = _interval(history_start, history_end, history_interval_seconds)
        body = TaskRunHistoryBody(**window, **fields)
        return (yield from call_list(self, task_run_history, HistoryResponse, body=body))

    @operation
    def average_flow_run_lateness(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
    ) -> Op[float | None]:
        """The matching flow runs' average lateness (seconds between when a run was scheduled
        to start and when it started); None when no run matches."""
        from prefect_api.api.flow_runs import average_flow_run_lateness
        from prefect_api.models import AverageFlowRunLatenessBody

        fields = filter_fields(
            AverageFlowRunLatenessBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        body = AverageFlowRunLatenessBody(**fields)
        response = yield from _send_parsed(self, average_flow_run_lateness, body)
        return response

    @operation
    def read_flow_run_graph(
        self, flow_run_id: uuid.UUID | str, *, since: datetime.datetime | None = None
    ) -> Op[Graph]:
        """The flow run's graph as the UI draws it (task runs and subflow runs as nodes, their
        edges, artifacts and states); with `since`, only what changed after that moment."""
        from prefect_api.api.flow_runs import read_flow_run_graph_v2
        from prefect_api.models import Graph

        run_id = as_uuid(flow_run_id, "flow_run_id")
        if since is not None and not isinstance(since, datetime.datetime):
            raise ValueError(f"since must be a datetime, not {since!r}")
        return (
            yield from call(self, read_flow_run_graph_v2, Graph, id=run_id, **given(since=since))
        )

    @operation
    def read_task_workers(
        self, task_keys: Iterable[str] | None = None
    ) -> Op[list[TaskWorkerResponse]]:
        """The task workers the server has heard from recently (those serving any of
        `task_keys`, or all of them)."""
        from prefect_api.api.task_workers import read_task_workers
        from prefect_api.models import ReadTaskWorkersBody, TaskWorkerFilter, TaskWorkerResponse

        body = ReadTaskWorkersBody()
        if task_keys is not None:
            body.task_worker_filter = TaskWorkerFilter(task_keys=as_tags(task_keys, "task_keys"))
        return (yield from call_list(self, read_task_workers, TaskWorkerResponse, body=body))


def _send_parsed(client: Any, endpoint: Any, body: Any) -> Op[float | None]:
    """The route's number (or null), checked: `call` cannot check a `float | None` result."""
    from .._operations import parse, send, unexpected_body

    response = yield from send(client, endpoint, body=body)
    value = parse(client, endpoint, response, "number or null")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise unexpected_body(response, "number or null")
    return None if value is None else float(value)
