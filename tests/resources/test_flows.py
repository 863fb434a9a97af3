"""Flow methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_api.models import Flow
from prefect_sdk import ObjectNotFound


def test_create_read_delete(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-etl")
    assert isinstance(flow_id, uuid.UUID)
    flow = client.read_flow(str(flow_id))
    assert isinstance(flow, Flow) and flow.name == f"{unique}-etl"
    assert client.read_flow_by_name(f"{unique}-etl").id == flow_id
    # flow names are unique: creating again returns the same flow
    assert client.create_flow(flow) == flow_id
    client.delete_flow(flow_id)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_flow(flow_id)
    with pytest.raises(ObjectNotFound):
        client.delete_flow(flow_id)


def test_not_found_by_name(client: Any, unique: str) -> None:
    with pytest.raises(ObjectNotFound):
        client.read_flow_by_name(f"{unique}-missing")


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_id_raises_before_any_request(client: Any, bad: object) -> None:
    with pytest.raises(ValueError, match="flow_id must be a UUID"):
        client.read_flow(bad)


def test_filters_filter(client: Any, unique: str) -> None:
    wanted = {client.create_flow_from_name(f"{unique}-a{i}") for i in range(3)}
    client.create_flow_from_name(f"{unique}-b0")  # a decoy
    rows = client.read_flows(flow_filter={"name": {"like_": f"{unique}-a"}})
    assert {row.id for row in rows} == wanted
    descending = client.read_flows(flow_filter={"name": {"like_": unique}}, sort="NAME_DESC")
    assert [row.name for row in descending] == sorted(
        (row.name for row in descending), reverse=True
    )
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_flows(sort="SIDEWAYS")
    with pytest.raises(ValueError, match="work_queue_filter is not supported"):
        client.read_flows(work_queue_filter={"name": {"any_": ["x"]}})


def test_paging_past_the_server_cap(client: Any, unique: str) -> None:
    created = {client.create_flow_from_name(f"{unique}-{i:03d}") for i in range(230)}
    only_mine = {"name": {"like_": unique}}
    limited = client.read_flows(flow_filter=only_mine, limit=215)
    assert len(limited) == 215 and len({row.id for row in limited}) == 215
    everything = client.read_flows(flow_filter=only_mine)
    assert {row.id for row in everything} == created
    iterated = [row.id for row in client.iter_flows(flow_filter=only_mine)]
    assert len(iterated) == len(set(iterated)) == 230 and set(iterated) == created
    skipped = client.read_flows(flow_filter=only_mine, offset=200)
    assert len(skipped) == 30
    page = client.paginate_flows(page=2, limit=100, flow_filter=only_mine)
    assert (page.page, page.pages, page.count, len(page.results)) == (2, 3, 230, 100)
