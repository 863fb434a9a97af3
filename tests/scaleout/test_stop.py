"""`scripts/scaleout.sh stop` leaves nothing running and nothing listening (run last: it stops
the session's topology; the fixture's teardown checks the same when this test is not run)."""

from __future__ import annotations

import pytest

from tests.scaleout.conftest import COMPONENTS, ScaleOut, listening, live_members

pytestmark = [pytest.mark.scaleout, pytest.mark.timeout(600)]


def test_stop_leaves_nothing_running(scaleout: ScaleOut) -> None:
    groups = {name: scaleout.pid(name) for name in COMPONENTS}
    assert all(pid is not None and live_members(pid) for pid in groups.values()), groups
    ports = list(scaleout.ports.values())
    assert sorted(listening(ports)) == sorted(ports)

    scaleout.stop()

    # Every process group the topology ever had (the API processes killed and started again
    # by other tests included) is gone, and none of its ports is listened on.
    assert scaleout.groups and all(not live_members(pid) for pid in scaleout.groups.values())
    assert listening(ports) == []
    assert "not started" in scaleout.script("status", check=False)
