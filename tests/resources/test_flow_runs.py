"""Flow run methods on both clients, against the real server."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from prefect_api.models import FlowRunResponse, OrchestrationResult, State, StateType
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound, states


def new_flow(client: Any, unique: str, name: str = "flow") -> uuid.UUID:
    flow_id: uuid.UUID = client.create_flow_from_name(f"{unique}-{name}")
    return flow_id


def test_create_read_update_delete(client: Any, unique: str) -> None:
    flow = client.read_flow(new_flow(client, unique))
    run = client.create_flow_run(
        flow,
        name=f"{unique}-run",
        parameters={"x": 1, "nested": {"y": [1, 2]}},
        context={"origin": "test"},
        tags=["a", "b"],
    )
    assert isinstance(run, FlowRunResponse)
    assert run.flow_id == flow.id and run.name == f"{unique}-run"
    assert run.parameters.to_dict() == {"x": 1, "nested": {"y": [1, 2]}}
    assert run.context.to_dict() == {"origin": "test"}
    assert sorted(run.tags) == ["a", "b"]
    assert run.state.type_ is StateType.PENDING  # the default initial state

    read = client.read_flow_run(str(run.id))
    assert read.id == run.id and read.state.type_ is StateType.PENDING

    # only what is given is sent: the name changes, tags and parameters stay
    client.update_flow_run(run.id, name=f"{unique}-renamed")
    updated = client.read_flow_run(run.id)
    assert updated.name == f"{unique}-renamed"
    assert sorted(updated.tags) == ["a", "b"]
    assert updated.parameters.to_dict() == {"x": 1, "nested": {"y": [1, 2]}}

    client.update_flow_run(
        run.id,
        tags=["c"],
        flow_version="2.0",
        parameters={"x": 2},
        infrastructure_pid="pid-1",
        empirical_policy={"retries": 3, "retry_delay": 5},
    )
    updated = client.read_flow_run(run.id)
    assert updated.name == f"{unique}-renamed"
    assert updated.tags == ["c"] and updated.flow_version == "2.0"
    assert updated.parameters.to_dict() == {"x": 2}
    assert updated.infrastructure_pid == "pid-1"
    assert (updated.empirical_policy.retries, updated.empirical_policy.retry_delay) == (3, 5)

    client.set_flow_run_name(run.id, f"{unique}-third")
    assert client.read_flow_run(run.id).name == f"{unique}-third"

    client.delete_flow_run(run.id)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_flow_run(run.id)
    with pytest.raises(ObjectNotFound):
        client.delete_flow_run(run.id)
    with pytest.raises(ObjectNotFound):
        client.update_flow_run(run.id, name="gone")


def test_create_from_id_and_initial_state(client: Any, unique: str) -> None:
    flow_id = new_flow(client, unique)
    run = client.create_flow_run(str(flow_id), state=states.Scheduled())
    assert run.flow_id == flow_id and run.state.type_ is StateType.SCHEDULED
    assert run.name  # the server picks a name
    running = client.create_flow_run(flow_id, state={"type": "RUNNING", "name": "Running"})
    assert running.state.type_ is StateType.RUNNING


def test_idempotency_key(client: Any, unique: str) -> None:
    flow_id = new_flow(client, unique)
    first = client.create_flow_run(flow_id, name=f"{unique}-a", idempotency_key="k1")
    again = client.create_flow_run(flow_id, name=f"{unique}-b", idempotency_key="k1")
    other = client.create_flow_run(flow_id, name=f"{unique}-c", idempotency_key="k2")
    # the key is per flow: another flow may use it for its own run
    elsewhere = client.create_flow_run(new_flow(client, unique, "other"), idempotency_key="k1")
    assert first.idempotency_key == "k1" and again.id == first.id and again.name == f"{unique}-a"
    assert len({first.id, other.id, elsewhere.id}) == 3
    # Without a key, each call sends one of its own: two calls, two runs.
    keyless = [client.create_flow_run(flow_id, name=f"{unique}-d") for _ in range(2)]
    assert keyless[0].id != keyless[1].id
    keys = [run.idempotency_key for run in keyless]
    assert all(re.fullmatch(r"prefect-sdk-[0-9a-f]{32}", key) for key in keys), keys
    assert keys[0] != keys[1]
    for bad in ("", 5):
        with pytest.raises(ValueError, match="idempotency_key must be a non-empty string"):
            client.create_flow_run(flow_id, idempotency_key=bad)


def test_state_transitions(client: Any, unique: str) -> None:
    run = client.create_flow_run(new_flow(client, unique))
    assert run.state.type_ is StateType.PENDING
    for proposed in (states.Running(), states.Completed(message="done")):
        result = client.set_flow_run_state(run.id, proposed)
        assert isinstance(result, OrchestrationResult)
        assert result.status.value == "ACCEPT"
        assert result.state.type_ is proposed.type_
    final = client.read_flow_run(run.id)
    assert final.state.type_ is StateType.COMPLETED and final.state.message == "done"

    history = client.read_flow_run_states(run.id)
    assert all(isinstance(state, State) for state in history)
    assert [state.type_.value for state in history] == ["PENDING", "RUNNING", "COMPLETED"]
    one = client.read_flow_run_state(str(final.state.id))
    assert one.id == final.state.id and one.type_ is StateType.COMPLETED
    with pytest.raises(ObjectNotFound):
        client.read_flow_run_state(uuid.uuid4())


def test_force_overrides_orchestration(client: Any, unique: str) -> None:
    run = client.create_flow_run(new_flow(client, unique), state=states.Running())
    pending = states.Pending()
    refused = client.set_flow_run_state(run.id, pending)
    assert refused.status.value == "ABORT"
    assert "cannot transition" in refused.details.reason
    assert client.read_flow_run(run.id).state.type_ is StateType.RUNNING

    forced = client.set_flow_run_state(run.id, pending, force=True)
    assert forced.status.value == "ACCEPT"
    assert client.read_flow_run(run.id).state.type_ is StateType.PENDING
    # the caller's StateCreate was not changed by being sent twice
    assert pending.to_dict() == states.Pending().to_dict()

    with pytest.raises(ObjectNotFound):
        client.set_flow_run_state(uuid.uuid4(), states.Running())


def test_pause_and_resume(client: Any, unique: str) -> None:
    run = client.create_flow_run(new_flow(client, unique), state=states.Running())
    assert client.set_flow_run_state(run.id, states.Paused()).status.value == "ACCEPT"
    assert client.read_flow_run(run.id).state.type_ is StateType.PAUSED
    resumed = client.resume_flow_run(run.id)
    assert resumed.status.value == "ACCEPT" and resumed.state.type_ is StateType.RUNNING
    again = client.resume_flow_run(run.id, run_input={"answer": 42})
    assert again.status.value == "ABORT" and "not paused" in again.details.reason


def test_filters_filter(client: Any, unique: str) -> None:
    flow_a, flow_b = new_flow(client, unique, "a"), new_flow(client, unique, "b")
    a_runs = [client.create_flow_run(flow_a, tags=[f"{unique}-t"]) for _ in range(3)]
    b_run = client.create_flow_run(flow_b, tags=[f"{unique}-t", f"{unique}-x"])
    client.create_flow_run(flow_b, tags=["decoy"])
    client.set_flow_run_state(a_runs[0].id, states.Running())
    client.set_flow_run_state(b_run.id, states.Running())

    by_flow = client.read_flow_runs(flow_filter={"id": {"any_": [str(flow_a)]}})
    assert {run.id for run in by_flow} == {run.id for run in a_runs}
    mine = {"tags": {"all_": [f"{unique}-t"]}}
    by_tags = client.read_flow_runs(flow_run_filter=mine)
    assert {run.id for run in by_tags} == {run.id for run in a_runs} | {b_run.id}
    both_tags = client.read_flow_runs(
        flow_run_filter={"tags": {"all_": [f"{unique}-t", f"{unique}-x"]}}
    )
    assert [run.id for run in both_tags] == [b_run.id]
    running = client.read_flow_runs(
        flow_run_filter={
            "tags": {"all_": [f"{unique}-t"]},
            "state": {"type": {"any_": ["RUNNING"]}},
        }
    )
    assert {run.id for run in running} == {a_runs[0].id, b_run.id}
    by_name = client.read_flow_runs(
        flow_filter={"name": {"any_": [f"{unique}-b"]}},
        flow_run_filter={"state": {"type": {"any_": ["PENDING"]}}},
    )
    assert len(by_name) == 1 and by_name[0].tags == ["decoy"]

    assert client.count_flow_runs(flow_run_filter=mine) == 4
    assert client.count_flow_runs(flow_filter={"id": {"any_": [str(flow_b)]}}) == 2
    assert client.count_flow_runs(flow_run_filter={"id": {"any_": [str(uuid.uuid4())]}}) == 0

    names = [run.name for run in client.read_flow_runs(flow_run_filter=mine, sort="NAME_DESC")]
    assert names == sorted(names, reverse=True)
    iterated = [
        run.id for run in client.iter_flow_runs(flow_filter={"id": {"any_": [str(flow_a)]}})
    ]
    assert sorted(iterated) == sorted(run.id for run in a_runs)
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_flow_runs(sort="SIDEWAYS")


def test_paging_past_the_server_cap(client: Any, unique: str) -> None:
    flow_id = new_flow(client, unique)
    created = {client.create_flow_run(flow_id).id for _ in range(260)}
    only_mine = {"id": {"any_": [str(flow_id)]}}
    limited = client.read_flow_runs(flow_filter=only_mine, limit=250)
    assert len(limited) == 250 and len({run.id for run in limited}) == 250
    assert {run.id for run in limited} <= created
    everything = client.read_flow_runs(flow_filter=only_mine)
    assert len(everything) == 260 and {run.id for run in everything} == created
    iterated = [run.id for run in client.iter_flow_runs(flow_filter=only_mine)]
    assert len(iterated) == len(set(iterated)) == 260 and set(iterated) == created
    assert len(client.read_flow_runs(flow_filter=only_mine, offset=250)) == 10
    page = client.paginate_flow_runs(page=3, limit=100, flow_filter=only_mine)
    assert (page.page, page.pages, page.count, len(page.results)) == (3, 3, 260, 60)
    assert client.count_flow_runs(flow_filter=only_mine) == 260


def test_flow_run_input(client: Any, unique: str) -> None:
    run = client.create_flow_run(new_flow(client, unique))
    client.create_flow_run_input(run.id, "answer", '{"value": 42}', sender="me")
    client.create_flow_run_input(str(run.id), "plain", "not json at all")
    assert client.read_flow_run_input(run.id, "answer") == '{"value": 42}'
    assert client.read_flow_run_input(run.id, "plain") == "not json at all"
    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_flow_run_input(run.id, "answer", "again")
    client.delete_flow_run_input(run.id, "answer")
    with pytest.raises(ObjectNotFound):
        client.read_flow_run_input(run.id, "answer")
    with pytest.raises(ObjectNotFound):
        client.delete_flow_run_input(run.id, "answer")
    assert client.read_flow_run_input(run.id, "plain") == "not json at all"
    with pytest.raises(ObjectNotFound):
        client.create_flow_run_input(uuid.uuid4(), "key", "value")
    with pytest.raises(ValueError, match="key must be lowercase"):
        client.create_flow_run_input(run.id, "Not OK", "value")
    with pytest.raises(ValueError, match="value must be a string"):
        client.create_flow_run_input(run.id, "key", {"a": 1})


def test_update_labels(client: Any, unique: str) -> None:
    run = client.create_flow_run(new_flow(client, unique))
    client.update_flow_run_labels(run.id, {"team": "data", "tier": 1})
    client.update_flow_run_labels(str(run.id), {"tier": 2, "on": True})
    labels = client.read_flow_run(run.id).labels.to_dict()
    assert {key: labels[key] for key in ("team", "tier", "on")} == {
        "team": "data",
        "tier": 2,
        "on": True,
    }
    with pytest.raises(ObjectNotFound):
        client.update_flow_run_labels(uuid.uuid4(), {"a": "b"})
    with pytest.raises(ValueError, match="labels must be a dict"):
        client.update_flow_run_labels(run.id, ["a"])


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_ids_raise_before_any_request(client: Any, bad: object) -> None:
    good = uuid.uuid4()
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.read_flow_run(bad)
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.delete_flow_run(bad)
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.update_flow_run(bad, name="x")
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.set_flow_run_state(bad, states.Running())
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.read_flow_run_states(bad)
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.read_flow_run_input(bad, "key")
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.update_flow_run_labels(bad, {})
    with pytest.raises(ValueError, match="flow_run_id must be a UUID"):
        client.resume_flow_run(bad)
    with pytest.raises(ValueError, match="flow_run_state_id must be a UUID"):
        client.read_flow_run_state(bad)
    with pytest.raises(ValueError, match="flow must be a UUID"):
        client.create_flow_run(bad)
    with pytest.raises(ValueError, match="parent_task_run_id must be a UUID"):
        client.create_flow_run(good, parent_task_run_id=bad or "x")
    with pytest.raises(ValueError, match="state is not a valid StateCreate"):
        client.set_flow_run_state(good, {"type": "NOT_A_STATE"})
    with pytest.raises(ValueError, match="tags must be an iterable of strings"):
        client.create_flow_run(good, tags="abc")
