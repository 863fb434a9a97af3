"""Names in URL paths, on both clients, against the real server.

A name is one path segment (`/flows/name/{name}`): the generated endpoints percent-encode it
(`quote(name, safe="")`), and a name that is a dot segment (`.`, `..`) is sent as `%2E`/`%2E%2E`:
httpx (as RFC 3986 says) removes literal dot segments, so `/flows/name/..` went to `/flows`, and
`/work_pools/p/queues/..` to `/work_pools/p`. The server decodes the segment back and routes
it. A `/` cannot be carried: the server (uvicorn) decodes `%2F` before routing, so the route is
never reached; no object of these kinds can have one (the server refuses `/` and `%` in their
names), so a by-name read of such a name is ObjectNotFound, naming the name and why, rather
than the "not served by this server" it looked like.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from prefect_sdk import ObjectAlreadyExists, ObjectNotFound

# Names every kind below accepts and that must come back by name: dot segments, and characters
# that mean something in a URL or must be encoded.
ROUTED = ["..", ".", "...", ".a", "a..", "a b", "é", "a?b", "a#b", "a\\b", "a+b", "a;b", "a=b"]
# Names no object of these kinds can have (the server refuses "/" and "%" in them); "/" cannot
# reach the route at all.
UNROUTABLE = ["a/b", "/", "a/..", "../a"]


class Kind:
    """How to make, read by name and remove one object of a kind, all through the client."""

    def __init__(
        self,
        create: Callable[[Any, str], Any],
        read: Callable[[Any, str], Any],
        delete: Callable[[Any, str], Any],
    ) -> None:
        self.create, self.read, self.delete = create, read, delete


def _pool(client: Any) -> str:
    name = "path-segments-pool"
    with contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool({"name": name, "type": "process"})
    return name


def _new_deployment(client: Any, name: str) -> Any:
    flow_id = client.create_flow_from_name("path-segments-flow")
    return client.create_deployment(flow_id, name)


def _delete_pool_if_there(client: Any, name: str) -> None:
    with contextlib.suppress(ObjectNotFound):
        client.delete_work_pool(name)


KINDS = {
    "flow": Kind(
        create=lambda client, name: client.create_flow_from_name(name),
        read=lambda client, name: client.read_flow_by_name(name),
        delete=lambda client, name: client.delete_flow(client.read_flow_by_name(name).id),
    ),
    # "<flow>/<deployment>": the flow's name and the deployment's are two segments.
    "deployment": Kind(
        create=_new_deployment,
        read=lambda client, name: client.read_deployment_by_name(f"path-segments-flow/{name}"),
        delete=lambda client, name: client.delete_deployment(
            client.read_deployment_by_name(f"path-segments-flow/{name}").id
        ),
    ),
    "work pool": Kind(
        create=lambda client, name: client.create_work_pool({"name": name, "type": "process"}),
        read=lambda client, name: client.read_work_pool(name),
        delete=_delete_pool_if_there,
    ),
    "work queue": Kind(
        create=lambda client, name: client.create_work_queue(name, work_pool_name=_pool(client)),
        read=lambda client, name: client.read_work_queue_by_name(name, _pool(client)),
        delete=lambda client, name: client.delete_work_queue_by_id(
            client.read_work_queue_by_name(name, _pool(client)).id
        ),
    ),
    "global concurrency limit": Kind(
        create=lambda client, name: client.create_global_concurrency_limit(
            {"name": name, "limit": 1}
        ),
        read=lambda client, name: client.read_global_concurrency_limit_by_name(name),
        delete=lambda client, name: client.delete_global_concurrency_limit_by_name(name),
    ),
}


@pytest.fixture
def made(client: Any) -> Iterator[list[tuple[str, str]]]:
    """The (kind, name) pairs a test made, removed at the end (the names are fixed, not unique:
    `..` is `..`; the sync and async runs of a test make and remove them in turn)."""
    made: list[tuple[str, str]] = []
    yield made
    for kind, name in reversed(made):
        with contextlib.suppress(ObjectNotFound):
            KINDS[kind].delete(client, name)


@pytest.mark.parametrize("name", ROUTED, ids=repr)
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_name_is_one_path_segment_and_reads_back(
    client: Any, made: list[tuple[str, str]], kind: str, name: str
) -> None:
    KINDS[kind].create(client, name)
    made.append((kind, name))
    read = KINDS[kind].read(client, name)
    assert read.name == name


def test_a_queue_named_dot_dot_is_not_its_pool(client: Any, made: list[tuple[str, str]]) -> None:
    """`/work_pools/p/queues/..` was sent as `/work_pools/p`: the pool itself (a delete there
    would have deleted the pool)."""
    pool = _pool(client)
    with pytest.raises(ObjectNotFound):
        client.read_work_queue_by_name("..", pool)
    queue = client.create_work_queue("..", work_pool_name=pool)
    made.append(("work queue", ".."))
    assert client.read_work_queue_by_name("..", pool).id == queue.id
    client.delete_work_queue_by_id(queue.id)
    assert client.read_work_pool(pool).name == pool


# Every read by name (a deployment's "<flow>/<deployment>" with more "/"s is refused before any
# request: test_a_deployment_name_with_more_slashes_is_refused_before_any_request).
READS_BY_NAME: dict[str, Callable[[Any, str], Any]] = {
    **{kind: KINDS[kind].read for kind in KINDS if kind != "deployment"},
    "work pool of a queue": lambda client, name: client.read_work_queue_by_name("q", name),
    "variable": lambda client, name: client.read_variable_by_name(name),
    "concurrency limit tag": lambda client, name: client.read_concurrency_limit_by_tag(name),
    "block type": lambda client, name: client.read_block_type_by_slug(name),
    "block document": lambda client, name: client.read_block_document_by_name(name, "no-such-type"),
}


@pytest.mark.parametrize("name", UNROUTABLE, ids=repr)
@pytest.mark.parametrize("kind", list(READS_BY_NAME))
def test_a_name_with_a_slash_is_not_found_naming_it(client: Any, kind: str, name: str) -> None:
    with pytest.raises(ObjectNotFound) as raised:
        READS_BY_NAME[kind](client, name)
    message = str(raised.value)
    assert "\n" not in message and repr(name) in message and "'/'" in message, message


def test_a_name_with_percent_is_not_found(client: Any) -> None:
    for name in ("%", "%2F", "%2E%2E"):
        with pytest.raises(ObjectNotFound):
            client.read_flow_by_name(name)


def test_a_deployment_name_with_more_slashes_is_refused_before_any_request(client: Any) -> None:
    with pytest.raises(ValueError, match="Expected format: <FLOW_NAME>/<DEPLOYMENT_NAME>"):
        client.read_deployment_by_name(f"{uuid.uuid4().hex}/a/b")
