"""The state helpers build the StateCreate bodies Prefect expects."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from prefect_api.models import StateType
from prefect_api.types import UNSET
from prefect_sdk import states

WHEN = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)

CASES: list[tuple[Callable[..., Any], StateType, str, bool]] = [
    (states.Scheduled, StateType.SCHEDULED, "Scheduled", True),
    (states.Late, StateType.SCHEDULED, "Late", True),
    (states.AwaitingRetry, StateType.SCHEDULED, "AwaitingRetry", True),
    (states.Pending, StateType.PENDING, "Pending", False),
    (states.Running, StateType.RUNNING, "Running", False),
    (states.Retrying, StateType.RUNNING, "Retrying", False),
    (states.Completed, StateType.COMPLETED, "Completed", False),
    (states.Failed, StateType.FAILED, "Failed", False),
    (states.Crashed, StateType.CRASHED, "Crashed", False),
    (states.Cancelling, StateType.CANCELLING, "Cancelling", False),
    (states.Cancelled, StateType.CANCELLED, "Cancelled", False),
    (states.Paused, StateType.PAUSED, "Paused", False),
]


@pytest.mark.parametrize(
    ("helper", "state_type", "name", "scheduled"), CASES, ids=[c[2] for c in CASES]
)
def test_helper_type_name_and_message(
    helper: Callable[..., Any], state_type: StateType, name: str, scheduled: bool
) -> None:
    arguments = {"scheduled_time": WHEN} if scheduled else {}

    created = helper(message="why", **arguments)

    assert created.type_ == state_type
    assert created.name == name
    assert created.message == "why"
    body = created.to_dict()
    assert (body["type"], body["name"], body["message"]) == (state_type.value, name, "why")
    if scheduled:
        assert created.state_details.scheduled_time == WHEN
        assert body["state_details"]["scheduled_time"].startswith("2030-01-02T03:04:05")
    else:
        assert created.state_details is UNSET
    assert helper().message is UNSET
    assert helper(name="Custom").name == "Custom"


@pytest.mark.parametrize("helper", [states.Scheduled, states.Late, states.AwaitingRetry])
def test_scheduled_defaults_to_now(helper: Callable[..., Any]) -> None:
    before = datetime.datetime.now(datetime.timezone.utc)

    when = helper().state_details.scheduled_time

    assert before <= when <= datetime.datetime.now(datetime.timezone.utc)
