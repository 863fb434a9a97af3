"""The methods added so that every operation of the document has one (issue 10, part 2), on both
clients, against the real server: counts, bulk changes, by-id reads, saved searches, the logs'
CSV, run aggregates."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from prefect_api.models import Artifact, Graph, HistoryResponse, SavedSearch, Variable
from prefect_sdk import ObjectNotFound, states
from tests.resources.test_automations import automation

NOW = datetime.datetime.now(datetime.timezone.utc)


def named(prefix: str) -> dict[str, Any]:
    return {"name": {"like_": prefix}}


def test_counts(client: Any, unique: str) -> None:
    flow_ids = [client.create_flow_from_name(f"{unique}-flow-{i}") for i in range(3)]
    assert client.count_flows(flow_filter=named(unique)) == 3
    client.create_deployment(flow_ids[0], "a")
    client.create_deployment(flow_ids[1], "b")
    assert client.count_deployments(flow_filter=named(unique)) == 2
    assert client.count_deployments(flow_filter=named(f"{unique}-flow-2")) == 0

    for version in range(3):
        client.create_artifact({"key": f"{unique}-art", "type": "markdown", "data": str(version)})
    client.create_artifact({"key": f"{unique}-other", "type": "markdown", "data": "x"})
    by_key = {"key": {"like_": unique}}
    assert client.count_artifacts(artifact_filter=by_key) == 4
    assert client.count_latest_artifacts(artifact_filter=by_key) == 2

    client.create_automation(automation(f"{unique}-auto"))
    assert client.count_automations(automations={"name": {"any_": [f"{unique}-auto"]}}) == 1

    for i in range(2):
        client.create_variable({"name": f"{unique}_var_{i}", "value": i})
    assert client.count_variables(variable_filter=named(f"{unique}_var")) == 2

    client.create_work_pool({"name": f"{unique}-pool", "type": "process"})
    assert client.count_work_pools(work_pool_filter={"name": {"any_": [f"{unique}-pool"]}}) == 1

    block_type = client.create_block_type({"name": f"{unique} t", "slug": f"{unique}-t"})
    schema = client.create_block_schema(
        {"block_type_id": str(block_type.id), "fields": {"title": "T", "type": "object"}}
    )
    for i in range(2):
        client.create_block_document(
            {
                "name": f"{unique}-doc-{i}",
                "block_schema_id": str(schema.id),
                "block_type_id": str(block_type.id),
                "data": {},
            }
        )
    assert client.count_block_documents(block_type_filter={"slug": {"any_": [f"{unique}-t"]}}) == 2
    with pytest.raises(ValueError, match="flow_filter has fields"):
        client.count_flows(flow_filter={"nmae": {"any_": ["x"]}})


def test_bulk_delete_and_set_state(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-bulk")
    runs = [client.create_flow_run(flow_id, name=f"{unique}-run-{i}").id for i in range(4)]
    mine = {"id": {"any_": [str(run) for run in runs[:3]]}}

    results = client.bulk_set_flow_run_state(states.Cancelled(), mine)
    assert sorted(result.flow_run_id for result in results) == sorted(runs[:3])
    assert {client.read_flow_run(run).state.type_.value for run in runs[:3]} == {"CANCELLED"}
    assert client.read_flow_run(runs[3]).state.type_.value == "PENDING"

    deleted = client.bulk_delete_flow_runs(mine, limit=2)
    assert len(deleted) == 2 and set(deleted) <= set(runs[:3])
    assert sorted(client.bulk_delete_flow_runs(mine)) == sorted(set(runs[:3]) - set(deleted))
    assert client.read_flow_run(runs[3]).id == runs[3]

    deployment_ids = [client.create_deployment(flow_id, f"d{i}") for i in range(2)]
    by_id = {"id": {"any_": [str(deployment_ids[0])]}}
    assert client.bulk_delete_deployments(by_id) == [deployment_ids[0]]
    with pytest.raises(ObjectNotFound):
        client.read_deployment(deployment_ids[0])

    other = client.create_flow_from_name(f"{unique}-bulk-other")
    assert client.bulk_delete_flows({"id": {"any_": [str(other)]}}) == [other]
    with pytest.raises(ObjectNotFound):
        client.read_flow(other)
    assert client.read_flow(flow_id).id == flow_id
    for method in ("bulk_delete_flows", "bulk_delete_flow_runs", "bulk_delete_deployments"):
        with pytest.raises(ValueError, match="needs a"):
            getattr(client, method)()
    with pytest.raises(ValueError, match="needs a flow_run_filter"):
        client.bulk_set_flow_run_state(states.Cancelled())


def test_update_flow_tags(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-tagged")
    client.update_flow(flow_id, tags=["a", "b"])
    assert client.read_flow(flow_id).tags == ["a", "b"]
    with pytest.raises(ObjectNotFound):
        client.update_flow(uuid.uuid4(), tags=[])
    with pytest.raises(ValueError, match="tags must be an iterable of strings"):
        client.update_flow(flow_id, tags="a")


def test_artifacts_by_id_and_latest_by_key(client: Any, unique: str) -> None:
    first = client.create_artifact({"key": f"{unique}-k", "type": "markdown", "data": "1"})
    second = client.create_artifact({"key": f"{unique}-k", "type": "markdown", "data": "2"})
    read = client.read_artifact(first.id)
    assert isinstance(read, Artifact) and (read.id, read.data) == (first.id, "1")
    latest = client.read_latest_artifact(f"{unique}-k")
    assert (latest.key, latest.data) == (second.key, "2")
    # the server answers with its artifact collection row: `id` is the collection's
    collection = client.read_latest_artifacts(artifact_filter={"key": {"any_": [f"{unique}-k"]}})
    assert latest.id == collection[0].id and collection[0].latest_id == second.id
    with pytest.raises(ObjectNotFound):
        client.read_artifact(uuid.uuid4())
    with pytest.raises(ObjectNotFound):
        client.read_latest_artifact(f"{unique}-missing")


def test_variables_by_id(client: Any, unique: str) -> None:
    created = client.create_variable({"name": f"{unique}_v", "value": 1, "tags": ["t"]})
    read = client.read_variable_by_id(str(created.id))
    assert isinstance(read, Variable) and (read.name, read.value) == (f"{unique}_v", 1)
    client.update_variable_by_id(created.id, {"name": f"{unique}_renamed", "value": 2})
    renamed = client.read_variable_by_id(created.id)
    assert (renamed.name, renamed.value, renamed.tags) == (f"{unique}_renamed", 2, ["t"])
    client.delete_variable_by_id(created.id)
    with pytest.raises(ObjectNotFound):
        client.read_variable_by_id(created.id)
    with pytest.raises(ObjectNotFound):
        client.delete_variable_by_id(created.id)


def test_tag_limits_by_id(client: Any, unique: str) -> None:
    limit_id = client.create_concurrency_limit(f"{unique}-tag", 4)
    read = client.read_concurrency_limit(limit_id)
    assert (read.id, read.tag, read.concurrency_limit) == (limit_id, f"{unique}-tag", 4)
    client.delete_concurrency_limit(str(limit_id))
    with pytest.raises(ObjectNotFound):
        client.read_concurrency_limit(limit_id)


def test_saved_searches(client: Any, unique: str) -> None:
    search_filter = {
        "object": "flow_run",
        "property": "state",
        "type": "string",
        "operation": "equals",
        "value": "Failed",
    }
    saved = client.create_saved_search(f"{unique}-failed", [search_filter])
    assert isinstance(saved, SavedSearch) and saved.name == f"{unique}-failed"
    assert client.read_saved_search(saved.id).filters[0].value == "Failed"
    again = client.create_saved_search(f"{unique}-failed", [])  # a PUT: replaced by name
    assert again.id == saved.id and client.read_saved_search(saved.id).filters == []
    others = [client.create_saved_search(f"{unique}-s{i}").id for i in range(3)]
    listed = {row.id for row in client.read_saved_searches()}
    assert {saved.id, *others} <= listed
    assert {row.id for row in client.iter_saved_searches()} == listed
    assert len(client.read_saved_searches(limit=2)) == 2
    for search_id in [saved.id, *others]:
        client.delete_saved_search(search_id)
    with pytest.raises(ObjectNotFound):
        client.read_saved_search(saved.id)
    with pytest.raises(ValueError, match="filters must be a list"):
        client.create_saved_search("x", search_filter)


def test_logs_csv_is_the_download_routes_csv(client: Any, unique: str) -> None:
    run_id = client.create_flow_run(client.create_flow_from_name(f"{unique}-logs")).id
    task_run_id = client.create_task_run(f"{unique}-t", run_id, "0").id
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    client.create_logs(
        [
            {
                "name": "test",
                "level": 20 + i % 2 * 10,
                "message": f'line {i}, with "quotes"\nand a newline' if i == 3 else f"line {i}",
                "timestamp": (start + datetime.timedelta(seconds=i)).isoformat(),
                "flow_run_id": str(run_id),
                **({"task_run_id": str(task_run_id)} if i % 2 else {}),
            }
            for i in range(450)  # more than two pages of 200
        ]
    )
    lines = list(client.iter_flow_run_logs_csv(run_id))
    assert lines[0] == "timestamp,level,flow_run_id,task_run_id,message\r\n"
    assert len(lines) == 451
    served = client.request("GET", "/flow_runs/{id}/logs/download", path_params={"id": run_id})
    assert "".join(lines) == served.text
    with pytest.raises(ObjectNotFound):
        list(client.iter_flow_run_logs_csv(uuid.uuid4()))


def test_history_lateness_graph_and_task_workers(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-hist")
    run = client.create_flow_run(flow_id)
    task_run = client.create_task_run(f"{unique}-t", run.id, "0")
    by_flow = {"id": {"any_": [str(flow_id)]}}
    start, end = NOW - datetime.timedelta(hours=1), NOW + datetime.timedelta(hours=1)
    history = client.flow_run_history(start, end, 3600, flow_filter=by_flow)
    assert history and all(isinstance(row, HistoryResponse) for row in history)
    assert sum(state.count_runs for row in history for state in row.states) == 1
    task_history = client.task_run_history(start, end, 1800, flow_filter=by_flow)
    assert sum(state.count_runs for row in task_history for state in row.states) == 1
    lateness = client.average_flow_run_lateness(flow_filter=by_flow)
    assert isinstance(lateness, float) and lateness >= 0.0
    nothing = {"id": {"any_": [str(uuid.uuid4())]}}
    assert client.average_flow_run_lateness(flow_filter=nothing) is None  # no run to average
    graph = client.read_flow_run_graph(run.id)
    assert isinstance(graph, Graph) and graph.root_node_ids == [task_run.id]
    later = client.read_flow_run_graph(run.id, since=NOW + datetime.timedelta(days=1))
    assert isinstance(later, Graph)  # a running node is in every later graph too
    with pytest.raises(ObjectNotFound):
        client.read_flow_run_graph(uuid.uuid4())
    assert client.read_task_workers([f"{unique}-nobody"]) == []
    with pytest.raises(ValueError, match="history_end .* must be after history_start"):
        client.flow_run_history(end, start, 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        client.flow_run_history(start.replace(tzinfo=None), end, 60)
    with pytest.raises(ValueError, match="history_interval_seconds must be a number > 0"):
        client.task_run_history(start, end, 0)


def test_schedule_deployment_delete_worker_delete_block_schema(
    client: Any, unique: str, server_version: tuple[int, ...]
) -> None:
    from prefect_api.models import FlowRunFilter

    # Prefect 3.8.8's own route fails on SQLite (sqlalchemy: "Can't evaluate bulk DML statement;
    # please supply a bulk_dml decorated function", in _insert_scheduled_flow_runs): the server
    # answers 503 whatever the client sends, so scheduling is checked on 3.9 servers only.
    if server_version >= (3, 9):
        flow_id = client.create_flow_from_name(f"{unique}-sched")
        deployment_id = client.create_deployment(
            flow_id, "every-hour", schedules=[{"schedule": {"interval": 3600}, "active": True}]
        )
        client.schedule_deployment(
            deployment_id, end_time=NOW + datetime.timedelta(hours=5), min_runs=3, max_runs=4
        )
        deployment_runs = {"deployment_id": {"any_": [str(deployment_id)]}}
        scheduled = client.read_flow_runs(flow_run_filter=FlowRunFilter.from_dict(deployment_runs))
        assert 3 <= len(scheduled) <= 4
        assert {run.state.type_.value for run in scheduled} == {"SCHEDULED"}

    pool = client.create_work_pool({"name": f"{unique}-pool", "type": "process"})
    client.send_worker_heartbeat(pool.name, f"{unique}-w")
    client.delete_worker(pool.name, f"{unique}-w")
    assert client.read_workers_for_work_pool(pool.name) == []
    with pytest.raises(ObjectNotFound):
        client.delete_worker(pool.name, f"{unique}-w")

    block_type = client.create_block_type({"name": f"{unique} s", "slug": f"{unique}-s"})
    schema = client.create_block_schema(
        {"block_type_id": str(block_type.id), "fields": {"title": "S", "type": "object"}}
    )
    client.delete_block_schema(schema.id)
    with pytest.raises(ObjectNotFound):
        client.delete_block_schema(schema.id)
