"""Flow runs, their states, inputs and labels."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, call_list, listing, operation, send
from ._common import (
    PageReader,
    as_mapping,
    as_model,
    as_tags,
    as_uuid,
    body_pages,
    create_once,
    filter_fields,
    given,
    idempotency_key_for_call,
    iterate,
    jsonable,
    read_all,
    state_body,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import (
        FlowRunInput,
        FlowRunOrchestrationResult,
        FlowRunPaginationResponse,
        FlowRunResponse,
        FlowRunSort,
        OrchestrationResult,
        State,
        StateCreate,
    )


def _run_fields_from_flow(flow: Any) -> dict[str, Any]:
    """The FlowRunCreate fields Prefect's client takes from a `prefect.Flow`: its version and
    its retries as the run's policy."""
    from prefect_api.models import FlowRunPolicy

    fields: dict[str, Any] = {}
    if isinstance(getattr(flow, "version", None), str):
        fields["flow_version"] = flow.version
    retries, delay = getattr(flow, "retries", None), getattr(flow, "retry_delay_seconds", None)
    if isinstance(retries, int) and isinstance(delay, (int, float, type(None))):
        fields["empirical_policy"] = FlowRunPolicy(retries=retries, retry_delay=int(delay or 0))
    return fields


# Flow run input keys the server accepts (Prefect's "lowercase letters, numbers and dashes").
INPUT_KEY = re.compile(r"^[a-z0-9-]+$")


class FlowRunOperations:
    """Flow runs, their states, inputs and labels: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_flow_run(
        self,
        flow: Any,
        name: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        parent_task_run_id: uuid.UUID | str | None = None,
        state: StateCreate | Mapping[str, Any] | None = None,
        work_pool_name: str | None = None,
        work_queue_name: str | None = None,
        job_variables: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Op[FlowRunResponse]:
        """Create a run of `flow` (a flow id, or a `Flow` / anything with `.id`), Pending unless
        `state` says otherwise; return the new flow run.

        With an `idempotency_key`, a second create of the same flow with the same key returns
        the first run instead of making another. Without one the SDK sends a key it makes for
        this call (`prefect-sdk-<uuid4 hex>`, visible as the run's `idempotency_key`), the same
        on every retry: a create whose answer was lost and that was sent again makes one run."""
        from prefect_api.api.flow_runs import create_flow_run
        from prefect_api.models import (
            FlowRunCreate,
            FlowRunCreateContext,
            FlowRunCreateJobVariablesType0,
            FlowRunCreateParameters,
            FlowRunResponse,
        )

        from .. import states

        from_flow: dict[str, Any] = {}
        if not hasattr(flow, "id") and isinstance(getattr(flow, "name", None), str):
            # A Prefect `Flow` object: as Prefect's client does, create (or find) the flow by
            # name and take the run's version and retry policy from it.
            from .flows import FlowOperations

            flow_id = yield from FlowOperations.create_flow_from_name.fn(self, flow.name)
            from_flow = _run_fields_from_flow(flow)
        else:
            flow_id = as_uuid(getattr(flow, "id", flow), "flow")
        body = FlowRunCreate(
            flow_id=flow_id,
            state=state_body(states.Pending() if state is None else state),
            **from_flow,
            **given(
                name=name,
                parameters=None
                if parameters is None
                else FlowRunCreateParameters.from_dict(
                    jsonable(as_mapping(parameters, "parameters"))
                ),
                context=None
                if context is None
                else FlowRunCreateContext.from_dict(jsonable(as_mapping(context, "context"))),
                tags=None if tags is None else as_tags(tags),
                parent_task_run_id=None
                if parent_task_run_id is None
                else as_uuid(parent_task_run_id, "parent_task_run_id"),
                work_pool_name=work_pool_name,
                work_queue_name=work_queue_name,
                job_variables=None
                if job_variables is None
                else FlowRunCreateJobVariablesType0.from_dict(
                    as_mapping(job_variables, "job_variables")
                ),
            ),
            idempotency_key=idempotency_key_for_call(idempotency_key),
        )
        return (yield from call(self, create_flow_run, FlowRunResponse, body=body))

    @operation
    def read_flow_run(self, flow_run_id: uuid.UUID | str) -> Op[FlowRunResponse]:
        """The flow run with this id; ObjectNotFound if there is none."""
        from prefect_api.api.flow_runs import read_flow_run
        from prefect_api.models import FlowRunResponse

        run_id = as_uuid(flow_run_id, "flow_run_id")
        return (yield from call(self, read_flow_run, FlowRunResponse, id=run_id))

    @operation
    def read_flow_runs(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: FlowRunSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[FlowRunResponse]]:
        """Flow runs matching the filters: all of them (limit=None) or the first `limit`, paging
        past the server's 200-row cap."""
        read_page = self._flow_run_pages(
            sort,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_flow_runs(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: FlowRunSort | str | None = None,
        offset: int = 0,
    ) -> Listing[FlowRunResponse]:
        """Every flow run matching the filters, one page at a time."""
        read_page = self._flow_run_pages(
            sort,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _flow_run_pages(self, sort: Any, **filters: Any) -> PageReader[FlowRunResponse]:
        """Reads one page of `/flow_runs/filter` for these filters and sort."""
        from prefect_api.api.flow_runs import read_flow_runs
        from prefect_api.models import FlowRunResponse, FlowRunSort, ReadFlowRunsBody

        fields = with_sort(filter_fields(ReadFlowRunsBody, **filters), sort, FlowRunSort)
        return body_pages(self, read_flow_runs, FlowRunResponse, ReadFlowRunsBody, fields)

    @operation
    def count_flow_runs(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
    ) -> Op[int]:
        """How many flow runs match the filters."""
        from prefect_api.api.flow_runs import count_flow_runs
        from prefect_api.models import CountFlowRunsBody

        fields = filter_fields(
            CountFlowRunsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        return (yield from call(self, count_flow_runs, int, body=CountFlowRunsBody(**fields)))

    @operation
    def bulk_delete_flow_runs(
        self, flow_run_filter: Any = None, *, limit: int | None = None
    ) -> Op[list[uuid.UUID]]:
        """Delete the flow runs matching `flow_run_filter` (at most `limit`, the server's cap
        per call when None) in one request; return the ids deleted. No filter matches every
        run, so one is required."""
        from prefect_api.api.flow_runs import bulk_delete_flow_runs
        from prefect_api.models import BulkDeleteFlowRunsBody, FlowRunBulkDeleteResponse

        if flow_run_filter is None:
            raise ValueError("bulk_delete_flow_runs needs a flow_run_filter (None would match all)")
        fields = filter_fields(BulkDeleteFlowRunsBody, flow_run_filter=flow_run_filter)
        body = BulkDeleteFlowRunsBody(**fields, **given(limit=limit))
        result = yield from call(self, bulk_delete_flow_runs, FlowRunBulkDeleteResponse, body=body)
        return list(result.deleted or [])

    @operation
    def bulk_set_flow_run_state(
        self,
        state: StateCreate | Mapping[str, Any],
        flow_run_filter: Any = None,
        *,
        force: bool = False,
        limit: int | None = None,
    ) -> Op[list[FlowRunOrchestrationResult]]:
        """Propose `state` to every flow run matching `flow_run_filter` (at most `limit`) in one
        request; return each run's orchestration result (`flow_run_id`, `status`, `state`). A
        filter is required, as for bulk_delete_flow_runs."""
        from prefect_api.api.flow_runs import bulk_set_flow_run_state
        from prefect_api.models import BulkSetFlowRunStateBody, FlowRunBulkSetStateResponse

        if flow_run_filter is None:
            raise ValueError(
                "bulk_set_flow_run_state needs a flow_run_filter (None would match all)"
            )
        fields = filter_fields(BulkSetFlowRunStateBody, flow_run_filter=flow_run_filter)
        body = BulkSetFlowRunStateBody(
            state=state_body(state), force=force, **fields, **given(limit=limit)
        )
        result = yield from call(
            self, bulk_set_flow_run_state, FlowRunBulkSetStateResponse, body=body
        )
        return list(result.results or [])

    @operation
    def paginate_flow_runs(
        self,
        *,
        page: int = 1,
        limit: int | None = None,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: FlowRunSort | str | None = None,
    ) -> Op[FlowRunPaginationResponse]:
        """One page of the `/flow_runs/paginate` route: `results`, `count`, `pages`, `page`."""
        from prefect_api.api.flow_runs import paginate_flow_runs
        from prefect_api.models import FlowRunPaginationResponse, FlowRunSort, PaginateFlowRunsBody

        fields = filter_fields(
            PaginateFlowRunsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        fields = with_sort(fields, sort, FlowRunSort)
        body = PaginateFlowRunsBody(page=page, **given(limit=limit), **fields)
        return (yield from call(self, paginate_flow_runs, FlowRunPaginationResponse, body=body))

    @operation
    def update_flow_run(
        self,
        flow_run_id: uuid.UUID | str,
        flow_version: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        empirical_policy: Any = None,
        infrastructure_pid: str | None = None,
        job_variables: Mapping[str, Any] | None = None,
    ) -> Op[None]:
        """Change the given fields of the flow run (only those given are sent); ObjectNotFound
        if there is no such run."""
        from prefect_api.api.flow_runs import update_flow_run
        from prefect_api.models import (
            FlowRunPolicy,
            FlowRunUpdate,
            FlowRunUpdateJobVariablesType0,
            FlowRunUpdateParameters,
        )

        run_id = as_uuid(flow_run_id, "flow_run_id")
        body = FlowRunUpdate(
            **given(
                flow_version=flow_version,
                parameters=None
                if parameters is None
                else FlowRunUpdateParameters.from_dict(as_mapping(parameters, "parameters")),
                name=name,
                tags=None if tags is None else as_tags(tags),
                empirical_policy=None
                if empirical_policy is None
                else as_model(empirical_policy, FlowRunPolicy, "empirical_policy"),
                infrastructure_pid=infrastructure_pid,
                job_variables=None
                if job_variables is None
                else FlowRunUpdateJobVariablesType0.from_dict(
                    as_mapping(job_variables, "job_variables")
                ),
            )
        )
        yield from send(self, update_flow_run, id=run_id, body=body)
        return None

    @operation
    def set_flow_run_name(self, flow_run_id: uuid.UUID | str, name: str) -> Op[None]:
        """Rename the flow run."""
        if not isinstance(name, str):
            raise ValueError(f"name must be a string, not {name!r}")
        return (yield from FlowRunOperations.update_flow_run.fn(self, flow_run_id, name=name))

    @operation
    def delete_flow_run(self, flow_run_id: uuid.UUID | str) -> Op[None]:
        """Delete the flow run; ObjectNotFound if there is none."""
        from prefect_api.api.flow_runs import delete_flow_run

        yield from send(self, delete_flow_run, id=as_uuid(flow_run_id, "flow_run_id"))
        return None

    @operation
    def set_flow_run_state(
        self,
        flow_run_id: uuid.UUID | str,
        state: StateCreate | Mapping[str, Any],
        force: bool = False,
    ) -> Op[OrchestrationResult]:
        """Propose `state` for the flow run (orchestration rules apply unless `force`); return
        the server's verdict: ACCEPT, REJECT, WAIT or ABORT, with the run's resulting state.

        A retry of a change the server had made (its answer lost) reports that change's
        ACCEPT, not the REJECT the server gives the repeat."""
        from prefect_api.api.flow_runs import set_flow_run_state
        from prefect_api.models import OrchestrationResult, SetFlowRunStateBody

        run_id = as_uuid(flow_run_id, "flow_run_id")
        # A fresh transition id makes a retried request harmless: the server refuses to repeat
        # the transition the run has just made with that id.
        transition_id = uuid.uuid4()
        body = SetFlowRunStateBody(
            state=state_body(state, flow_run_id=run_id, transition_id=transition_id),
            force=bool(force),
        )
        result = yield from call(
            self, set_flow_run_state, OrchestrationResult, id=run_id, body=body
        )
        return _accepted_if_ours(result, transition_id)

    @operation
    def read_flow_run_state(self, flow_run_state_id: uuid.UUID | str) -> Op[State]:
        """The flow run state with this id; ObjectNotFound if there is none."""
        from prefect_api.api.flow_run_states import read_flow_run_state
        from prefect_api.models import State

        state_id = as_uuid(flow_run_state_id, "flow_run_state_id")
        return (yield from call(self, read_flow_run_state, State, id=state_id))

    @operation
    def read_flow_run_states(self, flow_run_id: uuid.UUID | str) -> Op[list[State]]:
        """Every state the flow run has been in, oldest first."""
        from prefect_api.api.flow_run_states import read_flow_run_states
        from prefect_api.models import State

        run_id = as_uuid(flow_run_id, "flow_run_id")
        return (yield from call_list(self, read_flow_run_states, State, flow_run_id=run_id))

    @operation
    def resume_flow_run(
        self, flow_run_id: uuid.UUID | str, run_input: Mapping[str, Any] | None = None
    ) -> Op[OrchestrationResult]:
        """Resume a paused flow run (with `run_input` if it waits for input); return the
        orchestration result."""
        from prefect_api.api.flow_runs import resume_flow_run
        from prefect_api.models import (
            OrchestrationResult,
            ResumeFlowRunBody,
            ResumeFlowRunBodyRunInputType0,
        )

        run_id = as_uuid(flow_run_id, "flow_run_id")
        body = ResumeFlowRunBody()
        if run_input is not None:
            body.run_input = ResumeFlowRunBodyRunInputType0.from_dict(
                as_mapping(run_input, "run_input")
            )
        return (yield from call(self, resume_flow_run, OrchestrationResult, id=run_id, body=body))

    @operation
    def create_flow_run_input(
        self, flow_run_id: uuid.UUID | str, key: str, value: str, sender: str | None = None
    ) -> Op[None]:
        """Store `value` under `key` for the flow run; ObjectAlreadyExists if the key is taken
        (but not by this call's own earlier attempt, whose answer was lost)."""
        from prefect_api.api.flow_runs import create_flow_run_input
        from prefect_api.models import CreateFlowRunInputBody

        run_id = as_uuid(flow_run_id, "flow_run_id")
        _check_input_key(key)
        if not isinstance(value, str):
            raise ValueError(f"value must be a string, not {type(value).__name__}")
        body = CreateFlowRunInputBody(key=key, value=value, **given(sender=sender))

        def create() -> Op[None]:
            yield from send(self, create_flow_run_input, id=run_id, body=body)
            return None

        def existing() -> Op[None]:
            yield from FlowRunOperations.read_flow_run_input.fn(self, run_id, key)
            return None

        yield from create_once(create(), existing)
        return None

    @operation
    def read_flow_run_input(self, flow_run_id: uuid.UUID | str, key: str) -> Op[str]:
        """The value stored under `key` for the flow run; ObjectNotFound if there is none."""
        from prefect_api.api.flow_runs import read_flow_run_input

        run_id = as_uuid(flow_run_id, "flow_run_id")
        _check_input_key(key)
        # The route answers with the stored text itself (text/plain), not JSON.
        response = yield from send(self, read_flow_run_input, id=run_id, key=key)
        return response.text

    @operation
    def filter_flow_run_input(
        self, flow_run_id: uuid.UUID | str, key_prefix: str, limit: int, exclude_keys: Iterable[str]
    ) -> Op[list[FlowRunInput]]:
        """The flow run's inputs whose keys start with `key_prefix`, at most `limit`, leaving
        out `exclude_keys`."""
        from prefect_api.api.flow_runs import filter_flow_run_input
        from prefect_api.models import FilterFlowRunInputBody, FlowRunInput

        run_id = as_uuid(flow_run_id, "flow_run_id")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a whole number >= 0, not {limit!r}")
        body = FilterFlowRunInputBody(
            prefix=_input_prefix(key_prefix),
            limit=limit,
            exclude_keys=as_tags(exclude_keys, "exclude_keys"),
        )
        return (
            yield from call_list(self, filter_flow_run_input, FlowRunInput, id=run_id, body=body)
        )

    @operation
    def delete_flow_run_input(self, flow_run_id: uuid.UUID | str, key: str) -> Op[None]:
        """Delete the value stored under `key` for the flow run; ObjectNotFound if none."""
        from prefect_api.api.flow_runs import delete_flow_run_input

        run_id = as_uuid(flow_run_id, "flow_run_id")
        _check_input_key(key)
        yield from send(self, delete_flow_run_input, id=run_id, key=key)
        return None

    @operation
    def update_flow_run_labels(
        self, flow_run_id: uuid.UUID | str, labels: Mapping[str, Any]
    ) -> Op[None]:
        """Merge `labels` into the flow run's labels (keys given replace, others stay)."""
        from prefect_api.api.flow_runs import update_flow_run_labels
        from prefect_api.models import UpdateFlowRunLabelsLabels

        run_id = as_uuid(flow_run_id, "flow_run_id")
        body = UpdateFlowRunLabelsLabels.from_dict(as_mapping(labels, "labels"))
        yield from send(self, update_flow_run_labels, id=run_id, body=body)
        return None


def _input_prefix(prefix: object) -> str:
    if not isinstance(prefix, str):
        raise ValueError(f"key_prefix must be a string, not {prefix!r}")
    return prefix


def _check_input_key(key: object) -> None:
    """ValueError unless `key` is a flow run input key the server accepts."""
    if not isinstance(key, str) or not INPUT_KEY.match(key):
        raise ValueError(f"key must be lowercase letters, numbers and dashes only, not {key!r}")


def _accepted_if_ours(result: OrchestrationResult, transition_id: uuid.UUID) -> OrchestrationResult:
    """ACCEPT for a REJECT whose current state carries this call's own transition id.

    That REJECT answers a retry whose first attempt was applied but whose answer was lost (a
    dropped connection, a read timeout): the run is in the state this call asked for, and only
    this call knew the id, so the caller gets the verdict the first attempt had.
    """
    from prefect_api.models import (
        OrchestrationResult,
        SetStateStatus,
        StateAcceptDetails,
        StateDetails,
    )

    details = getattr(result.state, "state_details", None)
    if (
        result.status is SetStateStatus.REJECT
        and isinstance(details, StateDetails)
        and details.transition_id == transition_id
    ):
        return OrchestrationResult(
            state=result.state, status=SetStateStatus.ACCEPT, details=StateAcceptDetails()
        )
    return result
