"""The scale-out server the fixture started: what runs, and that both API processes serve."""

from __future__ import annotations

import re
import uuid

import pytest

from prefect_sdk import SyncPrefectClient
from tests.scaleout.conftest import ScaleOut

pytestmark = [pytest.mark.scaleout, pytest.mark.timeout(600)]


def test_the_topology_runs_on_loopback(scaleout: ScaleOut) -> None:
    status = scaleout.script("status")
    for component in ("redis", "api1", "api2", "services", "haproxy"):
        assert re.search(rf"^{component}\s+running", status, re.M), status
    assert re.search(r"^api1 .*\(haproxy: UP\)", status, re.M), status
    assert re.search(r"^api2 .*\(haproxy: UP\)", status, re.M), status
    assert scaleout.api_url == f"http://127.0.0.1:{scaleout.ports['HAPROXY_PORT']}/api"
    assert "Migrations succeeded!" in scaleout.log("migrate")


def test_requests_are_spread_over_both_api_processes(scaleout: ScaleOut) -> None:
    name = f"topology-{uuid.uuid4().hex[:8]}"
    with SyncPrefectClient(scaleout.api_url) as client:
        flow_id = client.create_flow_from_name(name)
        for _ in range(10):
            assert client.read_flow(flow_id).name == name
        # Redis-backed messaging: a state change's event comes back through the services
        # process (the event persister), whichever API process took the change.
        run = client.create_flow_run(flow_id)
    served = re.findall(
        rf"prefect_api/(api[12]) .*\"GET /api/flows/{flow_id} ", scaleout.log("haproxy")
    )
    assert set(served) == {"api1", "api2"}, served
    assert run.idempotency_key.startswith("prefect-sdk-")
