"""Automation methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_api.models import (
    Automation,
    AutomationCreate,
    DoNothing,
    EventTriggerInput,
    EventTriggerInputPosture,
    EventTriggerOutput,
)
from prefect_sdk import ObjectNotFound


def automation(name: str, **fields: Any) -> AutomationCreate:
    """A minimal valid automation: on event `<name>.happened`, do nothing."""
    trigger = EventTriggerInput(
        posture=EventTriggerInputPosture.REACTIVE, expect=[f"{name}.happened"]
    )
    return AutomationCreate(name=name, trigger=trigger, actions=[DoNothing()], **fields)


def as_dict(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"type": "event", "posture": "Reactive", "expect": [f"{name}.happened"]},
        "actions": [{"type": "do-nothing"}],
    }


def test_create_read_pause_resume_delete(client: Any, unique: str) -> None:
    automation_id = client.create_automation(automation(f"{unique}-auto", description="d"))
    assert isinstance(automation_id, uuid.UUID)
    read = client.read_automation(str(automation_id))
    assert isinstance(read, Automation) and (read.id, read.name) == (
        automation_id,
        f"{unique}-auto",
    )
    assert read.enabled is True and read.description == "d"
    assert isinstance(read.trigger, EventTriggerOutput)
    assert read.trigger.expect == [f"{unique}-auto.happened"]
    assert [type(action) for action in read.actions] == [DoNothing]

    assert client.pause_automation(automation_id) is None
    assert client.read_automation(automation_id).enabled is False
    client.resume_automation(str(automation_id))
    assert client.read_automation(automation_id).enabled is True

    client.update_automation(automation_id, {**as_dict(f"{unique}-renamed"), "enabled": False})
    updated = client.read_automation(automation_id)
    assert (updated.name, updated.enabled) == (f"{unique}-renamed", False)

    client.delete_automation(automation_id)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_automation(automation_id)
    with pytest.raises(ObjectNotFound):
        client.delete_automation(automation_id)
    with pytest.raises(ObjectNotFound):
        client.pause_automation(automation_id)


@pytest.mark.parametrize(
    "method", ["read_automation", "pause_automation", "resume_automation", "delete_automation"]
)
@pytest.mark.parametrize("bad", ["nope", 42, None])
def test_bad_id_raises_before_any_request(client: Any, method: str, bad: object) -> None:
    with pytest.raises(ValueError, match="automation_id must be a UUID"):
        getattr(client, method)(bad)


def test_invalid_body(client: Any) -> None:
    with pytest.raises(ValueError, match="automation is not a valid AutomationCreate"):
        client.create_automation({"name": "no trigger"})


def test_read_by_name_filters_and_paging(client: Any, unique: str) -> None:
    twins = {client.create_automation(as_dict(f"{unique}-twin")) for _ in range(2)}
    decoy = client.create_automation(as_dict(f"{unique}-twin-not"))
    assert {row.id for row in client.read_automations_by_name(f"{unique}-twin")} == twins
    assert client.read_automations_by_name(f"{unique}-nobody") == []
    by_name = {"name": {"any_": [f"{unique}-twin", f"{unique}-twin-not"]}}
    assert {row.id for row in client.read_automations(automations=by_name)} == twins | {decoy}
    by_id = {"id": {"any_": [str(decoy)]}}
    assert [row.id for row in client.read_automations(automations=by_id)] == [decoy]
    named = client.read_automations(automations=by_name, sort="NAME_DESC")
    assert named[0].id == decoy

    more = {client.create_automation(as_dict(f"{unique}-p{i}")) for i in range(6)}
    mine = {"id": {"any_": [str(i) for i in twins | more]}}
    getattr(client, "client", client).page_size = 3
    assert {row.id for row in client.read_automations(automations=mine)} == twins | more
    iterated = [row.id for row in client.iter_automations(automations=mine)]
    assert len(iterated) == 8 and set(iterated) == twins | more
    assert len(client.read_automations(automations=mine, limit=5)) == 5
    assert len(client.read_automations(automations=mine, offset=6)) == 2
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_automations(sort="SIDEWAYS")
