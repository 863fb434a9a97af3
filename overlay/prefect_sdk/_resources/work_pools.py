"""Work pools, work queues and workers.

Work queues live in work pools. With `work_pool_name=None` the queue methods use the
`/work_queues` routes: creating or reading a queue by name then means the default work pool,
while reading and matching queues covers the queues of every pool.
"""

from __future__ import annotations

import datetime
import uuid
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, call_list, listing, operation, send
from ..errors import ObjectAlreadyExists
from ._common import (
    PageReader,
    as_model,
    as_text,
    as_uuid,
    body_pages,
    check_limit,
    create_once,
    filter_fields,
    given,
    iterate,
    jsonable,
    model_from_fields,
    read_all,
    read_by_name,
)

if TYPE_CHECKING:
    from prefect_api.models import (
        FlowRunResponse,
        WorkerFlowRunResponse,
        WorkerResponse,
        WorkPoolConcurrencyStatus,
        WorkPoolResponse,
        WorkQueueConcurrencyStatus,
        WorkQueueResponse,
        WorkQueueStatusDetail,
    )


class WorkPoolOperations:
    """Work pools, work queues and workers: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    # -- work pools ------------------------------------------------------------------------

    @operation
    def create_work_pool(self, work_pool: Any, overwrite: bool = False) -> Op[WorkPoolResponse]:
        """Create the work pool (a WorkPoolCreate or dict) and return it; ObjectAlreadyExists if
        the name is taken, unless `overwrite=True`, which updates the existing pool instead. A
        pool this call's own earlier attempt made (its answer was lost) is returned as made."""
        from prefect_api.api.work_pools import create_work_pool
        from prefect_api.models import WorkPoolCreate, WorkPoolResponse

        if isinstance(work_pool, Mapping):
            work_pool = jsonable(work_pool)
        body = as_model(work_pool, WorkPoolCreate, "work_pool")
        try:
            return (
                yield from create_once(
                    call(self, create_work_pool, WorkPoolResponse, body=body),
                    lambda: WorkPoolOperations.read_work_pool.fn(self, body.name),
                )
            )
        except ObjectAlreadyExists:
            if not overwrite:
                raise
        existing = yield from WorkPoolOperations.read_work_pool.fn(self, body.name)
        settings = body.to_dict()
        requested_type = settings.pop("type", None)
        settings.pop("name", None)
        if requested_type is not None and requested_type != existing.type_:
            warnings.warn(
                "Overwriting work pool type is not supported. Ignoring provided type.",
                UserWarning,
                stacklevel=2,
            )
        yield from WorkPoolOperations.update_work_pool.fn(self, body.name, settings)
        return (yield from WorkPoolOperations.read_work_pool.fn(self, body.name))

    @operation
    def read_work_pool(self, work_pool_name: str) -> Op[WorkPoolResponse]:
        """The work pool with this name; ObjectNotFound if there is none."""
        from prefect_api.api.work_pools import read_work_pool
        from prefect_api.models import WorkPoolResponse

        name = as_text(work_pool_name, "work_pool_name")
        read = call(self, read_work_pool, WorkPoolResponse, name=name)
        return (yield from read_by_name(read, ("work pool", name)))

    @operation
    def read_work_pools(
        self, limit: int | None = None, offset: int = 0, work_pool_filter: Any = None
    ) -> Op[list[WorkPoolResponse]]:
        """Work pools matching the filter: all of them (limit=None) or the first `limit`."""
        read_page = self._work_pool_pages(work_pool_filter)
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_work_pools(
        self, offset: int = 0, work_pool_filter: Any = None
    ) -> Listing[WorkPoolResponse]:
        """Every work pool matching the filter, one page at a time."""
        read_page = self._work_pool_pages(work_pool_filter)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _work_pool_pages(self, work_pool_filter: Any) -> PageReader[WorkPoolResponse]:
        from prefect_api.api.work_pools import read_work_pools
        from prefect_api.models import ReadWorkPoolsBody, WorkPoolResponse

        fields = filter_fields(ReadWorkPoolsBody, work_pool_filter=work_pool_filter)
        return body_pages(self, read_work_pools, WorkPoolResponse, ReadWorkPoolsBody, fields)

    @operation
    def update_work_pool(self, work_pool_name: str, work_pool: Any) -> Op[None]:
        """Update the work pool with the fields of a WorkPoolUpdate or dict; ObjectNotFound if none."""
        from prefect_api.api.work_pools import update_work_pool
        from prefect_api.models import WorkPoolUpdate

        name = as_text(work_pool_name, "work_pool_name")
        if isinstance(work_pool, Mapping):
            body = model_from_fields(WorkPoolUpdate, work_pool, "work_pool")
        else:
            body = as_model(work_pool, WorkPoolUpdate, "work_pool")
        yield from send(self, update_work_pool, name=name, body=body)
        return None

    @operation
    def delete_work_pool(self, work_pool_name: str) -> Op[None]:
        """Delete the work pool; ObjectNotFound if there is none."""
        from prefect_api.api.work_pools import delete_work_pool

        yield from send(self, delete_work_pool, name=as_text(work_pool_name, "work_pool_name"))
        return None

    @operation
    def get_scheduled_flow_runs_for_work_pool(
        self,
        work_pool_name: str,
        work_queue_names: list[str] | None = None,
        scheduled_before: datetime.datetime | None = None,
    ) -> Op[list[WorkerFlowRunResponse]]:
        """Scheduled flow runs of the pool's queues (all, or those named), as a worker sees them."""
        from prefect_api.api.work_pools import get_scheduled_flow_runs
        from prefect_api.models import GetScheduledFlowRunsBody, WorkerFlowRunResponse

        name = as_text(work_pool_name, "work_pool_name")
        if isinstance(work_queue_names, str):
            raise ValueError("work_queue_names must be a list of names, not a single string")
        body = GetScheduledFlowRunsBody(
            **given(
                work_queue_names=None if work_queue_names is None else list(work_queue_names),
                scheduled_before=scheduled_before,
            )
        )
        return (
            yield from call_list(
                self, get_scheduled_flow_runs, WorkerFlowRunResponse, name=name, body=body
            )
        )

    @operation
    def count_work_pools(self, *, work_pool_filter: Any = None) -> Op[int]:
        """How many work pools match `work_pool_filter` (all of them without one)."""
        from prefect_api.api.work_pools import count_work_pools
        from prefect_api.models import CountWorkPoolsBody

        fields = filter_fields(CountWorkPoolsBody, work_pool_filter=work_pool_filter)
        return (yield from call(self, count_work_pools, int, body=CountWorkPoolsBody(**fields)))

    @operation
    def read_work_pool_concurrency_status(
        self,
        work_pool_name: str,
        page: int = 1,
        limit: int | None = None,
        flow_run_limit: int = 10,
    ) -> Op[WorkPoolConcurrencyStatus]:
        """One page (1-based) of the work pool's concurrency status: its limit, the runs using
        it, per queue (at most `limit` queues, `flow_run_limit` runs each); ObjectNotFound if
        there is no such pool."""
        from prefect_api.api.work_pools import read_work_pool_concurrency_status
        from prefect_api.models import ReadWorkPoolConcurrencyStatusBody, WorkPoolConcurrencyStatus

        pool = as_text(work_pool_name, "work_pool_name")
        body = ReadWorkPoolConcurrencyStatusBody(
            page=page, flow_run_limit=flow_run_limit, **given(limit=limit)
        )
        return (
            yield from call(
                self,
                read_work_pool_concurrency_status,
                WorkPoolConcurrencyStatus,
                name=pool,
                body=body,
            )
        )

    # -- workers ---------------------------------------------------------------------------

    @operation
    def send_worker_heartbeat(
        self,
        work_pool_name: str,
        worker_name: str,
        heartbeat_interval_seconds: float | None = None,
        get_worker_id: bool = False,
        worker_metadata: Any = None,
    ) -> Op[uuid.UUID | None]:
        """Record a heartbeat of the worker in the work pool (registering the worker if new).

        `worker_metadata` (a dict or a model) and `get_worker_id` are sent as Prefect's client
        sends them; a server that returns the worker's id (Prefect Cloud) has it returned, the
        open-source server answers 204 and the result is None."""
        from prefect_api.api.work_pools import worker_heartbeat
        from prefect_api.models import WorkerHeartbeatBody

        pool = as_text(work_pool_name, "work_pool_name")
        body = WorkerHeartbeatBody(
            name=as_text(worker_name, "worker_name"),
            **given(
                heartbeat_interval_seconds=(
                    None if heartbeat_interval_seconds is None else int(heartbeat_interval_seconds)
                )
            ),
        )
        if worker_metadata is not None:
            body.additional_properties["metadata"] = jsonable(worker_metadata)
        if get_worker_id:
            body.additional_properties["return_id"] = True
        response = yield from send(self, worker_heartbeat, work_pool_name=pool, body=body)
        if not get_worker_id or response.status_code != 200:
            return None
        try:
            return uuid.UUID(response.text.strip().strip('"'))
        except ValueError:
            return None

    @operation
    def delete_worker(self, work_pool_name: str, worker_name: str) -> Op[None]:
        """Forget the worker of the work pool (a worker still running registers again at its
        next heartbeat); ObjectNotFound if there is none."""
        from prefect_api.api.work_pools import delete_worker

        pool = as_text(work_pool_name, "work_pool_name")
        worker = as_text(worker_name, "worker_name")
        yield from send(self, delete_worker, work_pool_name=pool, name=worker)
        return None

    @operation
    def read_workers_for_work_pool(
        self,
        work_pool_name: str,
        worker_filter: Any = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Op[list[WorkerResponse]]:
        """The pool's workers matching the filter: all of them (limit=None) or the first `limit`."""
        read_page = self._worker_pages(work_pool_name, worker_filter)
        return (
            yield from read_all(
                read_page, limit=limit, offset=offset or 0, page_size=self.page_size
            )
        )

    @listing
    def iter_workers_for_work_pool(
        self, work_pool_name: str, worker_filter: Any = None, offset: int = 0
    ) -> Listing[WorkerResponse]:
        """Every worker of the pool matching the filter, one page at a time."""
        read_page = self._worker_pages(work_pool_name, worker_filter)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _worker_pages(self, work_pool_name: str, worker_filter: Any) -> PageReader[WorkerResponse]:
        from prefect_api.api.work_pools import read_workers
        from prefect_api.models import ReadWorkersBody, WorkerFilter, WorkerResponse

        pool = as_text(work_pool_name, "work_pool_name")
        fields: dict[str, Any] = {}
        if worker_filter is not None:
            fields["workers"] = as_model(jsonable(worker_filter), WorkerFilter, "worker_filter")
        return body_pages(
            self, read_workers, WorkerResponse, ReadWorkersBody, fields, work_pool_name=pool
        )

    # -- work queues -----------------------------------------------------------------------

    @operation
    def create_work_queue(
        self,
        name: str,
        description: str | None = None,
        is_paused: bool | None = None,
        concurrency_limit: int | None = None,
        priority: int | None = None,
        work_pool_name: str | None = None,
    ) -> Op[WorkQueueResponse]:
        """Create a work queue in the work pool (default: the default pool) and return it;
        ObjectAlreadyExists if the pool has a queue of that name (but not one this call's own
        earlier attempt made, whose answer was lost: that queue is returned)."""
        from prefect_api.api.work_pools import create_work_queue as create_in_pool
        from prefect_api.api.work_queues import create_work_queue as create_in_default_pool
        from prefect_api.models import WorkQueueCreate, WorkQueueResponse

        body = WorkQueueCreate(
            name=as_text(name, "name"),
            **given(
                description=description,
                is_paused=is_paused,
                concurrency_limit=concurrency_limit,
                priority=priority,
            ),
        )
        pool = None if work_pool_name is None else as_text(work_pool_name, "work_pool_name")
        if pool is None:
            create = call(self, create_in_default_pool, WorkQueueResponse, body=body)
        else:
            create = call(self, create_in_pool, WorkQueueResponse, work_pool_name=pool, body=body)
        return (
            yield from create_once(
                create,
                lambda: WorkPoolOperations.read_work_queue_by_name.fn(self, body.name, pool),
            )
        )

    @operation
    def read_work_queue(self, id: uuid.UUID | str) -> Op[WorkQueueResponse]:
        """The work queue with this id; ObjectNotFound if there is none."""
        from prefect_api.api.work_queues import read_work_queue
        from prefect_api.models import WorkQueueResponse

        return (yield from call(self, read_work_queue, WorkQueueResponse, id=as_uuid(id, "id")))

    @operation
    def read_work_queue_by_name(
        self, name: str, work_pool_name: str | None = None
    ) -> Op[WorkQueueResponse]:
        """The queue with this name in the work pool (default: the default pool); ObjectNotFound
        if there is none."""
        from prefect_api.api.work_pools import read_work_queue as read_in_pool
        from prefect_api.api.work_queues import read_work_queue_by_name
        from prefect_api.models import WorkQueueResponse

        queue = as_text(name, "name")
        if work_pool_name is None:
            read = call(self, read_work_queue_by_name, WorkQueueResponse, name=queue)
            return (yield from read_by_name(read, ("work queue", queue)))
        pool = as_text(work_pool_name, "work_pool_name")
        read = call(self, read_in_pool, WorkQueueResponse, work_pool_name=pool, name=queue)
        return (yield from read_by_name(read, ("work queue", queue), ("work pool", pool)))

    @operation
    def read_work_queues(
        self,
        work_pool_name: str | None = None,
        work_queue_filter: Any = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[WorkQueueResponse]]:
        """Queues of the work pool (or of every pool) matching the filter, by name: all of them
        (limit=None) or the first `limit`."""
        read_page = self._work_queue_pages(work_pool_name, work_queue_filter)
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_work_queues(
        self, work_pool_name: str | None = None, work_queue_filter: Any = None, offset: int = 0
    ) -> Listing[WorkQueueResponse]:
        """Every queue of the work pool (or of every pool) matching the filter, page by page."""
        read_page = self._work_queue_pages(work_pool_name, work_queue_filter)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _work_queue_pages(
        self, work_pool_name: str | None, work_queue_filter: Any
    ) -> PageReader[WorkQueueResponse]:
        from prefect_api.api.work_pools import read_work_queues as read_in_pool
        from prefect_api.api.work_queues import read_work_queues as read_in_any_pool
        from prefect_api.models import (
            ReadWorkQueuesBody,
            WorkQueueFilter,
            WorkQueueResponse,
            WorkQueuesReadWorkQueuesBody,
        )

        fields: dict[str, Any] = {}
        if work_queue_filter is not None:
            fields["work_queues"] = as_model(
                jsonable(work_queue_filter), WorkQueueFilter, "work_queue_filter"
            )
        if work_pool_name is None:
            return body_pages(
                self, read_in_any_pool, WorkQueueResponse, WorkQueuesReadWorkQueuesBody, fields
            )
        pool = as_text(work_pool_name, "work_pool_name")
        return body_pages(
            self, read_in_pool, WorkQueueResponse, ReadWorkQueuesBody, fields, work_pool_name=pool
        )

    @operation
    def match_work_queues(
        self, prefixes: Iterable[str], work_pool_name: str | None = None
    ) -> Op[list[WorkQueueResponse]]:
        """Every queue (of the work pool, or of every pool) whose name starts with any of the
        prefixes, case-insensitively, however many pages that takes."""
        from prefect_api.models import WorkQueueFilter, WorkQueueFilterName

        if isinstance(prefixes, str) or not isinstance(prefixes, Iterable):
            raise ValueError("prefixes must be a list of strings, not a single string")
        wanted = list(prefixes)
        if not all(isinstance(prefix, str) for prefix in wanted):
            raise ValueError(f"prefixes must all be strings: {wanted!r}")
        if not wanted:
            return []
        name_filter = WorkQueueFilter(name=WorkQueueFilterName(startswith=wanted))
        read_page = self._work_queue_pages(work_pool_name, name_filter)
        rows = yield from read_all(read_page, limit=None, offset=0, page_size=self.page_size)
        # The server matches with ILIKE, where "_" and "%" in a prefix are wildcards: keep only
        # true prefix matches, and each queue once even if the pages shifted under us.
        folded = [prefix.casefold() for prefix in wanted]
        seen: set[uuid.UUID] = set()
        matches: list[WorkQueueResponse] = []
        for queue in rows:
            if queue.id in seen or not queue.name.casefold().startswith(tuple(folded)):
                continue
            seen.add(queue.id)
            matches.append(queue)
        return matches

    @operation
    def update_work_queue(self, /, id: uuid.UUID | str, **kwargs: Any) -> Op[None]:
        """Update only the given WorkQueueUpdate fields of the queue; ObjectNotFound if none."""
        from prefect_api.api.work_queues import update_work_queue
        from prefect_api.models import WorkQueueUpdate

        queue_id = as_uuid(id, "id")
        if not kwargs:
            raise ValueError("No fields provided to update.")
        body = model_from_fields(WorkQueueUpdate, kwargs, "update_work_queue")
        yield from send(self, update_work_queue, id=queue_id, body=body)
        return None

    @operation
    def delete_work_queue_by_id(self, id: uuid.UUID | str) -> Op[None]:
        """Delete the work queue; ObjectNotFound if there is none."""
        from prefect_api.api.work_queues import delete_work_queue

        yield from send(self, delete_work_queue, id=as_uuid(id, "id"))
        return None

    @operation
    def get_runs_in_work_queue(
        self,
        id: uuid.UUID | str,
        limit: int = 10,
        scheduled_before: datetime.datetime | None = None,
    ) -> Op[list[FlowRunResponse]]:
        """Up to `limit` runs waiting in the queue, scheduled before `scheduled_before` (default
        now); counts as a poll of the queue."""
        from prefect_api.api.work_queues import read_work_queue_runs
        from prefect_api.models import FlowRunResponse, ReadWorkQueueRunsBody

        queue_id = as_uuid(id, "id")
        check_limit(limit, 0)
        before = scheduled_before or datetime.datetime.now(datetime.timezone.utc)
        body = ReadWorkQueueRunsBody(limit=limit, scheduled_before=before)
        return (
            yield from call_list(
                self, read_work_queue_runs, FlowRunResponse, id=queue_id, body=body
            )
        )

    @operation
    def read_work_queue_concurrency_status(
        self, id: uuid.UUID | str, page: int = 1, limit: int | None = None
    ) -> Op[WorkQueueConcurrencyStatus]:
        """One page (1-based) of the work queue's concurrency status: its limit and the runs
        using it (at most `limit` per page); ObjectNotFound if there is no such queue."""
        from prefect_api.api.work_queues import read_work_queue_concurrency_status
        from prefect_api.models import (
            ReadWorkQueueConcurrencyStatusBody,
            WorkQueueConcurrencyStatus,
        )

        body = ReadWorkQueueConcurrencyStatusBody(page=page, **given(limit=limit))
        return (
            yield from call(
                self,
                read_work_queue_concurrency_status,
                WorkQueueConcurrencyStatus,
                id=as_uuid(id, "id"),
                body=body,
            )
        )

    @operation
    def read_work_queue_status(self, id: uuid.UUID | str) -> Op[WorkQueueStatusDetail]:
        """The queue's health: `healthy`, `late_runs_count`, `last_polled`, its policy."""
        from prefect_api.api.work_queues import read_work_queue_status
        from prefect_api.models import WorkQueueStatusDetail

        return (
            yield from call(
                self, read_work_queue_status, WorkQueueStatusDetail, id=as_uuid(id, "id")
            )
        )
