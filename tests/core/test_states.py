"""The state helpers build the StateCreate bodies Prefect expects."""

from __future__ import annotations

import datetime
import subprocess
import sys
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from prefect_api.models import StateCreate, StateDetails, StateType
from prefect_api.types import UNSET
from prefect_sdk import states

WHEN = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
MINUTE = datetime.timedelta(seconds=60)

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


NAMED_CASES: list[tuple[Callable[..., Any], StateType, str, bool]] = [
    (states.AwaitingConcurrencySlot, StateType.SCHEDULED, "AwaitingConcurrencySlot", True),
    (states.Submitting, StateType.PENDING, "Submitting", False),
    (states.InfrastructurePending, StateType.PENDING, "InfrastructurePending", False),
]


@pytest.mark.parametrize(
    ("helper", "state_type", "name", "scheduled"), NAMED_CASES, ids=[c[2] for c in NAMED_CASES]
)
def test_named_variants(
    helper: Callable[..., Any], state_type: StateType, name: str, scheduled: bool
) -> None:
    test_helper_type_name_and_message(helper, state_type, name, scheduled)


def test_awaiting_concurrency_slot_defaults_to_now() -> None:
    test_scheduled_defaults_to_now(states.AwaitingConcurrencySlot)


@pytest.mark.parametrize("helper", [states.Late, states.AwaitingRetry])
def test_late_and_awaiting_retry_keep_their_time_and_name(helper: Callable[..., Any]) -> None:
    created = helper(WHEN)

    assert created.state_details.scheduled_time == WHEN
    assert created.name == helper.__name__


def _details(created: StateCreate) -> StateDetails:
    assert isinstance(created.state_details, StateDetails)
    return created.state_details


def test_paused_with_a_timeout_sets_pause_details() -> None:
    before = datetime.datetime.now(datetime.timezone.utc)

    created = states.Paused(timeout_seconds=60, reschedule=True, pause_key="k1", message="wait")

    details = _details(created)
    assert (created.type_, created.name, created.message) == (StateType.PAUSED, "Paused", "wait")
    assert isinstance(details.pause_timeout, datetime.datetime)
    after = datetime.datetime.now(datetime.timezone.utc)
    assert before + MINUTE <= details.pause_timeout <= after + MINUTE
    assert (details.pause_reschedule, details.pause_key) == (True, "k1")
    body = created.to_dict()["state_details"]
    assert (body["pause_reschedule"], body["pause_key"]) == (True, "k1")
    assert isinstance(body["pause_timeout"], str)


def test_paused_with_an_expiration_time() -> None:
    created = states.Paused(pause_expiration_time=WHEN)

    details = _details(created)
    assert (details.pause_timeout, details.pause_reschedule, details.pause_key) == (
        WHEN,
        False,
        UNSET,
    )
    assert created.to_dict()["state_details"]["pause_timeout"].startswith("2030-01-02T03:04:05")


def test_paused_refuses_a_timeout_and_an_expiration_time() -> None:
    with pytest.raises(ValueError, match="both a pause_expiration_time and timeout_seconds"):
        states.Paused(timeout_seconds=5, pause_expiration_time=WHEN)
    with pytest.raises(ValueError):
        states.Suspended(timeout_seconds=5, pause_expiration_time=WHEN)


def test_suspended_is_a_paused_state_that_reschedules() -> None:
    created = states.Suspended(pause_expiration_time=WHEN, pause_key="k2", message="later")

    assert (created.type_, created.name, created.message) == (
        StateType.PAUSED,
        "Suspended",
        "later",
    )
    details = _details(created)
    assert (details.pause_timeout, details.pause_reschedule, details.pause_key) == (
        WHEN,
        True,
        "k2",
    )
    bare = _details(states.Suspended())
    assert (bare.pause_reschedule, bare.pause_timeout) == (True, UNSET)
    assert states.Suspended(name="Custom").name == "Custom"


PREDICATES: dict[str, Callable[[Any], bool]] = {
    "SCHEDULED": states.is_scheduled,
    "PENDING": states.is_pending,
    "RUNNING": states.is_running,
    "COMPLETED": states.is_completed,
    "FAILED": states.is_failed,
    "CRASHED": states.is_crashed,
    "CANCELLED": states.is_cancelled,
    "CANCELLING": states.is_cancelling,
    "PAUSED": states.is_paused,
}


def test_final_types_are_prefects() -> None:
    assert frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}) == states.FINAL_TYPES
    assert all(isinstance(value, str) and StateType(value) for value in states.FINAL_TYPES)
    assert set(PREDICATES) == {member.value for member in StateType}


@pytest.mark.parametrize("state_type", list(StateType), ids=[t.value for t in StateType])
def test_predicates_on_every_form(state_type: StateType) -> None:
    from prefect_api.models import State

    forms: list[Any] = [
        State.from_dict({"id": str(uuid.uuid4()), "type": state_type.value}),
        states.state(state_type.value),
        SimpleNamespace(type_=state_type.value),
        state_type,
        state_type.value,
    ]
    for form in forms:
        assert states.is_final(form) is (state_type.value in states.FINAL_TYPES), form
        for value, predicate in PREDICATES.items():
            assert predicate(form) is (value == state_type.value), (predicate, form)


def test_predicates_on_none_and_unknowns() -> None:
    for predicate in [states.is_final, *PREDICATES.values()]:
        assert predicate(None) is False
        assert predicate("NOT_A_TYPE") is False
        assert predicate(SimpleNamespace(type_=None)) is False
        assert predicate(SimpleNamespace(type_=UNSET)) is False


def test_predicates_refuse_objects_without_a_type() -> None:
    """A run passed instead of its state is a bug, not a "no": False would hang a wait loop."""
    with pytest.raises(TypeError, match="SimpleNamespace"):
        states.is_final(SimpleNamespace(state_type="COMPLETED"))


def test_states_is_an_attribute_of_the_package_and_cheap() -> None:
    code = (
        "import sys, prefect_sdk\n"
        "assert prefect_sdk.states.is_final(prefect_sdk.states.Completed())\n"
        "assert 'states' in prefect_sdk.__all__\n"
    )
    lazy = (
        "import sys, prefect_sdk.states\n"
        "loaded = [m for m in sys.modules if m.startswith('prefect_api')]\n"
        "assert not loaded, loaded\n"
        "assert prefect_sdk.states.is_final('FAILED')\n"
    )
    for source in (code, lazy):
        done = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
