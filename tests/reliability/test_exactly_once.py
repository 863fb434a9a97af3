"""Creates whose answer was lost, retried: one object on the server, and the caller gets it.

Through the fault proxy (`fault_proxy.py`) in front of the session's real server: the first
attempt of a create reaches the server, which makes the object, and its answer is lost (the
connection cut mid-answer, or held back past the client's read timeout); the client sends the
same request again.

- A flow run create without a caller's key carries a key the SDK made for the call, the same on
  the retry: the server returns the run the first attempt made.
- A create the server refuses with 409 when the name is taken (variables, work pools and queues,
  block types and documents, global limits, flow run inputs) returns the object the first attempt
  made, not `ObjectAlreadyExists` for the call's own work.
- A name that was really taken (a 409 on the first attempt, or after an attempt the server never
  saw) still raises `ObjectAlreadyExists`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from prefect_sdk import ObjectAlreadyExists, PrefectClient, SyncPrefectClient
from tests.reliability.fault_proxy import Always, FaultProxy, without_server_retries

pytestmark = [pytest.mark.usefixtures("short_backoff"), pytest.mark.timeout(60)]

READ_TIMEOUT = 1.0
# A held-back answer comes this long after the request: well past READ_TIMEOUT, so that a client
# held up between sending and reading still times out (the client does not wait for it).
PROXY_DELAY = READ_TIMEOUT + 3.0
LOST = ["close-mid-response", "delay-past-timeout"]  # the server did the work, the answer is lost


async def call(kind: str, api: str, op: Callable[[Any], Any]) -> Any:
    """Open a client of `kind` on `api`, run op(client) (awaiting it if need be), close it."""
    settings = {"timeout": httpx.Timeout(10.0, read=READ_TIMEOUT)}
    if kind == "sync":
        with SyncPrefectClient(api, httpx_settings=settings) as client:
            return op(client)
    async with PrefectClient(api, httpx_settings=settings) as client:
        return await op(client)


def attempts(proxy: FaultProxy, method: str, route: str) -> list[str | None]:
    """The fault (or None: relayed) of each request the proxy had for this route, less those
    the server itself had the client send again (a 503 for a locked SQLite database, an answer
    slower than the read timeout): `[fault, None]` is the fault and the retry that got through."""
    events = [e for e in proxy.events if e.method == method and e.route == route]
    return [e.kind for e in without_server_retries(events, READ_TIMEOUT)]


# ----- flow runs: the SDK's own idempotency key --------------------------------------------


@pytest.mark.parametrize("fault", LOST)
async def test_create_flow_run_without_a_key_whose_answer_was_lost_makes_one_run(
    kind: str, fault: str, api_url: str
) -> None:
    name = f"once-run-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        flow_id = direct.create_flow_from_name(name)

    schedule = Always(fault, "POST", "/api/flow_runs/", times=1)
    with FaultProxy(api_url, schedule, delay=PROXY_DELAY) as proxy:
        run = await call(kind, proxy.api_url, lambda c: c.create_flow_run(flow_id, name=name))

    assert attempts(proxy, "POST", "/api/flow_runs/") == [fault, None]
    with SyncPrefectClient(api_url) as direct:
        runs = direct.read_flow_runs(flow_filter={"id": {"any_": [str(flow_id)]}})
    assert [r.id for r in runs] == [run.id]
    assert run.idempotency_key.startswith("prefect-sdk-")


async def test_create_flow_run_from_deployment_without_a_key_whose_answer_was_lost(
    kind: str, api_url: str
) -> None:
    name = f"once-deployed-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        deployment_id = direct.create_deployment(direct.create_flow_from_name(name), name)

    route = f"/api/deployments/{deployment_id}/create_flow_run"
    with FaultProxy(api_url, Always("close-mid-response", "POST", route, times=1)) as proxy:
        run = await call(
            kind, proxy.api_url, lambda c: c.create_flow_run_from_deployment(deployment_id)
        )

    assert attempts(proxy, "POST", route) == ["close-mid-response", None]
    with SyncPrefectClient(api_url) as direct:
        runs = direct.read_flow_runs(deployment_filter={"id": {"any_": [str(deployment_id)]}})
    assert [r.id for r in runs] == [run.id]


# ----- creates the server refuses with 409 when the name is taken -------------------------


@dataclass(frozen=True)
class Create:
    """One kind of named create: how to prepare for it, make it, and find what it made."""

    id: str
    route: Callable[[dict[str, Any]], str]
    prepare: Callable[[SyncPrefectClient, str], dict[str, Any]]
    create: Callable[[Any, dict[str, Any]], Any]
    # What the server holds under the name, as comparable values (one per object).
    stored: Callable[[SyncPrefectClient, dict[str, Any]], list[Any]]
    # The comparable value of what the create returned.
    returned: Callable[[Any], Any] = lambda result: result.id


def _block_schema(direct: SyncPrefectClient, name: str) -> dict[str, Any]:
    block_type = direct.create_block_type({"name": f"{name} type", "slug": f"{name}-type"})
    schema = direct.create_block_schema(
        {
            "block_type_id": str(block_type.id),
            "fields": {"title": "T", "type": "object", "properties": {"x": {"type": "integer"}}},
            "capabilities": [],
            "version": "1.0",
        }
    )
    return {"name": name, "slug": block_type.slug, "type_id": block_type.id, "schema": schema}


def _flow_run(direct: SyncPrefectClient, name: str) -> dict[str, Any]:
    run = direct.create_flow_run(direct.create_flow_from_name(name))
    return {"name": name, "run_id": run.id}


def _pool(direct: SyncPrefectClient, name: str) -> dict[str, Any]:
    direct.create_work_pool({"name": f"{name}-pool", "type": "process"})
    return {"name": name, "pool": f"{name}-pool"}


CREATES = [
    Create(
        "variable",
        lambda p: "/api/variables/",
        lambda d, name: {"name": name},
        lambda c, p: c.create_variable({"name": p["name"], "value": {"n": 1}}),
        lambda d, p: [
            v.id for v in d.read_variables(variable_filter={"name": {"any_": [p["name"]]}})
        ],
    ),
    Create(
        "work-pool",
        lambda p: "/api/work_pools/",
        lambda d, name: {"name": name},
        lambda c, p: c.create_work_pool({"name": p["name"], "type": "process"}),
        lambda d, p: [
            w.id for w in d.read_work_pools(work_pool_filter={"name": {"any_": [p["name"]]}})
        ],
    ),
    Create(
        "work-queue",
        lambda p: f"/api/work_pools/{p['pool']}/queues",
        _pool,
        lambda c, p: c.create_work_queue(p["name"], work_pool_name=p["pool"]),
        lambda d, p: [
            q.id
            for q in d.read_work_queues(p["pool"])
            if q.name == p["name"]  # the pool's default queue is there too
        ],
    ),
    Create(
        "block-type",
        lambda p: "/api/block_types/",
        lambda d, name: {"name": name},
        lambda c, p: c.create_block_type({"name": p["name"], "slug": p["name"]}),
        lambda d, p: [
            t.id for t in d.read_block_types(block_type_filter={"slug": {"any_": [p["name"]]}})
        ],
    ),
    Create(
        "block-document",
        lambda p: "/api/block_documents/",
        _block_schema,
        lambda c, p: c.create_block_document(
            {
                "name": p["name"],
                "block_schema_id": str(p["schema"].id),
                "block_type_id": str(p["type_id"]),
                "data": {"x": 1},
            }
        ),
        lambda d, p: [
            doc.id
            for doc in d.read_block_documents(block_document_filter={"name": {"any_": [p["name"]]}})
        ],
    ),
    Create(
        "global-limit",
        lambda p: "/api/v2/concurrency_limits/",
        lambda d, name: {"name": name},
        lambda c, p: c.create_global_concurrency_limit({"name": p["name"], "limit": 2}),
        lambda d, p: [g.id for g in d.read_global_concurrency_limits() if g.name == p["name"]],
        returned=lambda result: result,  # the id itself
    ),
    Create(
        "tag-limit",  # an upsert on the server: a retry updates it to the same value
        lambda p: "/api/concurrency_limits/",
        lambda d, name: {"name": name},
        lambda c, p: c.create_concurrency_limit(p["name"], 3),
        lambda d, p: [
            g.id for g in d.read_global_concurrency_limits() if g.name == f"tag:{p['name']}"
        ],
        returned=lambda result: result,
    ),
    Create(
        "flow-run-input",
        lambda p: f"/api/flow_runs/{p['run_id']}/input",
        _flow_run,
        lambda c, p: c.create_flow_run_input(p["run_id"], "answer", "42"),
        lambda d, p: [d.read_flow_run_input(p["run_id"], "answer")],
        returned=lambda result: "42" if result is None else result,
    ),
]


# Every create with its answer cut short, and one also with its answer held back past the read
# timeout (the slowest fault: a second per test).
NAMED_FAULTS = [(case, "close-mid-response") for case in CREATES] + [
    (CREATES[0], "delay-past-timeout")
]


@pytest.mark.parametrize(
    ("case", "fault"), NAMED_FAULTS, ids=[f"{case.id}-{fault}" for case, fault in NAMED_FAULTS]
)
async def test_named_create_whose_answer_was_lost_returns_what_it_made(
    kind: str, case: Create, fault: str, api_url: str
) -> None:
    name = f"once-{case.id}-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        prepared = case.prepare(direct, name)
    route = case.route(prepared)

    with FaultProxy(api_url, Always(fault, "POST", route, times=1), delay=PROXY_DELAY) as proxy:
        result = await call(kind, proxy.api_url, lambda c: case.create(c, prepared))

    assert attempts(proxy, "POST", route) == [fault, None]
    statuses = [e.status for e in proxy.events if e.route == route]
    with SyncPrefectClient(api_url) as direct:
        stored = case.stored(direct, prepared)
    assert stored == [case.returned(result)], (statuses, stored, result)
    if case.id != "tag-limit":  # the server's own answer to the retry was "name taken"
        assert statuses[-1] == 409, statuses


async def test_recovered_object_is_the_one_the_create_would_have_returned(
    kind: str, api_url: str
) -> None:
    """Same fields as an ordinary create returns (the block document's secrets masked too)."""
    name = f"once-same-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        plain = _block_schema(direct, f"{name}-plain")
        lost = _block_schema(direct, f"{name}-lost")
        ordinary = CREATES[4].create(direct, plain)

    schedule = Always("close-mid-response", "POST", "/api/block_documents/", times=1)
    with FaultProxy(api_url, schedule) as proxy:
        recovered = await call(kind, proxy.api_url, lambda c: CREATES[4].create(c, lost))

    assert attempts(proxy, "POST", "/api/block_documents/") == ["close-mid-response", None]
    assert recovered.to_dict().keys() == ordinary.to_dict().keys()
    assert recovered.data.to_dict() == ordinary.data.to_dict() == {"x": 1}
    assert recovered.name == lost["name"]


# ----- a name that was really taken --------------------------------------------------------


async def test_a_taken_name_still_raises(kind: str, api_url: str) -> None:
    name = f"once-taken-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        direct.create_variable({"name": name, "value": "first"})

    with pytest.raises(ObjectAlreadyExists):
        await call(kind, api_url, lambda c: c.create_variable({"name": name, "value": "second"}))
    with SyncPrefectClient(api_url) as direct:
        assert direct.read_variable_by_name(name).value == "first"


@pytest.mark.parametrize("fault", ["429-retry-after-0", "503-retry-after-1"])
async def test_a_taken_name_raises_after_a_retry_the_server_never_saw_the_first_of(
    kind: str, fault: str, api_url: str
) -> None:
    """The first attempt was declined before it reached the server (429, 503): the 409 of the
    retry is about someone else's variable, and says so."""
    name = f"once-declined-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(api_url) as direct:
        direct.create_variable({"name": name, "value": "theirs"})

    schedule = Always(fault, "POST", "/api/variables/", times=1)
    with FaultProxy(api_url, schedule) as proxy, pytest.raises(ObjectAlreadyExists) as info:
        await call(kind, proxy.api_url, lambda c: c.create_variable({"name": name, "value": 1}))

    assert attempts(proxy, "POST", "/api/variables/") == [fault, None]
    assert "already exists" in str(info.value)
