"""Unit tests of the coercion in `_resources/_common.py`: how dicts, generated models and
pydantic models (Prefect's own objects) become the generated models a request body holds.

No server: what reaches the server is covered by tests/resources/test_prefect_objects.py.
"""

from __future__ import annotations

import datetime
import enum
import subprocess
import sys
import uuid

import pydantic
import pytest
from prefect import states as prefect_states
from prefect.client.schemas import actions, filters, objects, sorting

from prefect_api.models import (
    ConcurrencyLimitV2Create,
    FlowRunFilter,
    FlowRunSort,
    LogCreate,
    StateCreate,
    StateType,
    VariableUpdate,
    WorkPoolCreate,
)
from prefect_api.types import UNSET
from prefect_sdk._resources._common import (
    as_enum,
    as_model,
    jsonable,
    state_body,
    type_path,
)

RUN_ID = uuid.UUID("0b0a5a53-8f0f-4d1d-9c42-6b8e3a0c0f11")
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


# ------------------------------------------------------------------ dicts, JSON-ready


def test_dict_with_uuids_and_datetimes_is_made_json_ready() -> None:
    parsed = as_model(
        {"id": {"any_": [RUN_ID]}, "start_time": {"after_": NOW}}, FlowRunFilter, "flow_run_filter"
    )
    assert parsed.to_dict() == {
        "id": {"any_": [str(RUN_ID)]},
        "start_time": {"after_": NOW.isoformat()},
    }


def test_dict_with_enums_takes_their_values() -> None:
    parsed = as_model(
        {"state": {"type": {"any_": [objects.StateType.COMPLETED, StateType.FAILED]}}},
        FlowRunFilter,
        "flow_run_filter",
    )
    assert parsed.to_dict()["state"]["type"]["any_"] == ["COMPLETED", "FAILED"]


def test_dict_value_without_json_form_is_named() -> None:
    with pytest.raises(ValueError, match=r"^flow_run_filter\.id\.any_\[1\] has no JSON form"):
        as_model({"id": {"any_": [RUN_ID, object()]}}, FlowRunFilter, "flow_run_filter")


def test_dict_value_of_the_wrong_type_names_the_field() -> None:
    with pytest.raises(
        ValueError,
        match=r"^flow_run_filter is not a valid FlowRunFilter \(at flow_run_filter\.start_time\): ",
    ):
        as_model({"start_time": {"after_": 5}}, FlowRunFilter, "flow_run_filter")


def test_a_bad_required_field_is_not_blamed_on_another() -> None:
    """The generated parser names the field that failed (`timestamp`), not another one."""
    given = {"name": "n", "level": 20, "message": "m", "timestamp": 5}
    with pytest.raises(
        ValueError, match=r"^logs\[0\] is not a valid LogCreate: .*LogCreate\.timestamp"
    ):
        as_model(given, LogCreate, "logs[0]")


def test_unknown_dict_key_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"does not know: flow_run_filter\.nmae$"):
        as_model({"nmae": {"any_": ["x"]}}, FlowRunFilter, "flow_run_filter")


# ------------------------------------------------------------ pydantic / Prefect objects


def test_prefect_filter_becomes_the_generated_filter_with_only_what_was_set() -> None:
    given = filters.FlowRunFilter(
        id=filters.FlowRunFilterId(any_=[RUN_ID]),
        state=filters.FlowRunFilterState(
            type=filters.FlowRunFilterStateType(any_=[objects.StateType.RUNNING])
        ),
    )
    parsed = as_model(given, FlowRunFilter, "flow_run_filter")
    assert isinstance(parsed, FlowRunFilter)
    assert parsed.to_dict() == {
        "id": {"any_": [str(RUN_ID)]},
        "state": {"type": {"any_": ["RUNNING"]}},
    }


def test_prefect_filter_of_another_kind_is_refused_naming_both_types() -> None:
    with pytest.raises(ValueError) as caught:
        as_model(filters.DeploymentFilter(), FlowRunFilter, "flow_run_filter")
    assert str(caught.value) == (
        "flow_run_filter must be a prefect_api.models.FlowRunFilter, a dict or a pydantic "
        "model, not prefect.client.schemas.filters.DeploymentFilter"
    )


def test_other_types_are_refused_naming_both_types() -> None:
    with pytest.raises(ValueError, match=r"prefect_api\.models\.FlowRunFilter, .* not int$"):
        as_model(5, FlowRunFilter, "flow_run_filter")


def test_update_sends_only_the_fields_that_were_set() -> None:
    parsed = as_model(actions.VariableUpdate(value=2), VariableUpdate, "variable")
    assert parsed.to_dict() == {"value": 2}


def test_create_under_prefects_own_class_name() -> None:
    given = actions.GlobalConcurrencyLimitCreate(name="gcl", limit=3)
    parsed = as_model(given, ConcurrencyLimitV2Create, "concurrency_limit")
    assert (parsed.name, parsed.limit) == ("gcl", 3)


def test_prefect_log_create_whose_own_dump_fails_without_its_defaults() -> None:
    # Prefect's LogCreate.model_dump(exclude_unset=True) raises KeyError('worker_id').
    given = actions.LogCreate(name="n", level=20, message="m", timestamp=NOW, flow_run_id=RUN_ID)
    parsed = as_model(given, LogCreate, "logs[0]")
    assert parsed.to_dict() == {
        "name": "n",
        "level": 20,
        "message": "m",
        "timestamp": NOW.isoformat(),
        "flow_run_id": str(RUN_ID),
    }  # and no `task_run_id: null`, `worker_id: null`: fields that were not set


def test_pydantic_model_with_fields_the_generated_model_lacks_is_refused_by_name() -> None:
    """As a newer Prefect's object with a field this server's document does not have."""

    class Newer(pydantic.BaseModel):
        name: str
        type: str
        bogus: int

    with pytest.raises(ValueError, match=r"does not know: work_pool\.bogus$"):
        as_model(Newer(name="p", type="process", bogus=1), WorkPoolCreate, "work_pool")


def test_any_pydantic_model_of_the_right_shape_is_accepted() -> None:
    class MyPool(pydantic.BaseModel):
        name: str
        type: str = "process"

    parsed = as_model(MyPool(name="mine"), WorkPoolCreate, "work_pool")
    # only what was set: the model's own default for `type` is not sent
    assert parsed.name == "mine" and parsed.type_ is UNSET


# --------------------------------------------------------------------------- states


def test_prefect_state_becomes_a_state_create() -> None:
    body = state_body(prefect_states.Completed(message="done"), flow_run_id=RUN_ID)
    assert isinstance(body, StateCreate)
    assert body.type_ is StateType.COMPLETED
    assert (body.name, body.message) == ("Completed", "done")
    assert body.state_details.flow_run_id == RUN_ID


def test_prefect_state_keeps_its_details_and_drops_id_and_timestamp() -> None:
    state = prefect_states.Scheduled(scheduled_time=NOW)
    body = state_body(state)
    assert body.type_ is StateType.SCHEDULED
    assert body.state_details.scheduled_time == NOW
    assert "id" not in body.to_dict() and "timestamp" not in body.to_dict()


def test_prefect_state_create_is_accepted() -> None:
    body = state_body(prefect_states.to_state_create(prefect_states.Running()))
    assert body.type_ is StateType.RUNNING and body.name == "Running"


def test_a_filter_is_not_a_state() -> None:
    with pytest.raises(ValueError, match=r"not prefect\.client\.schemas\.filters\.FlowFilter$"):
        state_body(filters.FlowFilter())


# --------------------------------------------------------------------------- enums


def test_prefect_enum_member_is_taken_by_value() -> None:
    assert as_enum(sorting.FlowRunSort.ID_DESC, FlowRunSort, "sort") is FlowRunSort.ID_DESC
    assert as_enum(objects.StateType.COMPLETED, StateType, "type") is StateType.COMPLETED


def test_enum_of_an_unknown_value_is_refused_listing_the_allowed() -> None:
    class Other(enum.Enum):
        X = "NOPE"

    with pytest.raises(ValueError, match=r"^sort must be one of .*ID_DESC.*, not 'NOPE'$"):
        as_enum(Other.X, FlowRunSort, "sort")


def test_jsonable_handles_nested_enums_and_pydantic_models() -> None:
    assert jsonable(
        {"a": [objects.StateType.FAILED], "b": filters.FlowFilterId(any_=[RUN_ID])}
    ) == {
        "a": ["FAILED"],
        "b": {"any_": [str(RUN_ID)]},
    }


def test_type_path() -> None:
    assert type_path(FlowRunFilter) == "prefect_api.models.FlowRunFilter"
    assert type_path(filters.FlowRunFilter) == "prefect.client.schemas.filters.FlowRunFilter"
    assert type_path(dict) == "dict"


def test_coercion_does_not_import_prefect() -> None:
    """Prefect stays optional: objects are recognised by shape (`model_dump`), never by import."""
    code = (
        "import sys, uuid\n"
        "from prefect_sdk._resources._common import as_model, state_body\n"
        "from prefect_api.models import FlowRunFilter\n"
        "as_model({'id': {'any_': [uuid.uuid4()]}}, FlowRunFilter, 'f')\n"
        "state_body({'type': 'COMPLETED'})\n"
        "import pydantic\n"
        "class S(pydantic.BaseModel):\n"
        "    type: str\n"
        "state_body(S(type='RUNNING'))\n"
        "assert 'prefect' not in sys.modules, 'prefect was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- blocks


def _secret_block_document() -> object:
    from prefect.blocks.system import Secret

    return Secret(value="hunter2")._to_block_document(
        name="s", block_schema_id=RUN_ID, block_type_id=RUN_ID
    )


def test_prefect_block_documents_keep_their_secrets() -> None:
    """Prefect's BlockDocument (what `Block._to_block_document` gives, and Prefect's client
    sends) dumps its SecretStr fields as "**********" unless asked as Prefect's client asks."""
    from prefect_api.models import BlockDocumentCreate

    parsed = as_model(_secret_block_document(), BlockDocumentCreate, "block_document")
    assert parsed.data.to_dict() == {"value": "hunter2"}
    assert (parsed.name, parsed.block_schema_id, parsed.block_type_id) == ("s", RUN_ID, RUN_ID)
    assert "id" not in parsed.to_dict()  # the document's own id is not part of a create
