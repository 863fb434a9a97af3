"""Deployment methods on both clients, against the real server."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from prefect_api.models import (
    CronSchedule,
    DeploymentPaginationResponse,
    DeploymentResponse,
    DeploymentSchedule,
    DeploymentScheduleCreate,
    FlowRunResponse,
    IntervalScheduleInput,
)
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound, states
from tests.resources.conftest import BlockingAsyncClient

NOW = datetime.datetime.now(datetime.timezone.utc)


def small_pages(client: Any, size: int) -> None:
    """Make the client's paging reads ask for `size` rows at a time (exercises many pages)."""
    target = client.client if isinstance(client, BlockingAsyncClient) else client
    target.page_size = size


def new_deployment(client: Any, unique: str, name: str = "dep", **fields: Any) -> uuid.UUID:
    flow_id = client.create_flow_from_name(f"{unique}-flow")
    deployment_id: uuid.UUID = client.create_deployment(flow_id, f"{unique}-{name}", **fields)
    return deployment_id


def test_create_read_update_delete(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-flow")
    deployment_id = client.create_deployment(
        str(flow_id),
        f"{unique}-dep",
        version="1.0",
        description="first",
        tags=["a", "b"],
        parameters={"x": 1},
        entrypoint="flows.py:main",
        concurrency_limit=3,
        job_variables={"env": {"K": "V"}},
        schedules=[(CronSchedule(cron="0 0 * * *"), False)],
    )
    assert isinstance(deployment_id, uuid.UUID)
    deployment = client.read_deployment(str(deployment_id))
    assert isinstance(deployment, DeploymentResponse)
    assert (deployment.name, deployment.flow_id, deployment.version) == (
        f"{unique}-dep",
        flow_id,
        "1.0",
    )
    assert deployment.description == "first" and deployment.tags == ["a", "b"]
    assert deployment.parameters.to_dict() == {"x": 1}
    assert deployment.entrypoint == "flows.py:main"
    assert deployment.global_concurrency_limit.limit == 3  # 3.8.8 keeps the limit there
    assert deployment.job_variables.to_dict() == {"env": {"K": "V"}}
    assert [s.schedule.cron for s in deployment.schedules] == ["0 0 * * *"]
    assert deployment.paused is False

    by_name = client.read_deployment_by_name(f"{unique}-flow/{unique}-dep")
    assert by_name.id == deployment_id

    client.pause_deployment(deployment_id)
    # only what is given is sent: updating the description must not resume the deployment
    client.update_deployment(deployment_id, description="second", tags=["c"])
    updated = client.read_deployment(deployment_id)
    assert (updated.description, updated.tags, updated.paused) == ("second", ["c"], True)
    assert updated.version == "1.0" and updated.parameters.to_dict() == {"x": 1}
    # Prefect's calling convention: a DeploymentUpdate-shaped body
    client.update_deployment(deployment_id, {"version": "2.0"})
    assert client.read_deployment(deployment_id).version == "2.0"
    # an explicit None is given, so it is sent (clears the field)
    client.update_deployment(deployment_id, description=None)
    assert client.read_deployment(deployment_id).description is None

    client.delete_deployment(deployment_id)
    with pytest.raises(ObjectNotFound):
        client.read_deployment(deployment_id)
    with pytest.raises(ObjectNotFound):
        client.delete_deployment(deployment_id)
    with pytest.raises(ObjectNotFound):
        client.update_deployment(deployment_id, description="gone")


def test_same_name_updates_the_deployment(client: Any, unique: str) -> None:
    # the server upserts on (flow, name): no conflict, same id
    first = new_deployment(client, unique, version="1")
    second = new_deployment(client, unique, version="2")
    assert first == second
    assert client.read_deployment(first).version == "2"


def test_unknown_fields_are_named(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-flow")
    with pytest.raises(ValueError, match="bogus, colour"):
        client.create_deployment(flow_id, f"{unique}-dep", colour="red", bogus=1)
    deployment_id = client.create_deployment(flow_id, f"{unique}-dep")
    with pytest.raises(ValueError, match="unknown field.*nope"):
        client.update_deployment(deployment_id, nope=True)
    with pytest.raises(ValueError, match="no fields"):
        client.update_deployment(deployment_id)


def test_read_deployment_by_name(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique)
    found = client.read_deployment_by_name(f"{unique}-flow/{unique}-dep")
    assert found.id == deployment_id and found.name == f"{unique}-dep"
    for bad in ["no-slash", "a/b/c", "/dep", "flow/", ""]:
        with pytest.raises(ValueError, match="Expected format"):
            client.read_deployment_by_name(bad)
    with pytest.raises(ObjectNotFound):
        client.read_deployment_by_name(f"{unique}-flow/{unique}-missing")
    with pytest.raises(ObjectNotFound):
        client.read_deployment_by_name(f"{unique}-no-flow/{unique}-dep")


def test_pause_and_resume(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique)
    assert client.read_deployment(deployment_id).paused is False
    client.pause_deployment(str(deployment_id))
    assert client.read_deployment(deployment_id).paused is True
    client.resume_deployment(deployment_id)
    assert client.read_deployment(deployment_id).paused is False
    missing = uuid.uuid4()
    with pytest.raises(ObjectNotFound):
        client.pause_deployment(missing)
    with pytest.raises(ObjectNotFound):
        client.resume_deployment(missing)


# A schedule dict that fits no schedule type is refused before any request.
SCHEDULE_MISMATCH = r"\{'every': 5\} is none of CronSchedule \| IntervalScheduleInput"


def test_schedules_crud(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique, paused=True)
    assert client.read_deployment_schedules(deployment_id) == []
    created = client.create_deployment_schedules(
        deployment_id,
        [
            (IntervalScheduleInput(interval="PT1H"), True),
            ({"cron": "*/5 * * * *"}, False),
            ({"interval": datetime.timedelta(minutes=10)}, False),
        ],
    )
    assert all(isinstance(s, DeploymentSchedule) for s in created)
    assert [s.active for s in created] == [True, False, False]
    more = client.create_deployment_schedules(
        str(deployment_id),
        [
            DeploymentScheduleCreate(schedule=CronSchedule(cron="0 12 * * *"), slug=f"{unique}-a"),
            {"schedule": {"rrule": "FREQ=DAILY"}, "active": False},
        ],
    )
    assert [s.slug for s in more] == [f"{unique}-a", None]
    schedules = {s.id: s for s in client.read_deployment_schedules(deployment_id)}
    assert set(schedules) == {s.id for s in created + more}
    interval = schedules[created[0].id].schedule
    assert interval.interval in (3600, 3600.0, "PT1H")
    assert schedules[created[2].id].schedule.interval in (600, 600.0, "PT10M")

    cron_id = created[1].id
    client.update_deployment_schedule(deployment_id, cron_id, active=True)
    after = {s.id: s for s in client.read_deployment_schedules(deployment_id)}[cron_id]
    assert after.active is True and after.schedule.cron == "*/5 * * * *"
    client.update_deployment_schedule(
        str(deployment_id), str(cron_id), schedule=CronSchedule(cron="1 2 * * *")
    )
    after = {s.id: s for s in client.read_deployment_schedules(deployment_id)}[cron_id]
    assert after.active is True and after.schedule.cron == "1 2 * * *"

    client.delete_deployment_schedule(deployment_id, cron_id)
    remaining = {s.id for s in client.read_deployment_schedules(deployment_id)}
    assert cron_id not in remaining and len(remaining) == 4
    with pytest.raises(ObjectNotFound):
        client.delete_deployment_schedule(deployment_id, cron_id)
    with pytest.raises(ObjectNotFound):
        client.update_deployment_schedule(deployment_id, cron_id, active=False)
    with pytest.raises(ObjectNotFound):
        client.read_deployment_schedules(uuid.uuid4())
    with pytest.raises(ValueError, match="schedule pair"):
        client.create_deployment_schedules(deployment_id, [(CronSchedule(cron="* * * * *"),)])
    with pytest.raises(ValueError, match=SCHEDULE_MISMATCH):
        client.create_deployment_schedules(deployment_id, [({"every": 5}, True)])
    with pytest.raises(ValueError, match=SCHEDULE_MISMATCH):
        client.update_deployment_schedule(deployment_id, created[0].id, schedule={"every": 5})


def test_slug_conflict(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique, paused=True)
    schedule = CronSchedule(cron="0 0 * * *")
    client.create_deployment_schedules(deployment_id, [(schedule, True)], slug="daily")
    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_deployment_schedules(deployment_id, [(schedule, True)], slug="daily")
    assert [s.slug for s in client.read_deployment_schedules(deployment_id)] == ["daily"]


def test_filters_sort_iter_paginate(client: Any, unique: str) -> None:
    flow_a = client.create_flow_from_name(f"{unique}-fa")
    flow_b = client.create_flow_from_name(f"{unique}-fb")
    wanted = {client.create_deployment(flow_a, f"{unique}-d{i}", tags=["keep"]) for i in range(5)}
    tagged_decoy = client.create_deployment(flow_a, f"{unique}-x", tags=["other"])
    other_flow = client.create_deployment(flow_b, f"{unique}-d9", tags=["keep"])
    mine = {"name": {"like_": unique}}

    assert {d.id for d in client.read_deployments(deployment_filter=mine)} == (
        wanted | {tagged_decoy, other_flow}
    )
    by_flow_and_tag = client.read_deployments(
        flow_filter={"id": {"any_": [str(flow_a)]}},
        deployment_filter={"tags": {"all_": ["keep"]}, "name": {"like_": unique}},
    )
    assert {d.id for d in by_flow_and_tag} == wanted
    descending = client.read_deployments(deployment_filter=mine, sort="NAME_DESC")
    assert [d.name for d in descending] == sorted((d.name for d in descending), reverse=True)
    assert len(descending) == 7
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_deployments(sort="SIDEWAYS")

    small_pages(client, 2)  # 7 rows -> 4 requests
    everything = client.read_deployments(deployment_filter=mine, sort="NAME_ASC")
    assert len(everything) == 7 and len({d.id for d in everything}) == 7
    assert [d.name for d in everything] == sorted(d.name for d in everything)
    assert len(client.read_deployments(deployment_filter=mine, limit=5)) == 5
    assert len(client.read_deployments(deployment_filter=mine, offset=3)) == 4
    iterated = [d.id for d in client.iter_deployments(deployment_filter=mine)]
    assert len(iterated) == 7 and set(iterated) == wanted | {tagged_decoy, other_flow}

    page = client.paginate_deployments(page=2, limit=3, deployment_filter=mine, sort="NAME_ASC")
    assert isinstance(page, DeploymentPaginationResponse)
    assert (page.page, page.pages, page.count, len(page.results)) == (2, 3, 7, 3)
    assert [d.name for d in page.results] == [d.name for d in everything[3:6]]


def test_create_flow_run_from_deployment_is_idempotent(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique, parameters={"x": 1, "y": 2}, tags=["dep"])
    run = client.create_flow_run_from_deployment(
        deployment_id,
        parameters={"y": 3},
        tags=["run"],
        name=f"{unique}-run",
        idempotency_key=f"{unique}-key",
    )
    assert isinstance(run, FlowRunResponse)
    assert run.deployment_id == deployment_id and run.name == f"{unique}-run"
    assert run.parameters.to_dict() == {"x": 1, "y": 3}
    assert set(run.tags) >= {"dep", "run"}
    assert run.state_type is not None and run.state_type.value == "SCHEDULED"
    again = client.create_flow_run_from_deployment(
        str(deployment_id), idempotency_key=f"{unique}-key"
    )
    assert again.id == run.id
    other = client.create_flow_run_from_deployment(deployment_id, idempotency_key=f"{unique}-k2")
    assert other.id != run.id
    pending = client.create_flow_run_from_deployment(deployment_id, state=states.Pending())
    assert pending.state_type.value == "PENDING" and pending.id not in (run.id, other.id)
    # Without a key of the caller's, the SDK sent one of its own (and another for each call).
    assert pending.idempotency_key.startswith("prefect-sdk-")
    keyless = client.create_flow_run_from_deployment(deployment_id)
    assert keyless.id != pending.id
    assert keyless.idempotency_key.startswith("prefect-sdk-")
    assert keyless.idempotency_key != pending.idempotency_key
    assert run.idempotency_key == f"{unique}-key"  # the caller's own key wins
    with pytest.raises(ObjectNotFound):
        client.create_flow_run_from_deployment(uuid.uuid4())


def test_get_scheduled_flow_runs_for_deployments(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-flow")
    first = client.create_deployment(flow_id, f"{unique}-one")
    second = client.create_deployment(flow_id, f"{unique}-two")
    decoy = client.create_deployment(flow_id, f"{unique}-decoy")
    past = NOW - datetime.timedelta(minutes=5)
    future = NOW + datetime.timedelta(days=1)
    due = {
        client.create_flow_run_from_deployment(d, state=states.Scheduled(past)).id
        for d in (first, second)
    }
    later = client.create_flow_run_from_deployment(first, state=states.Scheduled(future)).id
    client.create_flow_run_from_deployment(decoy, state=states.Scheduled(past))

    runs = client.get_scheduled_flow_runs_for_deployments([first, str(second)])
    assert {r.id for r in runs} == due | {later}
    before = client.get_scheduled_flow_runs_for_deployments(
        [first, second], scheduled_before=NOW + datetime.timedelta(minutes=1)
    )
    assert {r.id for r in before} == due
    assert len(client.get_scheduled_flow_runs_for_deployments([first, second], limit=1)) == 1
    with pytest.raises(ValueError, match="deployment_ids must be a UUID"):
        client.get_scheduled_flow_runs_for_deployments(["nope"])


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_ids_raise_before_any_request(client: Any, bad: object) -> None:
    some = uuid.uuid4()
    calls = [
        lambda: client.read_deployment(bad),
        lambda: client.delete_deployment(bad),
        lambda: client.update_deployment(bad, description="x"),
        lambda: client.pause_deployment(bad),
        lambda: client.resume_deployment(bad),
        lambda: client.read_deployment_schedules(bad),
        lambda: client.create_deployment_schedules(bad, []),
        lambda: client.delete_deployment_schedule(bad, some),
        lambda: client.create_flow_run_from_deployment(bad),
    ]
    for attempt in calls:
        with pytest.raises(ValueError, match="deployment_id must be a UUID"):
            attempt()
    with pytest.raises(ValueError, match="flow_id must be a UUID"):
        client.create_deployment(bad, "name")
    with pytest.raises(ValueError, match="schedule_id must be a UUID"):
        client.update_deployment_schedule(some, bad, active=True)
    with pytest.raises(ValueError, match="parent_task_run_id must be a UUID"):
        client.create_flow_run_from_deployment(some, parent_task_run_id=bad or "x")


def test_update_of_one_field_leaves_a_paused_deployment_paused(client: Any, unique: str) -> None:
    """DeploymentUpdate's `paused` default (false) is not sent: an update of the tags, by model
    or by keyword, does not un-pause the deployment (normalize: drop_defaults_of_partial_updates)."""
    from prefect_api.models import DeploymentUpdate

    deployment_id = new_deployment(client, unique, description="before")
    client.pause_deployment(deployment_id)
    client.update_deployment(deployment_id, DeploymentUpdate(tags=["after"]))
    client.update_deployment(deployment_id, description="after")
    deployment = client.read_deployment(deployment_id)
    assert deployment.paused is True
    assert deployment.tags == ["after"] and deployment.description == "after"
