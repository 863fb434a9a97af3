"""Observed states (a Prefect 3.9 route) on both clients, against the real server; on an older
server (`make test-compat`) the same call is `UnsupportedByServer`."""

from __future__ import annotations

from typing import Any

import pytest

from prefect_api import PREFECT_VERSION
from prefect_api.models import ObservedState
from prefect_sdk import ObjectNotFound, UnsupportedByServer
from prefect_sdk import states as st


def make_history(client: Any, unique: str, names: list[str]) -> None:
    """A flow run that goes through a Running state of each of `names`."""
    run = client.create_flow_run(client.create_flow_from_name(f"{unique}-observed"))
    client.set_flow_run_state(run.id, st.Pending())
    for name in names:
        state = st.Running(name=name)
        assert client.set_flow_run_state(run.id, state, force=True).status.value == "ACCEPT"


def test_observed_states_prefix_sort_and_iterator(
    client: Any, unique: str, server_version: tuple[int, ...]
) -> None:
    if server_version < (3, 9):
        pytest.skip("the route is new in Prefect 3.9 (the older server's test is below)")
    prefix = f"Obs{unique}"
    names = [f"{prefix}-b", f"{prefix}-a", f"{prefix}-c"]
    make_history(client, unique, names)

    by_name = client.read_observed_states(prefix.lower(), sort="NAME_ASC")  # any case
    assert all(isinstance(state, ObservedState) for state in by_name)
    assert [(s.state_type, s.state_name) for s in by_name] == [
        ("RUNNING", name) for name in sorted(names)
    ]
    assert all(s.first_seen <= s.last_seen for s in by_name)
    # Newest first by default: the last state set comes first.
    assert [s.state_name for s in client.read_observed_states(prefix)][0] == f"{prefix}-c"
    assert [s.state_name for s in client.read_observed_states(prefix, limit=2)] == [
        f"{prefix}-c",
        f"{prefix}-a",
    ]
    assert [s.state_name for s in client.iter_observed_states(prefix, sort="NAME_ASC")] == sorted(
        names
    )
    assert client.read_observed_states(f"{prefix}-zzz") == []


def test_observed_states_argument_checks(client: Any) -> None:
    with pytest.raises(ValueError, match="sort must be one of LAST_SEEN_DESC, NAME_ASC"):
        client.read_observed_states(sort="SIDEWAYS")
    with pytest.raises(ValueError, match="limit must be an integer from 1 to 200"):
        client.read_observed_states(limit=201)
    with pytest.raises(ValueError, match="query must be a string"):
        client.read_observed_states(42)


def test_older_server_says_it_does_not_serve_the_route(
    client: Any, server_version: tuple[int, ...], prefect_server: Any
) -> None:
    if server_version >= (3, 9):
        pytest.skip("this server serves the route (make test-compat runs this on 3.8)")
    with pytest.raises(UnsupportedByServer) as info:
        client.read_observed_states()
    assert not isinstance(info.value, ObjectNotFound)
    assert str(info.value) == (
        "GET /api/observed-states (read_observed_states) is not served by this Prefect server "
        f"({prefect_server.version}); prefect-sdk was generated from {PREFECT_VERSION}"
    )
    # A missing object on the same server is still ObjectNotFound.
    with pytest.raises(ObjectNotFound) as missing:
        client.read_flow("00000000-0000-4000-8000-000000000000")
    assert not isinstance(missing.value, UnsupportedByServer)
