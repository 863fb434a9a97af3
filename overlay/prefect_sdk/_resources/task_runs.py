"""Task runs and their states."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, call_list, listing, operation, send
from ._common import (
    PageReader,
    as_model,
    as_tags,
    as_uuid,
    body_pages,
    filter_fields,
    given,
    iterate,
    read_all,
    state_body,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import (
        OrchestrationResult,
        State,
        StateCreate,
        TaskRun,
        TaskRunPaginationResponse,
        TaskRunSort,
    )


class TaskRunOperations:
    """Task runs and their states: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_task_run(
        self,
        task: Any,
        flow_run_id: uuid.UUID | str | None,
        dynamic_key: str,
        id: uuid.UUID | str | None = None,
        name: str | None = None,
        extra_tags: Iterable[str] | None = None,
        state: StateCreate | Mapping[str, Any] | None = None,
        task_inputs: Mapping[str, Any] | None = None,
        *,
        tags: Iterable[str] | None = None,
    ) -> Op[TaskRun]:
        """Create a run of `task` in the flow run (None for a run outside any flow), Pending
        unless `state` says otherwise; return the new task run.

        `task` is a task key (a string) or, as with Prefect's client, a task object: its
        `.task_key`, `.name` (the run's default name) and `.tags` are used. The run's tags are
        the task's, `extra_tags` and `tags` (this SDK's earlier name for `extra_tags`)."""
        from prefect_api.api.task_runs import create_task_run
        from prefect_api.models import TaskRun, TaskRunCreate, TaskRunCreateTaskInputs

        from .. import states

        key = task if isinstance(task, str) else getattr(task, "task_key", None)
        if not isinstance(key, str) or not key:
            raise ValueError(
                f"task_key must be a non-empty string (task: a key or an object with a "
                f".task_key), not {task!r}"
            )
        sources = {"extra_tags": extra_tags, "tags": tags}
        if not isinstance(task, str):
            name = getattr(task, "name", None) if name is None else name
            sources = {"task.tags": getattr(task, "tags", None), **sources}
        given_tags = [
            as_tags(value, label) for label, value in sources.items() if value is not None
        ]
        run_tags = list(dict.fromkeys(tag for group in given_tags for tag in group))
        if not isinstance(dynamic_key, (str, int)) or isinstance(dynamic_key, bool):
            raise ValueError(f"dynamic_key must be a string, not {dynamic_key!r}")
        body = TaskRunCreate(
            task_key=key,
            dynamic_key=str(dynamic_key),
            name=name if isinstance(name, str) else key,
            state=state_body(states.Pending() if state is None else state),
            **given(
                id=None if id is None else as_uuid(id, "id"),
                flow_run_id=None if flow_run_id is None else as_uuid(flow_run_id, "flow_run_id"),
                tags=run_tags if given_tags else None,
                task_inputs=None
                if task_inputs is None
                else as_model(task_inputs, TaskRunCreateTaskInputs, "task_inputs"),
            ),
        )
        return (yield from call(self, create_task_run, TaskRun, body=body))

    @operation
    def read_task_run(self, task_run_id: uuid.UUID | str) -> Op[TaskRun]:
        """The task run with this id; ObjectNotFound if there is none."""
        from prefect_api.api.task_runs import read_task_run
        from prefect_api.models import TaskRun

        run_id = as_uuid(task_run_id, "task_run_id")
        return (yield from call(self, read_task_run, TaskRun, id=run_id))

    @operation
    def read_task_runs(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        sort: TaskRunSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[TaskRun]]:
        """Task runs matching the filters: all of them (limit=None) or the first `limit`, paging
        past the server's 200-row cap."""
        read_page = self._task_run_pages(
            sort,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_task_runs(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        sort: TaskRunSort | str | None = None,
        offset: int = 0,
    ) -> Listing[TaskRun]:
        """Every task run matching the filters, one page at a time."""
        read_page = self._task_run_pages(
            sort,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _task_run_pages(self, sort: Any, **filters: Any) -> PageReader[TaskRun]:
        """Reads one page of `/task_runs/filter` for these filters and sort."""
        from prefect_api.api.task_runs import read_task_runs
        from prefect_api.models import ReadTaskRunsBody, TaskRun, TaskRunSort

        fields = with_sort(filter_fields(ReadTaskRunsBody, **filters), sort, TaskRunSort)
        return body_pages(self, read_task_runs, TaskRun, ReadTaskRunsBody, fields)

    @operation
    def count_task_runs(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
    ) -> Op[int]:
        """How many task runs match the filters."""
        from prefect_api.api.task_runs import count_task_runs
        from prefect_api.models import CountTaskRunsBody

        fields = filter_fields(
            CountTaskRunsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
        )
        return (yield from call(self, count_task_runs, int, body=CountTaskRunsBody(**fields)))

    @operation
    def paginate_task_runs(
        self,
        *,
        page: int = 1,
        limit: int | None = None,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        sort: TaskRunSort | str | None = None,
    ) -> Op[TaskRunPaginationResponse]:
        """One page of the `/task_runs/paginate` route: `results`, `count`, `pages`, `page`."""
        from prefect_api.api.task_runs import paginate_task_runs
        from prefect_api.models import PaginateTaskRunsBody, TaskRunPaginationResponse, TaskRunSort

        fields = filter_fields(
            PaginateTaskRunsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
        )
        fields = with_sort(fields, sort, TaskRunSort)
        body = PaginateTaskRunsBody(page=page, **given(limit=limit), **fields)
        return (yield from call(self, paginate_task_runs, TaskRunPaginationResponse, body=body))

    @operation
    def set_task_run_name(self, task_run_id: uuid.UUID | str, name: str) -> Op[None]:
        """Rename the task run; ObjectNotFound if there is none."""
        from prefect_api.api.task_runs import update_task_run
        from prefect_api.models import TaskRunUpdate

        run_id = as_uuid(task_run_id, "task_run_id")
        if not isinstance(name, str):
            raise ValueError(f"name must be a string, not {name!r}")
        yield from send(self, update_task_run, id=run_id, body=TaskRunUpdate(name=name))
        return None

    @operation
    def set_task_run_state(
        self,
        task_run_id: uuid.UUID | str,
        state: StateCreate | Mapping[str, Any],
        force: bool = False,
    ) -> Op[OrchestrationResult]:
        """Propose `state` for the task run (orchestration rules apply unless `force`); return
        the server's verdict: ACCEPT, REJECT, WAIT or ABORT, with the run's resulting state."""
        from prefect_api.api.task_runs import set_task_run_state
        from prefect_api.models import OrchestrationResult, SetTaskRunStateBody

        run_id = as_uuid(task_run_id, "task_run_id")
        body = SetTaskRunStateBody(state=state_body(state, task_run_id=run_id), force=bool(force))
        return (
            yield from call(self, set_task_run_state, OrchestrationResult, id=run_id, body=body)
        )

    @operation
    def read_task_run_state(self, task_run_state_id: uuid.UUID | str) -> Op[State]:
        """The task run state with this id; ObjectNotFound if there is none."""
        from prefect_api.api.task_run_states import read_task_run_state
        from prefect_api.models import State

        state_id = as_uuid(task_run_state_id, "task_run_state_id")
        return (yield from call(self, read_task_run_state, State, id=state_id))

    @operation
    def read_task_run_states(self, task_run_id: uuid.UUID | str) -> Op[list[State]]:
        """Every state the task run has been in, oldest first."""
        from prefect_api.api.task_run_states import read_task_run_states
        from prefect_api.models import State

        run_id = as_uuid(task_run_id, "task_run_id")
        return (yield from call_list(self, read_task_run_states, State, task_run_id=run_id))

    @operation
    def delete_task_run(self, task_run_id: uuid.UUID | str) -> Op[None]:
        """Delete the task run; ObjectNotFound if there is none."""
        from prefect_api.api.task_runs import delete_task_run

        yield from send(self, delete_task_run, id=as_uuid(task_run_id, "task_run_id"))
        return None
