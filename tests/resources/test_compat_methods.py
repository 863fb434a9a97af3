"""The methods that make the clients drop-ins for Prefect's (issue 10, part 1), on both clients,
against the real server: the names Prefect's clients have, with Prefect's parameters."""

from __future__ import annotations

import types
import uuid
from typing import Any

import httpx
import pytest

from prefect_api.models import (
    ServerDefaultResultStorage,
    TaskRun,
    WorkPoolConcurrencyStatus,
    WorkQueueConcurrencyStatus,
)
from prefect_sdk import ObjectNotFound, UnsupportedByServer
from prefect_sdk.errors import PrefectHTTPStatusError
from tests.resources.test_automations import as_dict, automation


def test_request_is_a_raw_call_that_raises_for_status(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(flow_name=f"{unique}-raw")
    response = client.request("GET", "/flows/{id}", path_params={"id": flow_id})
    assert isinstance(response, httpx.Response) and response.status_code == 200
    assert response.json()["name"] == f"{unique}-raw"
    filtered = client.request(
        "POST", "/flows/filter", json={"flows": {"name": {"any_": [f"{unique}-raw"]}}}
    )
    assert [row["id"] for row in filtered.json()] == [str(flow_id)]
    counted = client.request("POST", "/flows/count", params={}, json={})
    assert isinstance(counted.json(), int)
    with pytest.raises(ObjectNotFound):
        client.request("GET", "/flows/{id}", path_params={"id": uuid.uuid4()})
    with pytest.raises(UnsupportedByServer, match="request"):
        client.request("GET", "/no-such-route")
    with pytest.raises(ValueError, match="method must be one of"):
        client.request("FETCH", "/flows/filter")
    with pytest.raises(ValueError, match="path_params has no value for 'id'"):
        client.request("GET", "/flows/{id}", path_params={"other": 1})


def test_server_default_result_storage(client: Any, unique: str) -> None:
    block_type = client.create_block_type({"name": f"{unique} store", "slug": f"{unique}-store"})
    schema = client.create_block_schema(
        {
            "block_type_id": str(block_type.id),
            "fields": {"title": "Store", "type": "object", "properties": {}},
            "capabilities": ["read-path", "write-path"],
            "version": "1.0",
        }
    )
    document = client.create_block_document(
        {
            "name": f"{unique}-store",
            "block_schema_id": str(schema.id),
            "block_type_id": str(block_type.id),
            "data": {},
        }
    )
    try:
        updated = client.update_server_default_result_storage(document.id)
        assert isinstance(updated, ServerDefaultResultStorage)
        assert updated.default_result_storage_block_id == document.id
        read = client.read_server_default_result_storage()
        assert read.default_result_storage_block_id == document.id
        with pytest.raises(ObjectNotFound):
            client.update_server_default_result_storage(uuid.uuid4())
    finally:
        client.clear_server_default_result_storage()
    assert client.read_server_default_result_storage().default_result_storage_block_id is None
    with pytest.raises(ValueError, match="default_result_storage_block_id must be a UUID"):
        client.update_server_default_result_storage("not-an-id")


def test_v1_slots_are_taken_and_given_back(client: Any, unique: str) -> None:
    tag = f"{unique}-v1"
    client.create_concurrency_limit(tag, 1)
    task_run = client.create_task_run(f"{unique}-t", None, "0")
    taken = client.increment_v1_concurrency_slots([tag], task_run.id)
    assert isinstance(taken, httpx.Response) and taken.status_code == 200
    assert client.read_concurrency_limit_by_tag(tag).active_slots == [task_run.id]
    other = client.create_task_run(f"{unique}-t", None, "1")
    with pytest.raises(PrefectHTTPStatusError, match="423"):
        client.increment_v1_concurrency_slots([tag], other.id)
    given_back = client.decrement_v1_concurrency_slots([tag], task_run.id, 1.5)
    assert given_back.status_code == 200
    assert client.read_concurrency_limit_by_tag(tag).active_slots == []
    with pytest.raises(ValueError, match="names must be a non-empty list"):
        client.increment_v1_concurrency_slots(tag, task_run.id)
    with pytest.raises(ValueError, match="occupancy_seconds must be a number"):
        client.decrement_v1_concurrency_slots([tag], task_run.id, "1")


def test_filter_flow_run_input(client: Any, unique: str) -> None:
    run_id = client.create_flow_run(client.create_flow_from_name(f"{unique}-in")).id
    for key in ("answer-1", "answer-2", "answer-3", "other"):
        client.create_flow_run_input(run_id, key, f'"{key}"')
    found = client.filter_flow_run_input(run_id, "answer-", 10, {"answer-2"})
    assert sorted(row.key for row in found) == ["answer-1", "answer-3"]
    assert {row.value for row in found} == {'"answer-1"', '"answer-3"'}
    assert len(client.filter_flow_run_input(run_id, "answer-", 1, set())) == 1
    with pytest.raises(ValueError, match="key_prefix must be a string"):
        client.filter_flow_run_input(run_id, None, 1, set())


def test_automations_by_resource_and_find(client: Any, unique: str) -> None:
    resource = f"prefect.deployment.{uuid.uuid4()}"
    owned_id = client.create_automation({**as_dict(f"{unique}-owned"), "owner_resource": resource})
    other_id = client.create_automation(automation(f"{unique}-Other"))

    related = client.read_resource_related_automations(resource)
    assert [row.id for row in related] == [owned_id]

    assert client.find_automation(owned_id).id == owned_id
    assert client.find_automation(str(owned_id)).id == owned_id
    assert client.find_automation(f"{unique}-Other").id == other_id
    assert client.find_automation(f"{unique}-other".upper()).id == other_id  # any case
    assert client.find_automation(f"{unique}-missing") is None
    with pytest.raises(ObjectNotFound):
        client.find_automation(uuid.uuid4())

    client.delete_resource_owned_automations(resource)
    with pytest.raises(ObjectNotFound):
        client.read_automation(owned_id)
    assert client.read_resource_related_automations(resource) == []
    assert client.read_automation(other_id).id == other_id  # owned by nothing: kept
    client.delete_automation(other_id)


def test_concurrency_status_of_pool_and_queue(client: Any, unique: str) -> None:
    pool = client.create_work_pool({"name": f"{unique}-pool", "type": "process"})
    queue = client.create_work_queue(f"{unique}-q", None, None, 3, None, pool.name)
    status = client.read_work_pool_concurrency_status(pool.name, 1, None, 5)
    assert isinstance(status, WorkPoolConcurrencyStatus)
    assert f"{unique}-q" in status.to_dict().__repr__()
    queue_status = client.read_work_queue_concurrency_status(queue.id, page=1, limit=10)
    assert isinstance(queue_status, WorkQueueConcurrencyStatus)
    assert queue_status.to_dict()["concurrency_limit"] == 3
    with pytest.raises(ObjectNotFound):
        client.read_work_pool_concurrency_status(f"{unique}-missing")
    with pytest.raises(ObjectNotFound):
        client.read_work_queue_concurrency_status(uuid.uuid4())


def test_read_worker_metadata(client: Any) -> None:
    metadata = client.read_worker_metadata()
    assert isinstance(metadata, dict)
    assert "prefect" in metadata  # the worker types of the prefect package itself


def test_raise_for_api_version_mismatch_once(client: Any) -> None:
    assert client.raise_for_api_version_mismatch_once() is None
    assert client.raise_for_api_version_mismatch_once() is None  # cached: no second check


def test_set_deployment_paused_state_is_deprecated_and_works(client: Any, unique: str) -> None:
    deployment_id = client.create_deployment(client.create_flow_from_name(f"{unique}-d"), "dep")
    with pytest.warns(DeprecationWarning, match="pause_deployment or resume_deployment"):
        client.set_deployment_paused_state(deployment_id, True)
    assert client.read_deployment(deployment_id).paused is True
    with pytest.warns(DeprecationWarning):
        client.set_deployment_paused_state(deployment_id, False)
    assert client.read_deployment(deployment_id).paused is False


def test_create_deployment_takes_prefects_positional_arguments(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-pos")
    # flow_id, name, version, version_info, schedules, concurrency_limit, concurrency_options,
    # parameters, description: Prefect's order
    deployment_id = client.create_deployment(
        flow_id, "dep", "v1", None, None, 2, None, {"x": 1}, "described", labels={"k": "v"}
    )
    read = client.read_deployment(deployment_id)
    assert (read.version, read.description, read.parameters.to_dict()) == (
        "v1",
        "described",
        {"x": 1},
    )
    assert read.global_concurrency_limit.limit == 2 and read.labels.to_dict()["k"] == "v"
    with pytest.raises(ValueError, match="unknown field"):
        client.create_deployment(flow_id, "dep", branch="main")  # Cloud's; not in the document


def test_create_task_run_from_a_task_object(client: Any, unique: str) -> None:
    run_id = client.create_flow_run(client.create_flow_from_name(f"{unique}-tasks")).id
    task = types.SimpleNamespace(task_key=f"{unique}-key", name=f"{unique}-name", tags={"a"})
    created = client.create_task_run(task, run_id, "0", None, None, ["b"])
    assert isinstance(created, TaskRun)
    assert (created.task_key, created.name) == (f"{unique}-key", f"{unique}-name")
    assert sorted(created.tags) == ["a", "b"]
    named = client.create_task_run(task, run_id, "1", name="chosen", extra_tags=["c"], tags=["d"])
    assert named.name == "chosen" and sorted(named.tags) == ["a", "c", "d"]
    by_key = client.create_task_run(f"{unique}-plain", run_id, "0")
    assert (by_key.name, by_key.tags) == (f"{unique}-plain", [])
    with pytest.raises(ValueError, match="task_key must be a non-empty string"):
        client.create_task_run(types.SimpleNamespace(name="no key"), run_id, "0")


def test_send_worker_heartbeat_with_prefects_arguments(client: Any, unique: str) -> None:
    pool = client.create_work_pool({"name": f"{unique}-beat", "type": "process"})
    # the open-source server answers 204 without an id: None, as Prefect's client returns
    returned = client.send_worker_heartbeat(
        pool.name, f"{unique}-w", 30, True, {"integrations": [{"name": "x", "version": "1"}]}
    )
    assert returned is None
    workers = client.read_workers_for_work_pool(pool.name)
    assert [worker.name for worker in workers] == [f"{unique}-w"]


def test_cloud_only_routes_are_unsupported_by_the_server(client: Any) -> None:
    with pytest.raises(UnsupportedByServer, match="apply_slas_for_deployment"):
        client.apply_slas_for_deployment(uuid.uuid4(), [{"name": "sla", "severity": "high"}])
    with pytest.raises(UnsupportedByServer, match="create_deployment_branch"):
        client.create_deployment_branch(uuid.uuid4(), "feature")
    with pytest.raises(ValueError, match="slas must be a list"):
        client.apply_slas_for_deployment(uuid.uuid4(), {"name": "sla"})
