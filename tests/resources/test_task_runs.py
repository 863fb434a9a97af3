"""Task run methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_api.models import OrchestrationResult, State, StateType, TaskRun
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound, states


def new_flow_run(client: Any, unique: str, name: str = "flow", state: Any = None) -> uuid.UUID:
    flow_id = client.create_flow_from_name(f"{unique}-{name}")
    run_id: uuid.UUID = client.create_flow_run(flow_id, state=state).id
    return run_id


def test_create_read_rename_delete(client: Any, unique: str) -> None:
    flow_run_id = new_flow_run(client, unique)
    task_run = client.create_task_run(
        f"{unique}-task", flow_run_id, "0", tags=["a", "b"], task_inputs={"x": []}
    )
    assert isinstance(task_run, TaskRun)
    assert task_run.name == f"{unique}-task"  # the name defaults to the task key
    assert task_run.task_key == f"{unique}-task" and task_run.dynamic_key == "0"
    assert task_run.flow_run_id == flow_run_id and sorted(task_run.tags) == ["a", "b"]
    assert task_run.state.type_ is StateType.PENDING  # the default initial state
    assert task_run.task_inputs.to_dict() == {"x": []}

    read = client.read_task_run(str(task_run.id))
    assert read.id == task_run.id and read.state.type_ is StateType.PENDING

    client.set_task_run_name(task_run.id, f"{unique}-renamed")
    renamed = client.read_task_run(task_run.id)
    assert renamed.name == f"{unique}-renamed" and sorted(renamed.tags) == ["a", "b"]

    client.delete_task_run(task_run.id)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_task_run(task_run.id)
    with pytest.raises(ObjectNotFound):
        client.delete_task_run(task_run.id)
    with pytest.raises(ObjectNotFound):
        client.set_task_run_name(task_run.id, "gone")


def test_create_options_and_conflicts(client: Any, unique: str) -> None:
    flow_run_id = new_flow_run(client, unique)
    chosen = uuid.uuid4()
    task_run = client.create_task_run(
        f"{unique}-task", str(flow_run_id), 7, id=str(chosen), name="named", state=states.Running()
    )
    assert task_run.id == chosen and task_run.name == "named" and task_run.dynamic_key == "7"
    assert task_run.state.type_ is StateType.RUNNING
    # the same (flow run, task key, dynamic key) is the same task run
    again = client.create_task_run(f"{unique}-task", flow_run_id, "7")
    assert again.id == chosen
    # a taken id with other keys is a conflict
    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_task_run(f"{unique}-task", flow_run_id, "8", id=chosen)
    # a task run outside any flow run
    loose = client.create_task_run(f"{unique}-loose", None, "0")
    assert loose.flow_run_id is None


def test_state_transitions(client: Any, unique: str) -> None:
    flow_run_id = new_flow_run(client, unique, state=states.Running())
    task_run = client.create_task_run(f"{unique}-task", flow_run_id, "0")
    for proposed in (states.Running(), states.Completed(message="done")):
        result = client.set_task_run_state(task_run.id, proposed)
        assert isinstance(result, OrchestrationResult)
        assert result.status.value == "ACCEPT" and result.state.type_ is proposed.type_
    final = client.read_task_run(task_run.id)
    assert final.state.type_ is StateType.COMPLETED and final.state.message == "done"
    history = client.read_task_run_states(task_run.id)
    assert all(isinstance(state, State) for state in history)
    assert [state.type_.value for state in history] == ["PENDING", "RUNNING", "COMPLETED"]
    one = client.read_task_run_state(final.state.id)
    assert one.id == final.state.id and one.type_ is StateType.COMPLETED
    with pytest.raises(ObjectNotFound):
        client.read_task_run_state(uuid.uuid4())
    with pytest.raises(ObjectNotFound):
        client.set_task_run_state(uuid.uuid4(), states.Running())


def test_force_overrides_orchestration(client: Any, unique: str) -> None:
    flow_run_id = new_flow_run(client, unique)
    # the flow run is PENDING, not RUNNING: its tasks may not start
    task_run = client.create_task_run(f"{unique}-task", flow_run_id, "0")
    refused = client.set_task_run_state(task_run.id, {"type": "RUNNING", "name": "Running"})
    assert refused.status.value == "ABORT"
    assert "enclosing flow must be running" in refused.details.reason
    assert client.read_task_run(task_run.id).state.type_ is StateType.PENDING
    forced = client.set_task_run_state(task_run.id, states.Running(), force=True)
    assert forced.status.value == "ACCEPT"
    assert client.read_task_run(task_run.id).state.type_ is StateType.RUNNING


def test_filters_and_paging(client: Any, unique: str) -> None:
    mine, other = new_flow_run(client, unique, "a"), new_flow_run(client, unique, "b")
    created = {client.create_task_run(f"{unique}-t", mine, str(i)).id for i in range(205)}
    tagged = client.create_task_run(f"{unique}-tagged", mine, "x", tags=[f"{unique}-tag"])
    decoy = client.create_task_run(f"{unique}-t", other, "0", tags=[f"{unique}-tag"])
    created.add(tagged.id)

    by_flow_run = {"id": {"any_": [str(mine)]}}
    everything = client.read_task_runs(flow_run_filter=by_flow_run)
    assert len(everything) == 206 and {run.id for run in everything} == created
    limited = client.read_task_runs(flow_run_filter=by_flow_run, limit=203)
    assert len({run.id for run in limited}) == 203
    iterated = [run.id for run in client.iter_task_runs(flow_run_filter=by_flow_run)]
    assert len(iterated) == len(set(iterated)) == 206 and set(iterated) == created
    assert client.count_task_runs(flow_run_filter=by_flow_run) == 206

    by_tag = client.read_task_runs(task_run_filter={"tags": {"all_": [f"{unique}-tag"]}})
    assert {run.id for run in by_tag} == {tagged.id, decoy.id}
    both = client.read_task_runs(
        flow_run_filter=by_flow_run, task_run_filter={"tags": {"all_": [f"{unique}-tag"]}}
    )
    assert [run.id for run in both] == [tagged.id]
    by_flow = client.read_task_runs(flow_filter={"name": {"any_": [f"{unique}-b"]}})
    assert [run.id for run in by_flow] == [decoy.id]

    names = [
        run.name for run in client.read_task_runs(flow_run_filter=by_flow_run, sort="NAME_DESC")
    ]
    assert names == sorted(names, reverse=True)
    page = client.paginate_task_runs(page=3, limit=100, flow_run_filter=by_flow_run)
    assert (page.page, page.pages, page.count, len(page.results)) == (3, 3, 206, 6)
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_task_runs(sort="SIDEWAYS")


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_ids_raise_before_any_request(client: Any, bad: object) -> None:
    for method, arguments in [
        ("read_task_run", ()),
        ("delete_task_run", ()),
        ("set_task_run_name", ("name",)),
        ("set_task_run_state", (states.Running(),)),
        ("read_task_run_states", ()),
    ]:
        with pytest.raises(ValueError, match="task_run_id must be a UUID"):
            getattr(client, method)(bad, *arguments)
    with pytest.raises(ValueError, match="task_run_state_id must be a UUID"):
        client.read_task_run_state(bad)
    if bad is not None:  # None is a task run outside any flow run
        with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
            client.create_task_run("key", bad, "0")
    with pytest.raises(ValueError, match="id must be a UUID"):
        client.create_task_run("key", uuid.uuid4(), "0", id=bad or "x")
    with pytest.raises(ValueError, match="task_key must be a non-empty string"):
        client.create_task_run("", uuid.uuid4(), "0")
