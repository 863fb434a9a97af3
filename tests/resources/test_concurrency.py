"""Tag and global concurrency limit methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from prefect_api.models import (
    ConcurrencyLimit,
    ConcurrencyLimitV2Create,
    GlobalConcurrencyLimitResponse,
    MinimalConcurrencyLimitResponse,
)
from prefect_sdk import (
    ObjectAlreadyExists,
    ObjectNotFound,
    PrefectHTTPStatusError,
    SyncPrefectClient,
)


def test_tag_limit_create_read_reset_delete(client: Any, unique: str) -> None:
    tag = f"{unique}-db"
    limit_id = client.create_concurrency_limit(tag, 3)
    assert isinstance(limit_id, uuid.UUID)
    read = client.read_concurrency_limit_by_tag(tag)
    assert isinstance(read, ConcurrencyLimit)
    assert (read.id, read.tag, read.concurrency_limit, read.active_slots) == (limit_id, tag, 3, [])
    # creating again sets the limit of the existing one
    assert client.create_concurrency_limit(tag, 5) == limit_id
    assert client.read_concurrency_limit_by_tag(tag).concurrency_limit == 5

    client.create_concurrency_limit(f"{unique}-other", 1)
    listed = {
        row.tag: row for row in client.read_concurrency_limits() if row.tag.startswith(unique)
    }
    assert set(listed) == {tag, f"{unique}-other"} and listed[tag].id == limit_id
    iterated = [row.tag for row in client.iter_concurrency_limits() if row.tag.startswith(unique)]
    assert sorted(iterated) == sorted(listed)

    holders = [uuid.uuid4(), str(uuid.uuid4())]
    client.reset_concurrency_limit_by_tag(tag, slot_override=holders)
    held = client.read_concurrency_limit_by_tag(tag).active_slots
    assert sorted(map(str, held)) == sorted(map(str, holders))
    client.reset_concurrency_limit_by_tag(tag)
    assert client.read_concurrency_limit_by_tag(tag).active_slots == []

    client.delete_concurrency_limit_by_tag(tag)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_concurrency_limit_by_tag(tag)
    with pytest.raises(ObjectNotFound):
        client.delete_concurrency_limit_by_tag(tag)
    with pytest.raises(ObjectNotFound):
        client.reset_concurrency_limit_by_tag(tag)


def test_global_limit_create_read_update_delete(client: Any, unique: str) -> None:
    name = f"zz-{unique}-api"
    limit_id = client.create_global_concurrency_limit({"name": name, "limit": 2})
    assert isinstance(limit_id, uuid.UUID)
    read = client.read_global_concurrency_limit_by_name(name)
    assert isinstance(read, GlobalConcurrencyLimitResponse)
    assert (read.id, read.limit, read.active_slots, read.active) == (limit_id, 2, 0, True)
    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_global_concurrency_limit(ConcurrencyLimitV2Create(name=name, limit=9))

    # only the given fields are sent
    client.update_global_concurrency_limit(name, {"limit": 4})
    client.update_global_concurrency_limit(name, {"active": False})
    updated = client.read_global_concurrency_limit_by_name(name)
    assert (updated.limit, updated.active) == (4, False)
    with pytest.raises(ValueError, match="does not know"):
        client.update_global_concurrency_limit(name, {"limt": 5})

    client.delete_global_concurrency_limit_by_name(name)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_global_concurrency_limit_by_name(name)
    with pytest.raises(ObjectNotFound):
        client.update_global_concurrency_limit(name, {"limit": 1})
    with pytest.raises(ObjectNotFound):
        client.delete_global_concurrency_limit_by_name(name)


def test_upsert_creates_then_updates(client: Any, unique: str) -> None:
    name = f"zz-{unique}-upsert"
    with pytest.raises(ObjectNotFound):
        client.read_global_concurrency_limit_by_name(name)
    client.upsert_global_concurrency_limit_by_name(name, 3)
    created = client.read_global_concurrency_limit_by_name(name)
    assert created.limit == 3
    client.upsert_global_concurrency_limit_by_name(name, 7)
    updated = client.read_global_concurrency_limit_by_name(name)
    assert (updated.id, updated.limit) == (created.id, 7)
    client.upsert_global_concurrency_limit_by_name(name, 7, slot_decay_per_second=0.5)
    assert client.read_global_concurrency_limit_by_name(name).slot_decay_per_second == 0.5
    client.delete_global_concurrency_limit_by_name(name)


def test_slots_are_taken_and_released(client: Any, unique: str) -> None:
    first, second = f"zz-{unique}-a", f"zz-{unique}-b"
    client.create_global_concurrency_limit({"name": first, "limit": 2})
    client.create_global_concurrency_limit({"name": second, "limit": 5})

    taken = client.increment_concurrency_slots([first, second], slots=1)
    assert all(isinstance(row, MinimalConcurrencyLimitResponse) for row in taken)
    assert {row.name for row in taken} == {first, second}
    assert client.read_global_concurrency_limit_by_name(first).active_slots == 1
    client.increment_concurrency_slots([first], 1, "concurrency")
    assert client.read_global_concurrency_limit_by_name(first).active_slots == 2
    with pytest.raises(PrefectHTTPStatusError, match="423"):
        client.increment_concurrency_slots([first], 1)
    with pytest.raises(PrefectHTTPStatusError, match="422"):
        # rate limiting needs a limit with slot decay
        client.increment_concurrency_slots([second], 1, mode="rate_limit")

    released = client.release_concurrency_slots([first, second], 1, occupancy_seconds=0.5)
    assert {row.name for row in released} == {first, second}
    assert client.read_global_concurrency_limit_by_name(first).active_slots == 1
    assert client.read_global_concurrency_limit_by_name(second).active_slots == 0
    client.release_concurrency_slots([first], slots=1, occupancy_seconds=0.5)
    assert client.read_global_concurrency_limit_by_name(first).active_slots == 0

    lease = client.increment_concurrency_slots_with_lease(
        [second], 2, lease_duration=60, holder={"type": "flow_run", "id": str(uuid.uuid4())}
    )
    assert [row.name for row in lease.limits] == [second]
    assert client.read_global_concurrency_limit_by_name(second).active_slots == 2
    client.renew_concurrency_lease(str(lease.lease_id), lease_duration=120)
    client.release_concurrency_slots_with_lease(lease.lease_id)
    assert client.read_global_concurrency_limit_by_name(second).active_slots == 0
    with pytest.raises(PrefectHTTPStatusError, match="410"):
        client.renew_concurrency_lease(lease.lease_id, lease_duration=60)

    client.delete_global_concurrency_limit_by_name(first)
    client.delete_global_concurrency_limit_by_name(second)


def test_bad_arguments_raise_before_any_request(client: Any) -> None:
    with pytest.raises(ValueError, match="names must be a non-empty list"):
        client.increment_concurrency_slots("one-name", 1)
    with pytest.raises(ValueError, match="names must be a non-empty list"):
        client.release_concurrency_slots([], 1, 1.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        client.increment_concurrency_slots(["x"], 1, mode="sometimes")
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        client.read_global_concurrency_limit_by_name("")
    with pytest.raises(ValueError, match="tag must be a non-empty string"):
        client.delete_concurrency_limit_by_tag(None)
    with pytest.raises(ValueError, match="concurrency_limit is not a valid"):
        client.create_global_concurrency_limit({"limit": 1})


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_ids_raise_before_any_request(client: Any, bad: object) -> None:
    with pytest.raises(ValueError, match="lease_id must be a UUID"):
        client.renew_concurrency_lease(bad, 60)
    with pytest.raises(ValueError, match="lease_id must be a UUID"):
        client.release_concurrency_slots_with_lease(bad)
    with pytest.raises(ValueError, match="each of slot_override must be a UUID"):
        client.reset_concurrency_limit_by_tag("some-tag", slot_override=[bad])


@pytest.fixture(scope="module")
def many_global_limits(api_url: str) -> Iterator[set[uuid.UUID]]:
    """205 global limits, made once for both clients' paging test and deleted after.

    Named `zz-...` so that they sort after the `tag:` limits the tag-limit routes page over.
    """
    unique = f"t{uuid.uuid4().hex[:10]}"
    names = [f"zz-{unique}-{i:03d}" for i in range(205)]
    with SyncPrefectClient(api_url) as client:
        created = {
            client.create_global_concurrency_limit({"name": name, "limit": 1}) for name in names
        }
        yield created
        for name in names:
            client.delete_global_concurrency_limit_by_name(name)


def test_paging_global_limits_past_the_server_cap(
    client: Any, many_global_limits: set[uuid.UUID]
) -> None:
    everything = [row.id for row in client.read_global_concurrency_limits()]
    assert len(everything) == len(set(everything)) and many_global_limits <= set(everything)
    iterated = [row.id for row in client.iter_global_concurrency_limits()]
    assert iterated == everything
    limited = client.read_global_concurrency_limits(limit=203)
    assert [row.id for row in limited] == everything[:203]
    skipped = client.read_global_concurrency_limits(offset=200)
    assert [row.id for row in skipped] == everything[200:]
    assert [row.id for row in client.read_global_concurrency_limits(3, 201)] == everything[201:204]


def test_server_hides_tag_limits_behind_200_earlier_global_limits(api_url: str) -> None:
    """Prefect 3.8.8's tag-limit list route reads the first offset+limit global limits by name
    and keeps the `tag:` ones, so 200 names sorting before `tag:` hide every tag limit on
    every page (the README says so, and how to list them anyway). Server behaviour: if an
    upgrade fixes it, this test fails and the README paragraph can go."""
    unique = f"t{uuid.uuid4().hex[:10]}"
    tag = f"{unique}-hidden"
    early = [f"a-{unique}-{i:03d}" for i in range(200)]
    with SyncPrefectClient(api_url) as client:
        client.create_concurrency_limit(tag, 2)
        assert tag in {row.tag for row in client.read_concurrency_limits()}
        made: list[str] = []
        try:
            for name in early:
                client.create_global_concurrency_limit({"name": name, "limit": 1})
                made.append(name)
            assert tag not in {row.tag for row in client.read_concurrency_limits()}
            assert tag not in {row.tag for row in client.iter_concurrency_limits(offset=10)}
            # the ways around it
            assert client.read_concurrency_limit_by_tag(tag).concurrency_limit == 2
            names = {row.name for row in client.read_global_concurrency_limits()}
            assert f"tag:{tag}" in names
        finally:
            for name in made:
                client.delete_global_concurrency_limit_by_name(name)
        # without them, the route shows the tag limit again
        assert tag in {row.tag for row in client.read_concurrency_limits()}
        client.delete_concurrency_limit_by_tag(tag)
