"""Logs: create in batches, read.

`POST /logs/` takes a list of logs. The server has no explicit cap on a request, but it writes a
request in insert batches of 3,640 rows (SQLite's 32,767 bind parameters over a log's 9 columns),
each its own transaction, and Prefect's own log handler never sends more than 4 MB at once
(`PREFECT_LOGGING_TO_API_BATCH_SIZE`; Prefect Cloud also caps one log at 25,000 characters).
`create_logs` therefore sends any number of logs in requests of at most `MAX_LOGS_PER_REQUEST`
logs and `MAX_REQUEST_BYTES` of JSON, well inside all of those: one request is one server
transaction, and no proxy in front of the API sees an outsized body.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, listing, operation, send
from ._common import (
    PageReader,
    as_enum,
    as_model,
    as_uuid,
    body_pages,
    filter_fields,
    iterate,
    read_all,
)

if TYPE_CHECKING:
    from prefect_api.models import Log, LogCreate, LogSort

MAX_LOGS_PER_REQUEST = 1_000
MAX_REQUEST_BYTES = 1_000_000


def log_batches(
    logs: Iterable[LogCreate],
    *,
    max_count: int = MAX_LOGS_PER_REQUEST,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> Iterator[list[LogCreate]]:
    """`logs` in order, cut into lists of at most `max_count` logs whose JSON array is at most
    `max_bytes` long. A single log bigger than `max_bytes` travels alone."""
    batch: list[LogCreate] = []
    size = 2  # the array's brackets
    for log in logs:
        # ASCII-escaped JSON is never shorter than the UTF-8 JSON actually sent.
        log_size = len(json.dumps(log.to_dict())) + 1  # and its comma
        if batch and (len(batch) >= max_count or size + log_size > max_bytes):
            yield batch
            batch, size = [], 2
        batch.append(log)
        size += log_size
    if batch:
        yield batch


class LogOperations:
    """Logs: create in batches, read: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_logs(self, logs: Iterable[LogCreate | Mapping[str, Any]]) -> Op[None]:
        """Store every log given (`LogCreate` models or their dicts), however many, in as many
        requests as the server comfortably takes; all are checked before any is sent."""
        from prefect_api.api.logs import create_logs
        from prefect_api.models import LogCreate

        if isinstance(logs, (str, bytes, Mapping)) or not isinstance(logs, Iterable):
            raise ValueError(f"logs must be an iterable of LogCreate or dicts, not {logs!r}")
        checked = [as_model(log, LogCreate, f"logs[{i}]") for i, log in enumerate(logs)]
        for batch in log_batches(checked):
            yield from send(self, create_logs, body=batch)
        return None

    @operation
    def read_logs(
        self,
        log_filter: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        sort: LogSort | str | None = "TIMESTAMP_ASC",
    ) -> Op[list[Log]]:
        """Logs matching `log_filter` (a LogFilter or its dict), in `sort` order: all of them
        (limit=None) or the first `limit`, paging past the server's 200-row cap."""
        read_page = self._log_pages(log_filter, sort)
        return (
            yield from read_all(
                read_page, limit=limit, offset=offset or 0, page_size=self.page_size
            )
        )

    @listing
    def iter_logs(
        self, log_filter: Any = None, sort: LogSort | str | None = "TIMESTAMP_ASC", offset: int = 0
    ) -> Listing[Log]:
        """Every log matching `log_filter`, in `sort` order, one page at a time."""
        read_page = self._log_pages(log_filter, sort)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _log_pages(self, log_filter: Any, sort: Any) -> PageReader[Log]:
        """Reads one page of `/logs/filter` for this filter and sort."""
        from prefect_api.api.logs import read_logs
        from prefect_api.models import Log, LogSort, ReadLogsBody

        fields = {
            "sort": as_enum(sort or "TIMESTAMP_ASC", LogSort, "sort"),
            **filter_fields(ReadLogsBody, log_filter=log_filter),
        }
        return body_pages(self, read_logs, Log, ReadLogsBody, fields)

    @listing
    def iter_flow_run_logs_csv(self, flow_run_id: uuid.UUID | str) -> Listing[str]:
        """The flow run's logs as the CSV the server's `GET /flow_runs/{id}/logs/download`
        sends (a header line, then `timestamp,level,flow_run_id,task_run_id,message` per log,
        oldest first), one line at a time.

        The lines are made here from pages of `/logs/filter`, as the server makes them, rather
        than read from the download route: the clients read a response whole, and a long run's
        logs need not fit in memory. `ObjectNotFound` if there is no such flow run."""
        from prefect_api.api.flow_runs import read_flow_run
        from prefect_api.models import FlowRunResponse, LogFilter, LogFilterFlowRunId
        from prefect_api.types import Unset

        from .._operations import Item, call

        run_id = as_uuid(flow_run_id, "flow_run_id")
        yield from call(self, read_flow_run, FlowRunResponse, id=run_id)  # 404 as the route
        yield Item(_csv_line(["timestamp", "level", "flow_run_id", "task_run_id", "message"]))
        read_page = self._log_pages(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), None)
        offset = 0
        while True:
            page = yield from read_page(offset, self.page_size)
            for log in page:
                task_run_id = None if isinstance(log.task_run_id, Unset) else log.task_run_id
                row = [log.timestamp, log.level, log.flow_run_id, task_run_id, log.message]
                yield Item(_csv_line(["" if value is None else str(value) for value in row]))
            if len(page) < self.page_size:
                return
            offset += len(page)


def _csv_line(fields: list[str]) -> str:
    """One CSV row as Python's `csv.writer` writes it (the server's writer), line end included."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue()
