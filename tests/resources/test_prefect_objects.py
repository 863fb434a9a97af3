"""Prefect's own objects, passed as a `prefect.client.orchestration` caller passes them, through
both clients against the real server: Prefect's filters, sorts, states, creates and updates,
`prefect.Flow` objects, and dict filters holding UUIDs, datetimes and enums.

Each is converted once to the generated model (only the fields that were set, as Prefect's
client sends them), so what the server stores is checked, not just that the call returned.
"""

from __future__ import annotations

import datetime
from typing import Any

import prefect
import pytest
from prefect import states as prefect_states
from prefect.client.schemas import actions, filters, objects, sorting

from prefect_api.models import StateType


def _flow(unique: str, **options: Any) -> Any:
    @prefect.flow(name=f"{unique}-flow", **options)
    def work() -> None:
        pass

    return work


def test_prefect_flow_objects(client: Any, unique: str) -> None:
    flow = _flow(unique, version="1.2", retries=2, retry_delay_seconds=7)
    flow_id = client.create_flow(flow)
    assert client.read_flow_by_name(flow.name).id == flow_id

    # as Prefect's client: the flow found by name, the run's version and policy from it
    when = _now()
    run = client.create_flow_run(flow, name=f"{unique}-run", parameters={"when": when})
    assert run.flow_id == flow_id and run.flow_version == "1.2"
    assert (run.empirical_policy.retries, run.empirical_policy.retry_delay) == (2, 7)
    assert run.parameters.to_dict() == {"when": when.isoformat()}  # sent JSON-ready


def test_prefect_states(client: Any, unique: str) -> None:
    flow_id = client.create_flow(_flow(unique))
    due = _now() - datetime.timedelta(minutes=1)  # due: running it is not made to wait
    run = client.create_flow_run(flow_id, state=prefect_states.Scheduled(scheduled_time=due))
    assert run.state.type_ is StateType.SCHEDULED
    assert run.state.state_details.scheduled_time == due

    result = client.set_flow_run_state(run.id, prefect_states.Running())
    assert result.status.value == "ACCEPT" and result.state.type_ is StateType.RUNNING

    # a task run's states: Prefect's Pending at creation, then Prefect's StateCreate
    task_run = client.create_task_run("key", run.id, "0", state=prefect_states.Pending())
    assert task_run.state.type_ is StateType.PENDING
    running = prefect_states.to_state_create(prefect_states.Running())
    assert client.set_task_run_state(task_run.id, running).status.value == "ACCEPT"
    assert client.read_task_run(task_run.id).state.type_ is StateType.RUNNING

    client.set_flow_run_state(run.id, prefect_states.Completed(message="done"))
    final = client.read_flow_run(run.id).state
    assert (final.type_, final.name, final.message) == (StateType.COMPLETED, "Completed", "done")


def test_prefect_filters_sorts_and_dict_filters(client: Any, unique: str) -> None:
    flow_id = client.create_flow(_flow(unique))
    runs = [client.create_flow_run(flow_id, name=f"{unique}-{n}") for n in range(3)]
    client.set_flow_run_state(runs[0].id, prefect_states.Running())
    ids = [run.id for run in runs]

    by_id = filters.FlowRunFilter(id=filters.FlowRunFilterId(any_=ids))
    found = client.read_flow_runs(flow_run_filter=by_id, sort=sorting.FlowRunSort.NAME_DESC)
    assert [run.name for run in found] == [f"{unique}-2", f"{unique}-1", f"{unique}-0"]
    assert client.count_flow_runs(flow_run_filter=by_id) == 3

    running = filters.FlowRunFilter(
        id=filters.FlowRunFilterId(any_=ids),
        state=filters.FlowRunFilterState(
            type=filters.FlowRunFilterStateType(any_=[objects.StateType.RUNNING])
        ),
    )
    assert [run.id for run in client.read_flow_runs(flow_run_filter=running)] == [ids[0]]

    # dicts holding UUIDs, datetimes and Prefect's enums: made JSON-ready, not a crash
    as_dict = {
        "id": {"any_": ids},
        "state": {"type": {"not_any_": [objects.StateType.RUNNING]}},
        "expected_start_time": {"before_": _now() + datetime.timedelta(days=1)},
    }
    assert {run.id for run in client.read_flow_runs(flow_run_filter=as_dict)} == set(ids[1:])
    assert list(client.iter_flow_runs(flow_run_filter={"id": {"any_": [ids[2]]}}))[0].id == ids[2]

    flows = client.read_flows(
        flow_filter=filters.FlowFilter(name=filters.FlowFilterName(any_=[f"{unique}-flow"])),
        sort=sorting.FlowSort.NAME_ASC,
    )
    assert [flow.id for flow in flows] == [flow_id]


def test_a_prefect_filter_of_another_kind_is_refused(client: Any) -> None:
    with pytest.raises(
        ValueError, match=r"not prefect\.client\.schemas\.filters\.DeploymentFilter"
    ):
        client.read_flow_runs(flow_run_filter=filters.DeploymentFilter())


def test_prefect_logs(client: Any, unique: str) -> None:
    run = client.create_flow_run(client.create_flow(_flow(unique)))
    first = _now()
    client.create_logs(
        [
            actions.LogCreate(
                name=unique, level=20, message="one", timestamp=first, flow_run_id=run.id
            ),
            # Prefect's handler sends logs as dicts: its own dump, and one with live values
            actions.LogCreate(
                name=unique,
                level=30,
                message="two",
                timestamp=first + datetime.timedelta(seconds=1),
                flow_run_id=run.id,
            ).model_dump(mode="json"),
            {
                "name": unique,
                "level": 40,
                "message": "three",
                "timestamp": first + datetime.timedelta(seconds=2),
                "flow_run_id": run.id,
            },
        ]
    )
    log_filter = filters.LogFilter(flow_run_id=filters.LogFilterFlowRunId(any_=[run.id]))
    logs = client.read_logs(log_filter=log_filter, sort=sorting.LogSort.TIMESTAMP_DESC)
    assert [(log.message, log.level) for log in logs] == [("three", 40), ("two", 30), ("one", 20)]


def test_prefect_variable_create_and_update(client: Any, unique: str) -> None:
    name = f"{unique}_var"
    created = client.create_variable(actions.VariableCreate(name=name, value={"a": 1}, tags=["t"]))
    assert created.name == name and created.value.to_dict() == {"a": 1}

    # only the fields that were set are sent: the tags stay
    client.update_variable(actions.VariableUpdate(name=name, value=2))
    read = client.read_variable_by_name(name)
    assert read.value == 2 and read.tags == ["t"]


def test_prefect_work_pool_create_update_and_filter(client: Any, unique: str) -> None:
    name = f"{unique}-pool"
    pool = client.create_work_pool(
        actions.WorkPoolCreate(name=name, type="process", description="first")
    )
    assert (pool.name, pool.type_, pool.description) == (name, "process", "first")

    client.update_work_pool(name, actions.WorkPoolUpdate(concurrency_limit=3))
    read = client.read_work_pool(name)
    assert read.concurrency_limit == 3 and read.description == "first"

    found = client.read_work_pools(
        work_pool_filter=filters.WorkPoolFilter(name=filters.WorkPoolFilterName(any_=[name]))
    )
    assert [pool.name for pool in found] == [name]


def test_prefect_global_concurrency_limit_and_deployment_update(client: Any, unique: str) -> None:
    name = f"{unique}-gcl"
    client.create_global_concurrency_limit(actions.GlobalConcurrencyLimitCreate(name=name, limit=2))
    client.update_global_concurrency_limit(name, actions.GlobalConcurrencyLimitUpdate(limit=5))
    assert client.read_global_concurrency_limit_by_name(name).limit == 5

    flow_id = client.create_flow(_flow(unique))
    deployment_id = client.create_deployment(flow_id, f"{unique}-dep", tags=["keep"])
    client.update_deployment(deployment_id, actions.DeploymentUpdate(description="new"))
    deployment = client.read_deployment(deployment_id)
    assert deployment.description == "new" and deployment.tags == ["keep"]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
