"""The main flows of the client against a Prefect server backed by PostgreSQL.

Run by `make test-postgres`, which starts PostgreSQL (scripts/postgres.sh) and sets
PREFECT_SDK_TEST_DATABASE_URL, so that the session's `prefect_server` uses it; deselected
otherwise (pyproject's addopts), and skipped when selected without a database. Each test also
reads the database itself, to be sure the rows are where the server was told to keep them.
"""

from __future__ import annotations

import datetime
import inspect
import os
import uuid
from typing import Any

import pytest

from prefect_sdk import states
from tests.core.helpers import opened
from tests.reliability.conftest import RetryLog
from tests.reliability.test_faults import check_workload_through_faults
from tests.support.server import TEST_DATABASE_URL_ENV

asyncpg = pytest.importorskip("asyncpg")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not os.environ.get(TEST_DATABASE_URL_ENV),
        reason=f"{TEST_DATABASE_URL_ENV} is not set: `make test-postgres` starts PostgreSQL "
        "(scripts/postgres.sh) and sets it",
    ),
]


@pytest.fixture(scope="module")
def database_url() -> str:
    return os.environ[TEST_DATABASE_URL_ENV]


@pytest.fixture
def server_api(database_url: str, api_url: str) -> str:
    """The session server's API, once we know it is the PostgreSQL-backed one."""
    return api_url


async def invoke(driver: Any, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """driver.client.<method>(...), awaited if the client is the async one."""
    result = getattr(driver.client, method)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


async def query(database_url: str, sql: str, *args: Any) -> list[Any]:
    """Rows of `sql` read from the database directly, not through the server."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return list(await connection.fetch(sql, *args, timeout=10))
    finally:
        await connection.close()


async def test_flow_and_run_through_its_states(
    kind: str, server_api: str, database_url: str
) -> None:
    name = f"pg-flow-{uuid.uuid4().hex[:8]}"
    async with opened(kind, server_api) as client:
        flow_id = await client.call("create_flow_from_name", name)
        assert await client.call("create_flow_from_name", name) == flow_id  # names are unique
        run = await invoke(client, "create_flow_run", flow_id, name=f"{name}-run", tags=["pg"])
        verdicts = [
            await client.call("set_flow_run_state", run.id, states.Running()),
            await client.call("set_flow_run_state", run.id, states.Completed(message="done")),
        ]
        final = await client.call("read_flow_run", run.id)
        history = await client.call("read_flow_run_states", run.id)

    assert [v.status.value for v in verdicts] == ["ACCEPT", "ACCEPT"]
    assert final.state.type_.value == "COMPLETED" and final.state.message == "done"
    assert [s.type_.value for s in history] == ["PENDING", "RUNNING", "COMPLETED"]

    flows = await query(database_url, "SELECT id FROM flow WHERE name = $1", name)
    assert [row["id"] for row in flows] == [flow_id]
    rows = await query(
        database_url,
        "SELECT type::text AS type FROM flow_run_state WHERE flow_run_id = $1 ORDER BY timestamp",
        run.id,
    )
    assert [row["type"] for row in rows] == ["PENDING", "RUNNING", "COMPLETED"]


async def test_deployment_and_idempotent_run(kind: str, server_api: str, database_url: str) -> None:
    name = f"pg-deploy-{uuid.uuid4().hex[:8]}"
    key = f"{name}-key"
    async with opened(kind, server_api) as client:
        flow_id = await client.call("create_flow_from_name", name)
        deployment_id = await client.call(
            "create_deployment", flow_id, name, parameters={"n": 1}, tags=["pg"]
        )
        deployment = await client.call("read_deployment_by_name", f"{name}/{name}")
        first = await client.call(
            "create_flow_run_from_deployment", deployment_id, idempotency_key=key
        )
        second = await client.call(
            "create_flow_run_from_deployment", deployment_id, idempotency_key=key
        )
        other = await client.call("create_flow_run_from_deployment", deployment_id)

    assert deployment.id == deployment_id
    assert second.id == first.id and other.id != first.id
    assert first.state.type_.value == "SCHEDULED"
    assert first.parameters.to_dict() == {"n": 1}
    rows = await query(database_url, "SELECT id FROM flow_run WHERE idempotency_key = $1", key)
    assert [row["id"] for row in rows] == [first.id]
    rows = await query(
        database_url, "SELECT count(*) AS n FROM flow_run WHERE deployment_id = $1", deployment_id
    )
    assert rows[0]["n"] == 2


async def test_read_flows_past_the_200_row_cap(
    kind: str, server_api: str, database_url: str
) -> None:
    prefix = f"pg-many-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i:03d}" for i in range(205)]
    name_filter = {"name": {"like_": prefix}}
    async with opened(kind, server_api) as client:
        for name in names:
            await client.call("create_flow_from_name", name)
        every = await client.call("read_flows", flow_filter=name_filter, sort="NAME_ASC")
        some = await client.call(
            "read_flows", flow_filter=name_filter, sort="NAME_ASC", limit=201, offset=3
        )

    assert [f.name for f in every] == names
    assert [f.name for f in some] == names[3:204]
    rows = await query(
        database_url, "SELECT count(*) AS n FROM flow WHERE name LIKE $1", prefix + "%"
    )
    assert rows[0]["n"] == 205


async def test_logs_written_and_read_back_in_pages(
    kind: str, server_api: str, database_url: str
) -> None:
    name = f"pg-logs-{uuid.uuid4().hex[:8]}"
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    async with opened(kind, server_api) as client:
        flow_id = await client.call("create_flow_from_name", name)
        run = await client.call("create_flow_run", flow_id)
        logs = [
            {
                "name": "pg",
                "level": 20,
                "message": f"line {i:03d}",
                "timestamp": (start + datetime.timedelta(seconds=i)).isoformat(),
                "flow_run_id": str(run.id),
            }
            for i in range(450)
        ]
        await client.call("create_logs", logs)
        read = await client.call("read_logs", log_filter={"flow_run_id": {"any_": [str(run.id)]}})

    assert [log.message for log in read] == [f"line {i:03d}" for i in range(450)]
    rows = await query(database_url, "SELECT count(*) AS n FROM log WHERE flow_run_id = $1", run.id)
    assert rows[0]["n"] == 450


@pytest.mark.timeout(150)
@pytest.mark.usefixtures("short_backoff")
async def test_fault_workload(
    server_api: str, monkeypatch: pytest.MonkeyPatch, retry_log: RetryLog
) -> None:
    """test_faults' 500-call workload through the fault proxy, on PostgreSQL."""
    await check_workload_through_faults(server_api, monkeypatch, retry_log)
