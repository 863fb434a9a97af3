"""The generated endpoints against a real Prefect server (the session's `api_url` fixture)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from http import HTTPStatus
from uuid import UUID, uuid4

import pytest

import prefect_api
from prefect_api.api.flow_runs import create_flow_run, read_flow_run, set_flow_run_state
from prefect_api.api.flows import create_flow, read_flow, read_flows
from prefect_api.errors import UnexpectedStatus
from prefect_api.models import (
    Flow,
    FlowFilter,
    FlowFilterName,
    FlowRunCreate,
    FlowRunResponse,
    OrchestrationResult,
    ReadFlowsBody,
    SetFlowRunStateBody,
    SetStateStatus,
    StateCreate,
    StateType,
)


@pytest.fixture
def client(api_url: str) -> Iterator[prefect_api.Client]:
    with prefect_api.Client(base_url=api_url, raise_on_unexpected_status=True) as client:
        yield client


@pytest.fixture
def flow(client: prefect_api.Client) -> Flow:
    name = f"sdk-test-{uuid4().hex}"
    created = create_flow.sync(client=client, body=prefect_api.models.FlowCreate(name=name))
    assert isinstance(created, Flow)
    assert created.name == name
    return created


def test_create_and_read_flow(client: prefect_api.Client, flow: Flow) -> None:
    read = read_flow.sync(id=flow.id, client=client)
    assert isinstance(read, Flow)
    assert read.id == flow.id
    assert read.name == flow.name
    assert isinstance(read.id, UUID)
    assert isinstance(read.created, datetime.datetime)
    assert read.created.tzinfo is not None


def test_read_missing_flow_is_404(api_url: str, client: prefect_api.Client) -> None:
    with prefect_api.Client(base_url=api_url) as lenient:
        response = read_flow.sync_detailed(id=uuid4(), client=lenient)
    assert response.status_code == HTTPStatus.NOT_FOUND == 404
    assert response.parsed is None
    assert b"Flow not found" in response.content
    with pytest.raises(UnexpectedStatus) as raised:
        read_flow.sync_detailed(id=uuid4(), client=client)
    assert raised.value.status_code == 404


def test_filter_flows_by_name(client: prefect_api.Client, flow: Flow) -> None:
    other = create_flow.sync(
        client=client, body=prefect_api.models.FlowCreate(name=f"sdk-other-{uuid4().hex}")
    )
    assert isinstance(other, Flow)
    body = ReadFlowsBody(flows=FlowFilter(name=FlowFilterName(any_=[flow.name])), limit=10)
    found = read_flows.sync(client=client, body=body)
    assert isinstance(found, list)
    assert [(f.id, f.name) for f in found] == [(flow.id, flow.name)]
    everything = read_flows.sync(client=client, body=ReadFlowsBody(limit=200))
    assert isinstance(everything, list)
    assert {flow.id, other.id} <= {f.id for f in everything}


async def test_read_flow_async(api_url: str, flow: Flow) -> None:
    async with prefect_api.Client(base_url=api_url) as client:
        read = await read_flow.asyncio(id=flow.id, client=client)
        detailed = await read_flow.asyncio_detailed(id=uuid4(), client=client)
    assert isinstance(read, Flow)
    assert (read.id, read.name) == (flow.id, flow.name)
    assert detailed.status_code == 404


def test_flow_run_state_change(client: prefect_api.Client, flow: Flow) -> None:
    run = create_flow_run.sync(
        client=client,
        body=FlowRunCreate(flow_id=flow.id, state=StateCreate(type_=StateType.SCHEDULED)),
    )
    assert isinstance(run, FlowRunResponse)
    assert run.flow_id == flow.id
    assert run.state_type == StateType.SCHEDULED

    result = set_flow_run_state.sync(
        id=run.id,
        client=client,
        body=SetFlowRunStateBody(state=StateCreate(type_=StateType.PENDING, message="sdk test")),
    )
    assert isinstance(result, OrchestrationResult)
    assert result.status == SetStateStatus.ACCEPT
    assert result.state is not None and result.state.type_ == StateType.PENDING

    read = read_flow_run.sync(id=run.id, client=client)
    assert isinstance(read, FlowRunResponse)
    assert read.state_type == StateType.PENDING
    assert read.state is not None and read.state.message == "sdk test"
