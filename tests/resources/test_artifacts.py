"""Artifact methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_api.models import Artifact, ArtifactCollection, ArtifactCreate
from prefect_sdk import ObjectNotFound


def test_create_update_delete(client: Any, unique: str) -> None:
    artifact = client.create_artifact(
        ArtifactCreate(key=f"{unique}-report", type_="markdown", data="# hi", description="d")
    )
    assert isinstance(artifact, Artifact) and isinstance(artifact.id, uuid.UUID)
    assert (artifact.key, artifact.type_, artifact.data) == (f"{unique}-report", "markdown", "# hi")
    by_id = {"id": {"any_": [str(artifact.id)]}}

    client.update_artifact(str(artifact.id), {"data": "# bye"})
    [updated] = client.read_artifacts(artifact_filter=by_id)
    assert (updated.data, updated.description) == ("# bye", "d")  # only `data` was sent

    client.delete_artifact(str(artifact.id))
    assert client.read_artifacts(artifact_filter=by_id) == []
    with pytest.raises(ObjectNotFound, match="404"):
        client.delete_artifact(artifact.id)
    with pytest.raises(ObjectNotFound):
        client.update_artifact(artifact.id, {"data": "x"})


@pytest.mark.parametrize("bad", ["nope", 42, None])
def test_bad_id_raises_before_any_request(client: Any, bad: object) -> None:
    with pytest.raises(ValueError, match="artifact_id must be a UUID"):
        client.delete_artifact(bad)


def test_filter_by_key_and_latest(client: Any, unique: str) -> None:
    # two versions of key a, one of key b, and decoys with other keys / no key
    a1 = client.create_artifact({"key": f"{unique}-a", "type": "markdown", "data": "1"})
    a2 = client.create_artifact({"key": f"{unique}-a", "type": "markdown", "data": "2"})
    b1 = client.create_artifact({"key": f"{unique}-b", "type": "table", "data": "3"})
    client.create_artifact({"key": f"{unique}x-decoy", "type": "markdown", "data": "4"})
    client.create_artifact({"type": "markdown", "data": f"{unique}-unkeyed"})

    rows = client.read_artifacts(artifact_filter={"key": {"any_": [f"{unique}-a"]}})
    assert {row.id for row in rows} == {a1.id, a2.id}
    rows = client.read_artifacts(artifact_filter={"key": {"like_": f"{unique}-"}}, sort="KEY_DESC")
    assert [row.key for row in rows] == [f"{unique}-b", f"{unique}-a", f"{unique}-a"]
    tables = client.read_artifacts(
        artifact_filter={"key": {"like_": f"{unique}-"}, "type": {"any_": ["table"]}}
    )
    assert [row.id for row in tables] == [b1.id]

    latest = client.read_latest_artifacts(
        artifact_filter={"key": {"like_": f"{unique}-"}}, sort="KEY_ASC"
    )
    assert all(isinstance(row, ArtifactCollection) for row in latest)
    assert [(row.key, row.latest_id, row.data) for row in latest] == [
        (f"{unique}-a", a2.id, "2"),
        (f"{unique}-b", b1.id, "3"),
    ]
    iterated = list(
        client.iter_latest_artifacts(artifact_filter={"key": {"any_": [f"{unique}-a"]}})
    )
    assert [row.latest_id for row in iterated] == [a2.id]
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_latest_artifacts(sort="SIDEWAYS")
    # artifacts outside any flow run do not match a flow-run filter
    assert (
        client.read_artifacts(
            artifact_filter={"key": {"like_": f"{unique}-"}},
            flow_run_filter={"id": {"any_": [str(uuid.uuid4())]}},
        )
        == []
    )


def test_paging(client: Any, unique: str) -> None:
    created = {
        client.create_artifact({"key": f"{unique}-k{i:02d}", "data": i}).id for i in range(11)
    }
    mine = {"key": {"like_": unique}}
    getattr(client, "client", client).page_size = 4
    assert {row.id for row in client.read_artifacts(artifact_filter=mine)} == created
    iterated = [row.id for row in client.iter_artifacts(artifact_filter=mine)]
    assert len(iterated) == 11 and set(iterated) == created
    assert len(client.read_artifacts(artifact_filter=mine, limit=9)) == 9
    assert len(client.read_artifacts(artifact_filter=mine, offset=8)) == 3
    latest = client.read_latest_artifacts(artifact_filter=mine, limit=None)
    assert {row.latest_id for row in latest} == created
    iterated_latest = [
        row.key for row in client.iter_latest_artifacts(artifact_filter=mine, offset=5)
    ]
    assert len(iterated_latest) == 6
