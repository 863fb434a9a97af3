"""Variable methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_api.models import Variable, VariableCreate, VariableUpdate
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound


def test_create_read_update_delete(client: Any, unique: str) -> None:
    name = f"{unique}_color"
    created = client.create_variable(VariableCreate(name=name, value="red", tags=["a"]))
    assert isinstance(created, Variable) and isinstance(created.id, uuid.UUID)
    assert (created.name, created.value, created.tags) == (name, "red", ["a"])
    read = client.read_variable_by_name(name)
    assert (read.id, read.value) == (created.id, "red")

    # only the fields given are sent: the tags survive an update of the value
    assert client.update_variable({"name": name, "value": [1, 2]}) is None
    updated = client.read_variable_by_name(name)
    assert (updated.value, updated.tags) == ([1, 2], ["a"])
    client.update_variable(VariableUpdate(name=name, tags=["b", "c"]))
    updated = client.read_variable_by_name(name)
    assert (updated.value, sorted(updated.tags)) == ([1, 2], ["b", "c"])

    client.delete_variable_by_name(name)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_variable_by_name(name)
    with pytest.raises(ObjectNotFound):
        client.delete_variable_by_name(name)
    with pytest.raises(ObjectNotFound):
        client.update_variable({"name": name, "value": 1})


def test_duplicate_name_conflicts(client: Any, unique: str) -> None:
    client.create_variable({"name": f"{unique}_x", "value": 1})
    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_variable({"name": f"{unique}_x", "value": 2})
    assert client.read_variable_by_name(f"{unique}_x").value == 1


def test_argument_checks(client: Any) -> None:
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        client.update_variable({"value": 3})
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        client.read_variable_by_name("")
    with pytest.raises(ValueError, match=r"VariableCreate, a dict or a pydantic model, not int$"):
        client.create_variable(42)
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_variables(sort="SIDEWAYS")


def test_filters_sort_and_paging(client: Any, unique: str) -> None:
    wanted = {
        client.create_variable({"name": f"{unique}_a{i:02d}", "value": i, "tags": ["keep"]}).id
        for i in range(12)
    }
    client.create_variable({"name": f"{unique}_b", "value": 0, "tags": ["keep"]})  # a decoy
    mine = {"name": {"like_": f"{unique}_a"}}
    assert {row.id for row in client.read_variables(variable_filter=mine)} == wanted
    tagged = client.read_variables(
        variable_filter={"name": {"like_": unique}, "tags": {"all_": ["keep"]}}
    )
    assert len(tagged) == 13
    descending = client.read_variables(variable_filter=mine, sort="NAME_DESC")
    assert [row.name for row in descending] == [f"{unique}_a{i:02d}" for i in reversed(range(12))]

    # small pages: every row exactly once, across page boundaries
    getattr(client, "client", client).page_size = 5
    iterated = [row.id for row in client.iter_variables(variable_filter=mine)]
    assert len(iterated) == 12 and set(iterated) == wanted
    assert len(client.read_variables(7, variable_filter=mine)) == 7
    skipped = client.read_variables(variable_filter=mine, offset=10, sort="NAME_ASC")
    assert [row.name for row in skipped] == [f"{unique}_a10", f"{unique}_a11"]
