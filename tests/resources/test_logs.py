"""Log methods on both clients, against the real server; and how a batch is cut into requests."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest

from prefect_api.models import Log, LogCreate
from prefect_sdk._resources.logs import MAX_LOGS_PER_REQUEST, MAX_REQUEST_BYTES, log_batches

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def new_flow_run(client: Any, unique: str) -> uuid.UUID:
    run_id: uuid.UUID = client.create_flow_run(client.create_flow_from_name(f"{unique}-f")).id
    return run_id


def log_dict(flow_run_id: uuid.UUID, i: int, **extra: Any) -> dict[str, Any]:
    """A log in its JSON form; the i-th one of a run is i milliseconds after START."""
    return {
        "name": "prefect.test",
        "level": 20,
        "message": f"message {i}",
        "timestamp": (START + datetime.timedelta(milliseconds=i)).isoformat(),
        "flow_run_id": str(flow_run_id),
        **extra,
    }


def for_run(flow_run_id: uuid.UUID) -> dict[str, Any]:
    return {"flow_run_id": {"any_": [str(flow_run_id)]}}


def test_ten_thousand_logs_stored_whole(client: Any, unique: str) -> None:
    run_id, decoy_id = new_flow_run(client, unique), new_flow_run(client, f"{unique}-decoy")
    # half models, half dicts, in one call
    logs: list[Any] = [
        LogCreate.from_dict(log_dict(run_id, i)) if i % 2 else log_dict(run_id, i)
        for i in range(10_000)
    ]
    client.create_logs(logs)
    client.create_logs([log_dict(decoy_id, i) for i in range(3)])

    stored = client.read_logs(log_filter=for_run(run_id))
    assert len(stored) == 10_000 and all(isinstance(log, Log) for log in stored)
    assert [log.message for log in stored] == [f"message {i}" for i in range(10_000)]
    assert {log.flow_run_id for log in stored} == {run_id}
    iterated = list(client.iter_logs(log_filter=for_run(run_id), sort="TIMESTAMP_DESC"))
    assert len(iterated) == len({log.id for log in iterated}) == 10_000
    assert iterated[0].message == "message 9999" and iterated[-1].message == "message 0"


def test_read_logs_filters_and_slices(client: Any, unique: str) -> None:
    run_id = new_flow_run(client, unique)
    task_run_id = client.create_task_run(f"{unique}-t", run_id, "0").id
    client.create_logs(
        [log_dict(run_id, i, level=10 if i % 2 else 40) for i in range(10)]
        + [log_dict(run_id, 100, task_run_id=str(task_run_id))]
    )
    assert len(client.read_logs(log_filter=for_run(run_id))) == 11
    errors = client.read_logs(log_filter={**for_run(run_id), "level": {"ge_": 40}})
    assert [log.message for log in errors] == [f"message {i}" for i in range(0, 10, 2)]
    of_task = client.read_logs(log_filter={"task_run_id": {"any_": [str(task_run_id)]}})
    assert [log.message for log in of_task] == ["message 100"]
    window = client.read_logs(log_filter=for_run(run_id), limit=3, offset=2)
    assert [log.message for log in window] == ["message 2", "message 3", "message 4"]
    newest = client.read_logs(log_filter=for_run(run_id), limit=2, sort="TIMESTAMP_DESC")
    assert [log.message for log in newest] == ["message 100", "message 9"]
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_logs(sort="SIDEWAYS")


def test_invalid_log_sends_nothing(client: Any, unique: str) -> None:
    run_id = new_flow_run(client, unique)
    good = [log_dict(run_id, i) for i in range(1_500)]
    bad = {"name": "x", "level": "not a level"}  # no message nor timestamp
    with pytest.raises(ValueError, match=r"logs\[1500\] is not a valid LogCreate"):
        client.create_logs([*good, bad])
    assert client.read_logs(log_filter=for_run(run_id)) == []
    with pytest.raises(ValueError, match="logs must be an iterable"):
        client.create_logs(log_dict(run_id, 0))
    client.create_logs(iter(good))  # any iterable will do
    assert len(client.read_logs(log_filter=for_run(run_id))) == 1_500


def test_batches_split_by_count_and_bytes() -> None:
    run_id = uuid.uuid4()
    logs = [LogCreate.from_dict(log_dict(run_id, i)) for i in range(2_500)]
    batches = list(log_batches(logs))
    assert [len(batch) for batch in batches] == [MAX_LOGS_PER_REQUEST] * 2 + [500]
    assert [log for batch in batches for log in batch] == logs

    big = [LogCreate.from_dict(log_dict(run_id, i, message="é" * 50_000)) for i in range(60)]
    batches = list(log_batches(big))
    assert len(batches) > 1 and [log for batch in batches for log in batch] == big
    for batch in batches:
        sent = json.dumps([log.to_dict() for log in batch], ensure_ascii=False).encode()
        assert len(sent) <= MAX_REQUEST_BYTES

    huge = LogCreate.from_dict(log_dict(run_id, 0, message="x" * (MAX_REQUEST_BYTES + 1)))
    small = logs[:2]
    assert list(log_batches([small[0], huge, small[1]])) == [[small[0]], [huge], [small[1]]]
    assert list(log_batches([])) == []


def test_oversized_log_is_still_stored(client: Any, unique: str) -> None:
    run_id = new_flow_run(client, unique)
    message = "y" * (MAX_REQUEST_BYTES + 10)
    client.create_logs([log_dict(run_id, 0), log_dict(run_id, 1, message=message)])
    stored = client.read_logs(log_filter=for_run(run_id))
    assert [len(log.message) for log in stored] == [len("message 0"), len(message)]
