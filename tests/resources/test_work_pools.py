"""Work pool, work queue and worker methods on both clients, against the real server."""

from __future__ import annotations

import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import pytest

from prefect_api.models import (
    FlowRunResponse,
    WorkerFlowRunResponse,
    WorkerResponse,
    WorkPoolCreate,
    WorkPoolResponse,
    WorkPoolUpdate,
    WorkQueueResponse,
    WorkQueueStatusDetail,
)
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound, SyncPrefectClient, states
from tests.resources.conftest import BlockingAsyncClient

NOW = datetime.datetime.now(datetime.timezone.utc)


def small_pages(client: Any, size: int) -> None:
    """Make the client's paging reads ask for `size` rows at a time (exercises many pages)."""
    target = client.client if isinstance(client, BlockingAsyncClient) else client
    target.page_size = size


def new_pool(client: Any, name: str, **fields: Any) -> WorkPoolResponse:
    pool: WorkPoolResponse = client.create_work_pool({"name": name, "type": "process", **fields})
    return pool


def test_work_pool_crud(client: Any, unique: str) -> None:
    pool = client.create_work_pool(
        WorkPoolCreate(name=f"{unique}-pool", type_="process", description="first")
    )
    assert isinstance(pool, WorkPoolResponse)
    assert (pool.name, pool.type_, pool.description) == (f"{unique}-pool", "process", "first")
    read = client.read_work_pool(f"{unique}-pool")
    assert read.id == pool.id and read.is_paused is False

    client.update_work_pool(f"{unique}-pool", {"concurrency_limit": 5})
    client.update_work_pool(f"{unique}-pool", WorkPoolUpdate(is_paused=True))
    read = client.read_work_pool(f"{unique}-pool")
    # only what was given changed
    assert (read.concurrency_limit, read.is_paused, read.description) == (5, True, "first")

    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_work_pool({"name": f"{unique}-pool", "type": "process"})
    with pytest.warns(UserWarning, match="type is not supported"):
        overwritten = client.create_work_pool(
            {"name": f"{unique}-pool", "type": "kubernetes", "description": "second"},
            overwrite=True,
        )
    assert overwritten.id == pool.id
    assert (overwritten.description, overwritten.type_) == ("second", "process")

    client.delete_work_pool(f"{unique}-pool")
    with pytest.raises(ObjectNotFound):
        client.read_work_pool(f"{unique}-pool")
    with pytest.raises(ObjectNotFound):
        client.delete_work_pool(f"{unique}-pool")
    with pytest.raises(ObjectNotFound):
        client.update_work_pool(f"{unique}-pool", {"description": "gone"})
    with pytest.raises(ValueError, match="unknown field.*colour"):
        client.update_work_pool(f"{unique}-pool", {"colour": "red"})
    with pytest.raises(ValueError, match=r"work_pool must be a .*WorkPoolCreate, a dict"):
        client.create_work_pool(42)


def test_read_and_iter_work_pools(client: Any, unique: str) -> None:
    wanted = {new_pool(client, f"{unique}-p{i}").id for i in range(5)}
    new_pool(client, f"{unique}-decoy")
    names = [f"{unique}-p{i}" for i in range(5)] + [f"{unique}-missing"]
    only_mine = {"name": {"any_": names}}
    assert {p.id for p in client.read_work_pools(work_pool_filter=only_mine)} == wanted
    small_pages(client, 2)  # 5 rows -> 3 requests
    assert {p.id for p in client.read_work_pools(work_pool_filter=only_mine)} == wanted
    assert len(client.read_work_pools(work_pool_filter=only_mine, limit=3)) == 3
    assert len(client.read_work_pools(work_pool_filter=only_mine, offset=4)) == 1
    iterated = [p.id for p in client.iter_work_pools(work_pool_filter=only_mine)]
    assert len(iterated) == 5 and set(iterated) == wanted
    everything = {p.name for p in client.read_work_pools()}
    assert f"{unique}-decoy" in everything and set(names[:5]) <= everything


def test_workers(client: Any, unique: str) -> None:
    new_pool(client, f"{unique}-pool")
    new_pool(client, f"{unique}-other")
    for i in range(3):
        client.send_worker_heartbeat(
            f"{unique}-pool", f"{unique}-w{i}", heartbeat_interval_seconds=30
        )
    client.send_worker_heartbeat(f"{unique}-other", f"{unique}-decoy")
    client.send_worker_heartbeat(f"{unique}-pool", f"{unique}-w0")  # a second beat: no new row

    workers = client.read_workers_for_work_pool(f"{unique}-pool")
    assert all(isinstance(w, WorkerResponse) for w in workers)
    assert sorted(w.name for w in workers) == [f"{unique}-w{i}" for i in range(3)]
    assert {w.heartbeat_interval_seconds for w in workers} == {30}
    online = client.read_workers_for_work_pool(
        f"{unique}-pool", worker_filter={"status": {"any_": ["ONLINE"]}}
    )
    assert len(online) == 3
    offline = client.read_workers_for_work_pool(
        f"{unique}-pool", worker_filter={"status": {"any_": ["OFFLINE"]}}
    )
    assert offline == []
    small_pages(client, 2)
    assert len(client.read_workers_for_work_pool(f"{unique}-pool")) == 3
    assert len(client.read_workers_for_work_pool(f"{unique}-pool", limit=2)) == 2
    assert len(client.read_workers_for_work_pool(f"{unique}-pool", offset=1)) == 2
    assert len(list(client.iter_workers_for_work_pool(f"{unique}-pool"))) == 3
    with pytest.raises(ObjectNotFound):
        client.send_worker_heartbeat(f"{unique}-missing", "w")


def test_work_queue_crud(client: Any, unique: str) -> None:
    new_pool(client, f"{unique}-pool")
    queue = client.create_work_queue(
        f"{unique}-q",
        description="first",
        priority=2,
        concurrency_limit=4,
        work_pool_name=f"{unique}-pool",
    )
    assert isinstance(queue, WorkQueueResponse)
    assert (queue.name, queue.description, queue.priority, queue.concurrency_limit) == (
        f"{unique}-q",
        "first",
        2,
        4,
    )
    assert queue.work_pool_name == f"{unique}-pool" and queue.is_paused is False
    assert client.read_work_queue(str(queue.id)).name == f"{unique}-q"
    assert client.read_work_queue_by_name(f"{unique}-q", work_pool_name=f"{unique}-pool").id == (
        queue.id
    )
    with pytest.raises(ObjectAlreadyExists):
        client.create_work_queue(f"{unique}-q", work_pool_name=f"{unique}-pool")
    with pytest.raises(ObjectNotFound):
        client.create_work_queue(f"{unique}-q", work_pool_name=f"{unique}-missing")
    # by name without a pool means the default pool (once it exists: make sure it does)
    client.create_work_queue(f"{unique}-in-default")
    with pytest.raises(ObjectNotFound):
        client.read_work_queue_by_name(f"{unique}-q")

    client.update_work_queue(queue.id, is_paused=True)
    # only what is given is sent: a new description must not unpause the queue
    client.update_work_queue(str(queue.id), description="second", name=f"{unique}-renamed")
    updated = client.read_work_queue(queue.id)
    assert (updated.name, updated.description, updated.is_paused, updated.priority) == (
        f"{unique}-renamed",
        "second",
        True,
        2,
    )
    client.update_work_queue(queue.id, concurrency_limit=None)
    assert client.read_work_queue(queue.id).concurrency_limit is None
    with pytest.raises(ValueError, match="No fields"):
        client.update_work_queue(queue.id)
    with pytest.raises(ValueError, match="unknown field.*colour"):
        client.update_work_queue(queue.id, colour="red")

    status = client.read_work_queue_status(queue.id)
    assert isinstance(status, WorkQueueStatusDetail) and status.late_runs_count == 0

    client.delete_work_queue_by_id(queue.id)
    with pytest.raises(ObjectNotFound):
        client.read_work_queue(queue.id)
    with pytest.raises(ObjectNotFound):
        client.delete_work_queue_by_id(queue.id)
    with pytest.raises(ObjectNotFound):
        client.update_work_queue(queue.id, description="gone")
    with pytest.raises(ObjectNotFound):
        client.read_work_queue_status(queue.id)


def test_work_queue_in_default_pool(client: Any, unique: str) -> None:
    queue = client.create_work_queue(f"{unique}-dq", is_paused=True)
    assert queue.is_paused is True and queue.work_pool_name
    assert client.read_work_queue_by_name(f"{unique}-dq").id == queue.id
    assert client.read_work_queue_by_name(f"{unique}-dq", queue.work_pool_name).id == queue.id
    with pytest.raises(ObjectAlreadyExists):
        client.create_work_queue(f"{unique}-dq")
    client.delete_work_queue_by_id(queue.id)
    with pytest.raises(ObjectNotFound):
        client.read_work_queue_by_name(f"{unique}-dq")


def test_read_and_iter_work_queues(client: Any, unique: str) -> None:
    new_pool(client, f"{unique}-pool")
    new_pool(client, f"{unique}-other")
    in_pool = {
        client.create_work_queue(f"{unique}-q{i}", work_pool_name=f"{unique}-pool").id
        for i in range(4)
    }
    elsewhere = client.create_work_queue(f"{unique}-q9", work_pool_name=f"{unique}-other").id
    mine = {"name": {"startswith_": [unique]}}
    # the pool also has its "default" queue
    pool_rows = client.read_work_queues(f"{unique}-pool")
    assert in_pool <= {q.id for q in pool_rows} and elsewhere not in {q.id for q in pool_rows}
    assert {q.id for q in client.read_work_queues(f"{unique}-pool", mine)} == in_pool
    assert {q.id for q in client.read_work_queues(work_queue_filter=mine)} == in_pool | {elsewhere}

    small_pages(client, 2)
    rows = client.read_work_queues(work_pool_name=f"{unique}-pool", work_queue_filter=mine)
    assert [q.name for q in rows] == [f"{unique}-q{i}" for i in range(4)]
    assert len(client.read_work_queues(work_queue_filter=mine, limit=3)) == 3
    assert [q.name for q in client.read_work_queues(work_queue_filter=mine, offset=3)] == [
        f"{unique}-q3",
        f"{unique}-q9",
    ]
    iterated = [q.id for q in client.iter_work_queues(work_queue_filter=mine)]
    assert len(iterated) == 5 and set(iterated) == in_pool | {elsewhere}
    assert {q.id for q in client.iter_work_queues(f"{unique}-pool", mine)} == in_pool
    with pytest.raises(ObjectNotFound):
        client.read_work_queues(f"{unique}-missing")


class MatchQueues(NamedTuple):
    prefix: str
    pool: str
    in_pool: set[uuid.UUID]
    in_default: set[uuid.UUID]
    other: uuid.UUID
    underscored: uuid.UUID


@pytest.fixture(scope="module")
def match_queues(api_url: str) -> MatchQueues:
    """210 queues "<prefix>-match-NNN" in a pool, 205 "<prefix>-match-dNNN" in the default pool,
    and decoys; made once for both clients, four at a time."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    pool = f"{prefix}-pool"
    with SyncPrefectClient(api_url) as setup:
        setup.create_work_pool({"name": pool, "type": "process"})
        names = [(f"{prefix}-match-{i:03d}", pool) for i in range(210)]
        names += [(f"{prefix}-match-d{i:03d}", None) for i in range(205)]
        # decoys: the prefix not at the start, other prefixes, an ILIKE wildcard look-alike
        names += [(f"x-{prefix}-match", pool), (f"x-{prefix}-match-d", None)]
        names += [(f"{prefix}-other", pool), (f"{prefix}-other-d", None), (f"{prefix}_mark", pool)]

        def create(name_and_pool: tuple[str, str | None]) -> WorkQueueResponse:
            name, work_pool_name = name_and_pool
            queue: WorkQueueResponse = setup.create_work_queue(name, work_pool_name=work_pool_name)
            return queue

        with ThreadPoolExecutor(4) as pool_of_threads:
            queues = {q.name: q.id for q in pool_of_threads.map(create, names)}
    return MatchQueues(
        prefix=prefix,
        pool=pool,
        in_pool={queues[f"{prefix}-match-{i:03d}"] for i in range(210)},
        in_default={queues[f"{prefix}-match-d{i:03d}"] for i in range(205)},
        other=queues[f"{prefix}-other"],
        underscored=queues[f"{prefix}_mark"],
    )


def test_match_work_queues_past_the_server_cap(client: Any, match_queues: MatchQueues) -> None:
    prefix, pool = match_queues.prefix, match_queues.pool
    matched = client.match_work_queues([f"{prefix}-match"], work_pool_name=pool)
    assert all(isinstance(q, WorkQueueResponse) for q in matched)
    assert len(matched) == 210 and {q.id for q in matched} == match_queues.in_pool
    default_pool = client.match_work_queues([f"{prefix}-match-d"])
    assert len(default_pool) == 205 and {q.id for q in default_pool} == match_queues.in_default
    everywhere = client.match_work_queues([f"{prefix}-match"])
    assert len(everywhere) == 415
    assert {q.id for q in everywhere} == match_queues.in_pool | match_queues.in_default

    # several prefixes, overlapping: each queue once
    several = client.match_work_queues(
        [f"{prefix}-match-0", f"{prefix}-match-00", f"{prefix}-other"], work_pool_name=pool
    )
    assert len(several) == 101 and match_queues.other in {q.id for q in several}
    # case-insensitive, like the server's startswith_
    upper = client.match_work_queues([f"{prefix.upper()}-MATCH-00"], pool)
    assert sorted(q.name for q in upper) == [f"{prefix}-match-{i:03d}" for i in range(10)]
    # "_" is a wildcard to the server's ILIKE, but only a true prefix matches
    assert [q.id for q in client.match_work_queues([f"{prefix}_m"], pool)] == [
        match_queues.underscored
    ]
    assert client.match_work_queues([], pool) == []
    assert client.match_work_queues([f"{prefix}-nothing"]) == []
    with pytest.raises(ValueError, match="prefixes must be a list"):
        client.match_work_queues(f"{prefix}-match")


def test_runs_from_pools_and_queues(client: Any, unique: str) -> None:
    pool = f"{unique}-pool"
    new_pool(client, pool)
    queue = client.create_work_queue(f"{unique}-q", work_pool_name=pool)
    other_queue = client.create_work_queue(f"{unique}-q2", work_pool_name=pool)
    flow_id = client.create_flow_from_name(f"{unique}-flow")
    deployment_id = client.create_deployment(
        flow_id, f"{unique}-dep", work_pool_name=pool, work_queue_name=queue.name
    )
    past = NOW - datetime.timedelta(minutes=5)
    due = client.create_flow_run_from_deployment(deployment_id, state=states.Scheduled(past))
    later = client.create_flow_run_from_deployment(
        deployment_id, state=states.Scheduled(NOW + datetime.timedelta(days=1))
    )
    elsewhere = client.create_flow_run_from_deployment(
        deployment_id, state=states.Scheduled(past), work_queue_name=other_queue.name
    )
    assert due.work_queue_name == queue.name and elsewhere.work_queue_name == other_queue.name

    waiting = client.get_runs_in_work_queue(queue.id)
    assert all(isinstance(r, FlowRunResponse) for r in waiting)
    assert {r.id for r in waiting} == {due.id}  # `later` is not due yet
    upcoming = client.get_runs_in_work_queue(
        str(queue.id), scheduled_before=NOW + datetime.timedelta(days=2)
    )
    assert {r.id for r in upcoming} == {due.id, later.id}
    end = NOW + datetime.timedelta(days=2)
    assert len(client.get_runs_in_work_queue(queue.id, limit=1, scheduled_before=end)) == 1

    scheduled = client.get_scheduled_flow_runs_for_work_pool(pool)
    assert all(isinstance(r, WorkerFlowRunResponse) for r in scheduled)
    assert {r.flow_run.id for r in scheduled} == {due.id, later.id, elsewhere.id}
    due_now = client.get_scheduled_flow_runs_for_work_pool(pool, scheduled_before=NOW)
    assert {r.flow_run.id for r in due_now} == {due.id, elsewhere.id}
    only_first = client.get_scheduled_flow_runs_for_work_pool(
        pool, work_queue_names=[queue.name], scheduled_before=NOW
    )
    assert {r.flow_run.id for r in only_first} == {due.id}
    assert {r.work_queue_id for r in only_first} == {queue.id}
    with pytest.raises(ObjectNotFound):
        client.get_scheduled_flow_runs_for_work_pool(f"{unique}-missing")
    with pytest.raises(ObjectNotFound):
        client.get_runs_in_work_queue(uuid.uuid4())


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_ids_raise_before_any_request(client: Any, bad: object) -> None:
    calls = [
        lambda: client.read_work_queue(bad),
        lambda: client.update_work_queue(bad, description="x"),
        lambda: client.delete_work_queue_by_id(bad),
        lambda: client.get_runs_in_work_queue(bad),
        lambda: client.read_work_queue_status(bad),
    ]
    for attempt in calls:
        with pytest.raises(ValueError, match="id must be a UUID"):
            attempt()
    if not isinstance(bad, str):
        with pytest.raises(ValueError, match="work_pool_name must be a non-empty string"):
            client.read_work_pool(bad)


def test_update_of_one_field_leaves_a_paused_queue_paused(client: Any, unique: str) -> None:
    """WorkQueueUpdate's `is_paused` default (false) is not sent with another field."""
    queue = client.create_work_queue(f"{unique}-paused-queue")
    client.update_work_queue(queue.id, is_paused=True)
    client.update_work_queue(queue.id, description="changed")
    read = client.read_work_queue(queue.id)
    assert read.is_paused is True and read.description == "changed"
