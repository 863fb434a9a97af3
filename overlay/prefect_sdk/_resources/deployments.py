"""Deployments, their schedules, and runs created from them.

Bodies built from keyword arguments (`create_deployment(flow_id, name, **fields)`,
`update_deployment(deployment_id, **fields)`, ...) go through the model's JSON form: every value
is made JSON-ready (`jsonable`) and the generated model is built with `from_dict`, so a field
that was not given stays UNSET and is not sent. That matters for updates: `DeploymentUpdate`'s
constructor defaults `paused` to False, which would resume a paused deployment on every update.
(A `DeploymentUpdate` model passed as is carries that default: pass keywords or a dict instead.)
"""

from __future__ import annotations

import datetime
import uuid
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, call_list, listing, operation, send
from ._common import (
    PageReader,
    as_mapping,
    as_model,
    as_text,
    as_uuid,
    body_pages,
    build,
    filter_fields,
    given,
    idempotency_key_for_call,
    iterate,
    jsonable,
    model_from_fields,
    read_all,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import (
        DeploymentPaginationResponse,
        DeploymentResponse,
        DeploymentSchedule,
        DeploymentScheduleCreate,
        DeploymentSort,
        FlowRunResponse,
        StateCreate,
    )


def _schedule_creates(
    schedules: Any,
    *,
    max_scheduled_runs: int | None = None,
    parameters: dict[str, Any] | None = None,
    slug: str | None = None,
) -> list[DeploymentScheduleCreate]:
    """(schedule, active) pairs, DeploymentScheduleCreate models or dicts, as models."""
    from prefect_api.models import DeploymentScheduleCreate

    if isinstance(schedules, (str, bytes, Mapping)) or not isinstance(schedules, Iterable):
        raise ValueError(f"schedules must be a list, not {type(schedules).__name__}")
    extras = given(max_scheduled_runs=max_scheduled_runs, parameters=parameters, slug=slug)
    creates: list[DeploymentScheduleCreate] = []
    for entry in schedules:
        if isinstance(entry, tuple):
            if len(entry) != 2 or not isinstance(entry[1], bool):
                raise ValueError(f"a schedule pair must be (schedule, active: bool), not {entry!r}")
            schedule, active = entry
            data = {"schedule": jsonable(schedule), "active": active, **jsonable(extras)}
            creates.append(build(DeploymentScheduleCreate, data, "schedules"))
        elif isinstance(entry, (DeploymentScheduleCreate, Mapping)) or hasattr(entry, "model_dump"):
            creates.append(build(DeploymentScheduleCreate, jsonable(entry), "schedules"))
        else:
            raise ValueError(
                "each schedule must be a (schedule, active) pair, a DeploymentScheduleCreate "
                f"or a dict, not {type(entry).__name__}"
            )
    return creates


class DeploymentOperations:
    """Deployments, their schedules, and runs created from them: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_deployment(
        self,
        /,
        flow_id: uuid.UUID | str,
        name: str,
        version: str | None = None,
        version_info: Any = None,
        schedules: Any = None,
        concurrency_limit: int | None = None,
        concurrency_options: Any = None,
        parameters: Mapping[str, Any] | None = None,
        description: str | None = None,
        work_queue_name: str | None = None,
        work_pool_name: str | None = None,
        tags: list[str] | None = None,
        storage_document_id: uuid.UUID | str | None = None,
        path: str | None = None,
        entrypoint: str | None = None,
        infrastructure_document_id: uuid.UUID | str | None = None,
        parameter_openapi_schema: Mapping[str, Any] | None = None,
        paused: bool | None = None,
        pull_steps: list[Mapping[str, Any]] | None = None,
        enforce_parameter_schema: bool | None = None,
        job_variables: Mapping[str, Any] | None = None,
        branch: str | None = None,
        base: uuid.UUID | str | None = None,
        root: uuid.UUID | str | None = None,
        **fields: Any,
    ) -> Op[uuid.UUID]:
        """Create a deployment of the flow; return its id. Prefect's parameters, in its order,
        and any other DeploymentCreate field as a keyword (`labels=...`). `branch`, `base` and
        `root` are Prefect Cloud's: the server's document has no such fields (a ValueError).

        The server upserts by flow and name: a deployment of that name is updated with these
        fields, and a retried create (its first answer lost) returns the same id."""
        from prefect_api.api.deployments import create_deployment
        from prefect_api.models import DeploymentCreate, DeploymentResponse

        flow_uuid = as_uuid(flow_id, "flow_id")
        name = as_text(name, "name")
        named = {
            "version": version,
            "version_info": version_info,
            "schedules": schedules,
            "concurrency_limit": concurrency_limit,
            "concurrency_options": concurrency_options,
            "parameters": parameters,
            "description": description,
            "work_queue_name": work_queue_name,
            "work_pool_name": work_pool_name,
            "tags": tags,
            "storage_document_id": storage_document_id,
            "path": path,
            "entrypoint": entrypoint,
            "infrastructure_document_id": infrastructure_document_id,
            "parameter_openapi_schema": parameter_openapi_schema,
            "paused": paused,
            "pull_steps": pull_steps,
            "enforce_parameter_schema": enforce_parameter_schema,
            "job_variables": job_variables,
            "branch": branch,
            "base": base,
            "root": root,
        }
        values = given(**named, **fields)
        if "schedules" in values:
            values["schedules"] = [
                item.to_dict() for item in _schedule_creates(values["schedules"])
            ]
        body = model_from_fields(
            DeploymentCreate, values, "create_deployment", flow_id=flow_uuid, name=name
        )
        deployment = yield from call(self, create_deployment, DeploymentResponse, body=body)
        return deployment.id

    @operation
    def update_deployment(
        self, /, deployment_id: uuid.UUID | str, deployment: Any = None, **fields: Any
    ) -> Op[None]:
        """Update only the given fields of the deployment (a DeploymentUpdate/dict and/or keywords)."""
        from prefect_api.api.deployments import update_deployment
        from prefect_api.models import DeploymentUpdate

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        values: dict[str, Any] = {}
        if deployment is not None:
            # A DeploymentUpdate, its dict or Prefect's (only the fields that were set).
            values.update(as_model(deployment, DeploymentUpdate, "deployment").to_dict())
        values.update(fields)
        if not values:
            raise ValueError("update_deployment: no fields to update")
        body = model_from_fields(DeploymentUpdate, values, "update_deployment")
        yield from send(self, update_deployment, id=deployment_uuid, body=body)
        return None

    @operation
    def read_deployment(self, deployment_id: uuid.UUID | str) -> Op[DeploymentResponse]:
        """The deployment with this id; ObjectNotFound if there is none."""
        from prefect_api.api.deployments import read_deployment
        from prefect_api.models import DeploymentResponse

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        return (yield from call(self, read_deployment, DeploymentResponse, id=deployment_uuid))

    @operation
    def read_deployment_by_name(self, name: str) -> Op[DeploymentResponse]:
        """The deployment named "<flow name>/<deployment name>"; ObjectNotFound if there is none."""
        from prefect_api.api.deployments import read_deployment_by_name
        from prefect_api.models import DeploymentResponse

        parts = name.split("/") if isinstance(name, str) else []
        if len(parts) != 2 or not all(parts):
            raise ValueError(
                f"Invalid deployment name format: {name!r}. "
                "Expected format: <FLOW_NAME>/<DEPLOYMENT_NAME>"
            )
        flow_name, deployment_name = parts
        return (
            yield from call(
                self,
                read_deployment_by_name,
                DeploymentResponse,
                flow_name=flow_name,
                deployment_name=deployment_name,
            )
        )

    @operation
    def read_deployments(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: DeploymentSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[DeploymentResponse]]:
        """Deployments matching the filters: all of them (limit=None) or the first `limit`,
        paging past the server's 200-row cap."""
        read_page = self._deployment_pages(
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
    def iter_deployments(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: DeploymentSort | str | None = None,
        offset: int = 0,
    ) -> Listing[DeploymentResponse]:
        """Every deployment matching the filters, one page at a time."""
        read_page = self._deployment_pages(
            sort,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _deployment_pages(self, sort: Any, **filters: Any) -> PageReader[DeploymentResponse]:
        from prefect_api.api.deployments import read_deployments
        from prefect_api.models import DeploymentResponse, DeploymentSort, ReadDeploymentsBody

        fields = with_sort(filter_fields(ReadDeploymentsBody, **filters), sort, DeploymentSort)
        return body_pages(self, read_deployments, DeploymentResponse, ReadDeploymentsBody, fields)

    @operation
    def paginate_deployments(
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
        sort: DeploymentSort | str | None = None,
    ) -> Op[DeploymentPaginationResponse]:
        """One page of the `/deployments/paginate` route: `results`, `count`, `pages`, `page`."""
        from prefect_api.api.deployments import paginate_deployments
        from prefect_api.models import (
            DeploymentPaginationResponse,
            DeploymentSort,
            PaginateDeploymentsBody,
        )

        fields = filter_fields(
            PaginateDeploymentsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        fields = with_sort(fields, sort, DeploymentSort)
        body = PaginateDeploymentsBody(page=page, **given(limit=limit), **fields)
        return (
            yield from call(self, paginate_deployments, DeploymentPaginationResponse, body=body)
        )

    @operation
    def delete_deployment(self, deployment_id: uuid.UUID | str) -> Op[None]:
        """Delete the deployment; ObjectNotFound if there is none."""
        from prefect_api.api.deployments import delete_deployment

        yield from send(self, delete_deployment, id=as_uuid(deployment_id, "deployment_id"))
        return None

    @operation
    def pause_deployment(self, deployment_id: uuid.UUID | str) -> Op[None]:
        """Pause the deployment (its auto-scheduled runs are removed); ObjectNotFound if none."""
        from prefect_api.api.deployments import pause_deployment

        yield from send(self, pause_deployment, id=as_uuid(deployment_id, "deployment_id"))
        return None

    @operation
    def resume_deployment(self, deployment_id: uuid.UUID | str) -> Op[None]:
        """Resume (unpause) the deployment; ObjectNotFound if there is none."""
        from prefect_api.api.deployments import resume_deployment

        yield from send(self, resume_deployment, id=as_uuid(deployment_id, "deployment_id"))
        return None

    @operation
    def set_deployment_paused_state(self, deployment_id: uuid.UUID | str, paused: bool) -> Op[None]:
        """Deprecated, as in Prefect: use pause_deployment or resume_deployment."""
        warnings.warn(
            "set_deployment_paused_state is deprecated: use pause_deployment or resume_deployment",
            DeprecationWarning,
            stacklevel=3,
        )
        if not isinstance(paused, bool):
            raise ValueError(f"paused must be True or False, not {paused!r}")
        change = (
            DeploymentOperations.pause_deployment
            if paused
            else DeploymentOperations.resume_deployment
        )
        yield from change.fn(self, deployment_id)
        return None

    @operation
    def count_deployments(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
    ) -> Op[int]:
        """How many deployments match the filters."""
        from prefect_api.api.deployments import count_deployments
        from prefect_api.models import CountDeploymentsBody

        fields = filter_fields(
            CountDeploymentsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        return (yield from call(self, count_deployments, int, body=CountDeploymentsBody(**fields)))

    @operation
    def bulk_delete_deployments(
        self, deployment_filter: Any = None, *, limit: int | None = None
    ) -> Op[list[uuid.UUID]]:
        """Delete the deployments matching `deployment_filter` (at most `limit`) in one request;
        return the ids deleted. A filter is required: None would match every deployment."""
        from prefect_api.api.deployments import bulk_delete_deployments
        from prefect_api.models import BulkDeleteDeploymentsBody, DeploymentBulkDeleteResponse

        if deployment_filter is None:
            raise ValueError(
                "bulk_delete_deployments needs a deployment_filter (None would match all)"
            )
        fields = filter_fields(BulkDeleteDeploymentsBody, deployment_filter=deployment_filter)
        body = BulkDeleteDeploymentsBody(**fields, **given(limit=limit))
        result = yield from call(
            self, bulk_delete_deployments, DeploymentBulkDeleteResponse, body=body
        )
        return list(result.deleted or [])

    @operation
    def schedule_deployment(
        self,
        deployment_id: uuid.UUID | str,
        *,
        start_time: datetime.datetime | None = None,
        end_time: datetime.datetime | None = None,
        min_time: datetime.timedelta | float | None = None,
        min_runs: int | None = None,
        max_runs: int | None = None,
    ) -> Op[None]:
        """Have the server schedule the deployment's runs now, as its scheduler service does
        (between `start_time` and `end_time`, at least `min_runs` / `min_time` ahead, at most
        `max_runs`; the server's settings for what is not given)."""
        from prefect_api.api.deployments import schedule_deployment
        from prefect_api.models import ScheduleDeploymentBody

        if isinstance(min_time, datetime.timedelta):
            min_time = min_time.total_seconds()
        body = ScheduleDeploymentBody(
            **given(
                start_time=start_time,
                end_time=end_time,
                min_time=min_time,
                min_runs=min_runs,
                max_runs=max_runs,
            )
        )
        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        yield from send(self, schedule_deployment, id=deployment_uuid, body=body)
        return None

    @operation
    def apply_slas_for_deployment(self, deployment_id: uuid.UUID | str, slas: Any) -> Op[Any]:
        """Set the deployment's service level agreements (matched by name: created, updated,
        the others deleted); return the server's JSON (`created`, `updated`, `deleted` names).

        Prefect Cloud only: the open-source server has no such route (UnsupportedByServer).
        `slas` is a list of SLA dicts or Prefect SLA objects."""
        from .admin import send_path

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        if isinstance(slas, (str, bytes, Mapping)) or not isinstance(slas, Iterable):
            raise ValueError(f"slas must be a list of SLAs, not {type(slas).__name__}")
        body = []
        for sla in slas:
            if hasattr(sla, "set_deployment_id"):
                sla.set_deployment_id(deployment_uuid)
            spec = (
                sla.model_dump(mode="json", exclude_unset=True)
                if hasattr(sla, "model_dump")
                else jsonable(as_mapping(sla, "each of slas"))
            )
            body.append(spec)
        resource = f"prefect.deployment.{deployment_uuid}"
        response = yield from send_path(
            self,
            "apply_slas_for_deployment",
            "POST",
            f"/slas/apply-resource-slas/{resource}",
            json=body,
        )
        return response.json()

    @operation
    def create_deployment_branch(
        self,
        deployment_id: uuid.UUID | str,
        branch: str,
        options: Any = None,
        overrides: Any = None,
    ) -> Op[uuid.UUID]:
        """Create a branch of the deployment (a copy under `branch`, with `overrides`); return
        the new deployment's id.

        Prefect Cloud only: the open-source server has no such route (UnsupportedByServer)."""
        from .admin import send_path

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        body: dict[str, Any] = {
            "branch": as_text(branch, "branch"),
            "options": jsonable(options or {}),
        }
        if overrides is not None:
            body["overrides"] = jsonable(overrides)
        response = yield from send_path(
            self,
            "create_deployment_branch",
            "POST",
            "/deployments/{id}/branch",
            path_params={"id": deployment_uuid},
            json=body,
        )
        return as_uuid(response.json().get("id"), "the branch's id")

    @operation
    def create_deployment_schedules(
        self,
        deployment_id: uuid.UUID | str,
        schedules: Any,
        max_scheduled_runs: int | None = None,
        parameters: dict[str, Any] | None = None,
        slug: str | None = None,
    ) -> Op[list[DeploymentSchedule]]:
        """Add schedules ((schedule, active) pairs, DeploymentScheduleCreate models or dicts) to
        the deployment; return the schedules created."""
        from prefect_api.api.deployments import create_deployment_schedules
        from prefect_api.models import DeploymentSchedule

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        body = _schedule_creates(
            schedules, max_scheduled_runs=max_scheduled_runs, parameters=parameters, slug=slug
        )
        return (
            yield from call_list(
                self, create_deployment_schedules, DeploymentSchedule, id=deployment_uuid, body=body
            )
        )

    @operation
    def read_deployment_schedules(
        self, deployment_id: uuid.UUID | str
    ) -> Op[list[DeploymentSchedule]]:
        """The deployment's schedules; ObjectNotFound if there is no such deployment."""
        from prefect_api.api.deployments import read_deployment_schedules
        from prefect_api.models import DeploymentSchedule

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        return (
            yield from call_list(
                self, read_deployment_schedules, DeploymentSchedule, id=deployment_uuid
            )
        )

    @operation
    def update_deployment_schedule(
        self,
        deployment_id: uuid.UUID | str,
        schedule_id: uuid.UUID | str,
        active: bool | None = None,
        schedule: Any = None,
        max_scheduled_runs: int | None = None,
        parameters: dict[str, Any] | None = None,
        slug: str | None = None,
    ) -> Op[None]:
        """Update only the given parts of one of the deployment's schedules."""
        from prefect_api.api.deployments import update_deployment_schedule
        from prefect_api.models import DeploymentScheduleUpdate

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        schedule_uuid = as_uuid(schedule_id, "schedule_id")
        values = given(
            active=active,
            schedule=schedule,
            max_scheduled_runs=max_scheduled_runs,
            parameters=parameters,
            slug=slug,
        )
        body = model_from_fields(DeploymentScheduleUpdate, values, "update_deployment_schedule")
        yield from send(
            self,
            update_deployment_schedule,
            id=deployment_uuid,
            schedule_id=schedule_uuid,
            body=body,
        )
        return None

    @operation
    def delete_deployment_schedule(
        self, deployment_id: uuid.UUID | str, schedule_id: uuid.UUID | str
    ) -> Op[None]:
        """Delete one of the deployment's schedules; ObjectNotFound if there is none."""
        from prefect_api.api.deployments import delete_deployment_schedule

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        schedule_uuid = as_uuid(schedule_id, "schedule_id")
        yield from send(
            self, delete_deployment_schedule, id=deployment_uuid, schedule_id=schedule_uuid
        )
        return None

    @operation
    def get_scheduled_flow_runs_for_deployments(
        self,
        deployment_ids: Iterable[uuid.UUID | str],
        scheduled_before: datetime.datetime | None = None,
        limit: int | None = None,
    ) -> Op[list[FlowRunResponse]]:
        """Scheduled flow runs of these deployments (optionally only those due before a time)."""
        from prefect_api.api.deployments import get_scheduled_flow_runs_for_deployments
        from prefect_api.models import FlowRunResponse, GetScheduledFlowRunsForDeploymentsBody

        if isinstance(deployment_ids, (str, uuid.UUID)):
            raise ValueError("deployment_ids must be a list of ids, not a single id")
        ids = [as_uuid(value, "deployment_ids") for value in deployment_ids]
        body = GetScheduledFlowRunsForDeploymentsBody(
            deployment_ids=ids, **given(scheduled_before=scheduled_before, limit=limit)
        )
        return (
            yield from call_list(
                self, get_scheduled_flow_runs_for_deployments, FlowRunResponse, body=body
            )
        )

    @operation
    def create_flow_run_from_deployment(
        self,
        deployment_id: uuid.UUID | str,
        *,
        parameters: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        state: StateCreate | dict[str, Any] | None = None,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        idempotency_key: str | None = None,
        parent_task_run_id: uuid.UUID | str | None = None,
        work_queue_name: str | None = None,
        job_variables: dict[str, Any] | None = None,
        labels: dict[str, Any] | None = None,
    ) -> Op[FlowRunResponse]:
        """A new flow run of the deployment (SCHEDULED for now unless `state` says otherwise);
        the existing run if `idempotency_key` was used before.

        Without an `idempotency_key` the SDK sends one it makes for this call
        (`prefect-sdk-<uuid4 hex>`, visible as the run's `idempotency_key`), the same on every
        retry: a create whose answer was lost and that was sent again makes one run, not two."""
        from prefect_api.api.deployments import create_flow_run_from_deployment
        from prefect_api.models import DeploymentFlowRunCreate, FlowRunResponse

        from .. import states

        deployment_uuid = as_uuid(deployment_id, "deployment_id")
        if isinstance(tags, str):
            raise ValueError("tags must be a list of strings, not a single string")
        values = given(
            parameters=parameters or {},
            context=context or {},
            state=state if state is not None else states.Scheduled(),
            tags=list(tags or []),
            name=name,
            idempotency_key=idempotency_key_for_call(idempotency_key),
            parent_task_run_id=(
                None
                if parent_task_run_id is None
                else as_uuid(parent_task_run_id, "parent_task_run_id")
            ),
            work_queue_name=work_queue_name,
            job_variables=job_variables,
            labels=labels,
        )
        body = model_from_fields(DeploymentFlowRunCreate, values, "create_flow_run_from_deployment")
        return (
            yield from call(
                self,
                create_flow_run_from_deployment,
                FlowRunResponse,
                id=deployment_uuid,
                body=body,
            )
        )
