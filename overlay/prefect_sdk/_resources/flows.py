"""Flows: create, read, filter, page, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, listing, operation, send
from ._common import (
    PageReader,
    as_tags,
    as_text,
    as_uuid,
    body_pages,
    filter_fields,
    given,
    iterate,
    read_all,
    read_by_name,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import Flow, FlowPaginationResponse, FlowSort


class FlowOperations:
    """Flow methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_flow_from_name(self, flow_name: str) -> Op[uuid.UUID]:
        """Create the flow `flow_name` (or find it: flow names are unique) and return its id."""
        from prefect_api.api.flows import create_flow
        from prefect_api.models import Flow, FlowCreate

        body = FlowCreate(name=as_text(flow_name, "flow_name"))
        flow = yield from call(self, create_flow, Flow, body=body)
        return flow.id

    @operation
    def create_flow(self, flow: Any) -> Op[uuid.UUID]:
        """Create a flow from a `Flow` model or anything with a `.name`; return its id."""
        name = getattr(flow, "name", None)
        if not isinstance(name, str):
            raise ValueError(f"flow must have a string .name, not {flow!r}")
        return (yield from FlowOperations.create_flow_from_name.fn(self, name))

    @operation
    def read_flow(self, flow_id: uuid.UUID | str) -> Op[Flow]:
        """The flow with this id; ObjectNotFound if there is none."""
        from prefect_api.api.flows import read_flow
        from prefect_api.models import Flow

        return (yield from call(self, read_flow, Flow, id=as_uuid(flow_id, "flow_id")))

    @operation
    def read_flow_by_name(self, flow_name: str) -> Op[Flow]:
        """The flow with this name; ObjectNotFound if there is none."""
        from prefect_api.api.flows import read_flow_by_name
        from prefect_api.models import Flow

        read = call(self, read_flow_by_name, Flow, name=flow_name)
        return (yield from read_by_name(read, ("flow", flow_name)))

    @operation
    def read_flows(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: FlowSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[Flow]]:
        """Flows matching the filters: all of them (limit=None) or the first `limit`, paging past
        the server's 200-row cap."""
        read_page = self._flow_pages(
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
    def iter_flows(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
        work_queue_filter: Any = None,
        sort: FlowSort | str | None = None,
        offset: int = 0,
    ) -> Listing[Flow]:
        """Every flow matching the filters, one page at a time."""
        read_page = self._flow_pages(
            sort,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
            work_queue_filter=work_queue_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _flow_pages(self, sort: Any, **filters: Any) -> PageReader[Flow]:
        from prefect_api.api.flows import read_flows
        from prefect_api.models import Flow, FlowSort, ReadFlowsBody

        fields = with_sort(filter_fields(ReadFlowsBody, **filters), sort, FlowSort)
        return body_pages(self, read_flows, Flow, ReadFlowsBody, fields)

    @operation
    def paginate_flows(
        self, *, page: int = 1, limit: int | None = None, flow_filter: Any = None, sort: Any = None
    ) -> Op[FlowPaginationResponse]:
        """One page of the `/flows/paginate` route: `results`, `count`, `pages`, `page`."""
        from prefect_api.api.flows import paginate_flows
        from prefect_api.models import FlowPaginationResponse, FlowSort, PaginateFlowsBody

        fields = with_sort(
            filter_fields(PaginateFlowsBody, flow_filter=flow_filter), sort, FlowSort
        )
        body = PaginateFlowsBody(page=page, **given(limit=limit), **fields)
        return (yield from call(self, paginate_flows, FlowPaginationResponse, body=body))

    @operation
    def delete_flow(self, flow_id: uuid.UUID | str) -> Op[None]:
        """Delete the flow; ObjectNotFound if there is none."""
        from prefect_api.api.flows import delete_flow

        yield from send(self, delete_flow, id=as_uuid(flow_id, "flow_id"))
        return None

    @operation
    def update_flow(self, flow_id: uuid.UUID | str, *, tags: Iterable[str]) -> Op[None]:
        """Replace the flow's tags (the only field a flow update changes); ObjectNotFound if
        there is no such flow."""
        from prefect_api.api.flows import update_flow
        from prefect_api.models import FlowUpdate

        body = FlowUpdate(tags=as_tags(tags))
        yield from send(self, update_flow, id=as_uuid(flow_id, "flow_id"), body=body)
        return None

    @operation
    def count_flows(
        self,
        *,
        flow_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        deployment_filter: Any = None,
        work_pool_filter: Any = None,
    ) -> Op[int]:
        """How many flows match the filters."""
        from prefect_api.api.flows import count_flows
        from prefect_api.models import CountFlowsBody

        fields = filter_fields(
            CountFlowsBody,
            flow_filter=flow_filter,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            deployment_filter=deployment_filter,
            work_pool_filter=work_pool_filter,
        )
        return (yield from call(self, count_flows, int, body=CountFlowsBody(**fields)))

    @operation
    def bulk_delete_flows(
        self, flow_filter: Any = None, *, limit: int | None = None
    ) -> Op[list[uuid.UUID]]:
        """Delete the flows matching `flow_filter` (at most `limit`) in one request, with their
        deployments; return the ids deleted. A filter is required: None would match every flow."""
        from prefect_api.api.flows import bulk_delete_flows
        from prefect_api.models import BulkDeleteFlowsBody, FlowBulkDeleteResponse

        if flow_filter is None:
            raise ValueError("bulk_delete_flows needs a flow_filter (None would match all)")
        fields = filter_fields(BulkDeleteFlowsBody, flow_filter=flow_filter)
        body = BulkDeleteFlowsBody(**fields, **given(limit=limit))
        result = yield from call(self, bulk_delete_flows, FlowBulkDeleteResponse, body=body)
        return list(result.deleted or [])
