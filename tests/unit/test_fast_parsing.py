"""The generated package's fast parsing (templates/types.py.jinja, model.py.jinja and the property
and endpoint templates): faster, and still the same values and the same refusals as before."""

from __future__ import annotations

import datetime
import json
import pickle
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from prefect_api import types
from prefect_api.api.flow_runs import read_flow_runs
from prefect_api.client import Client
from prefect_api.models import FlowRunResponse, State, StateType
from prefect_api.types import UNSET, loads_json, parse_datetime, parse_uuid
from prefect_sdk._operations import PARSE_ERRORS

MODELS = Path(__file__).resolve().parents[2] / "generated" / "prefect_api" / "models"
RUN_ID = "ff341e30-730b-4007-aa67-1d5877e6feac"
STATE_ID = "01a233b3-9db8-75e3-a2cb-4713466d7c89"
FLOW_ID = "f4c6f5d9-f12e-454b-b255-d28e74f7acab"
WHEN = "2026-12-01T22:22:19.064858Z"


def flow_run(index: int = 0, **changes: Any) -> dict[str, Any]:
    """A flow run as the server sends it (the fields a page of /flow_runs/filter carries)."""
    row: dict[str, Any] = {
        "id": RUN_ID if index == 0 else str(uuid.UUID(int=index)),
        "created": WHEN,
        "updated": WHEN,
        "name": f"run-{index}",
        "flow_id": FLOW_ID,
        "state_id": STATE_ID,
        "deployment_id": None,
        "parameters": {"index": index, "values": [1, 2, 3]},
        "context": {},
        "empirical_policy": {"max_retries": 0, "retry_delay_seconds": 0.0, "pause_keys": []},
        "tags": ["bench"],
        "labels": {"prefect.flow.id": FLOW_ID},
        "state_type": "SCHEDULED",
        "expected_start_time": "2026-12-31T22:21:40.249669+00:00",
        "start_time": None,
        "created_by": None,
        "state": {
            "id": STATE_ID,
            "type": "SCHEDULED",
            "name": "Scheduled",
            "timestamp": WHEN,
            "state_details": {"flow_run_id": RUN_ID, "scheduled_time": WHEN},
        },
        "job_variables": {},
    }
    row.update(changes)
    return row


# ----- parse_uuid: uuid.UUID's answers, faster -----

ACCEPTED = [
    RUN_ID,
    RUN_ID.upper(),
    RUN_ID.replace("-", ""),
    "{" + RUN_ID + "}",
    "urn:uuid:" + RUN_ID,
    " " + RUN_ID.replace("-", "")[:-2] + " ",  # int(..., 16) trims spaces: UUID accepts this
]
REFUSED: list[Any] = [
    "",
    RUN_ID[:-1],
    RUN_ID + "0",
    RUN_ID[:8] + "-" + RUN_ID[9:-1] + "-",  # 32 characters besides five hyphens, one short
    "{" + RUN_ID[1:-1] + "}",  # braces in place of two digits
    "urn:" + RUN_ID[4:],
    RUN_ID.replace("f", "g"),
    12345,
    None,
    ["not", "an", "id"],
]


def test_the_shortcut_is_in_use() -> None:
    assert types._build_uuid is types._parse_uuid_fast


@pytest.mark.parametrize("text", ACCEPTED)
def test_parse_uuid_accepts_what_uuid_accepts(text: str) -> None:
    types._uuids.clear()
    parsed = parse_uuid(text)
    expected = uuid.UUID(text)
    assert type(parsed) is uuid.UUID
    assert (parsed, str(parsed), hash(parsed), parsed.version) == (
        expected,
        str(expected),
        hash(expected),
        expected.version,
    )
    assert parsed.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(parsed)) == expected
    with pytest.raises(TypeError):
        parsed.int = 1  # type: ignore[misc]  # as immutable as any UUID


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_parse_uuid_refuses_what_uuid_refuses(value: Any) -> None:
    with pytest.raises(PARSE_ERRORS) as expected:
        uuid.UUID(value)
    with pytest.raises(PARSE_ERRORS) as raised:
        parse_uuid(value)
    # The same kind where the shortcut decides (unhashable values fail at the id cache instead),
    # and nothing refused is cached.
    if isinstance(value, str):
        assert raised.type is expected.type is ValueError
        assert value not in types._uuids


def test_a_body_shares_one_uuid_per_id_and_loads_json_starts_afresh() -> None:
    loads_json(b"[]")
    first, second = parse_uuid(RUN_ID), parse_uuid(str(RUN_ID))
    assert first is second
    loads_json(b"[]")
    assert types._uuids == {}
    assert parse_uuid(RUN_ID) is not first and parse_uuid(RUN_ID) == first


def test_the_id_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "UUID_CACHE_MAX", 8)
    types._uuids.clear()
    for index in range(50):
        parse_uuid(str(uuid.UUID(int=index)))
    assert len(types._uuids) <= 8


# ----- parse_datetime -----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2026-12-01T22:22:19Z",
            datetime.datetime(2026, 12, 1, 22, 22, 19, tzinfo=datetime.timezone.utc),
        ),
        (
            "2026-12-01T22:22:19.064858Z",
            datetime.datetime(2026, 12, 1, 22, 22, 19, 64858, tzinfo=datetime.timezone.utc),
        ),
        (
            "2026-12-01T22:22:19.5+02:00",
            datetime.datetime(
                2026,
                12,
                1,
                22,
                22,
                19,
                500000,
                tzinfo=datetime.timezone(datetime.timedelta(hours=2)),
            ),
        ),
        (
            "2026-12-01T22:22:19.064858-05:30",
            datetime.datetime(
                2026,
                12,
                1,
                22,
                22,
                19,
                64858,
                tzinfo=datetime.timezone(-datetime.timedelta(hours=5, minutes=30)),
            ),
        ),
        (
            "2026-12-01 22:22:19+00:00",
            datetime.datetime(2026, 12, 1, 22, 22, 19, tzinfo=datetime.timezone.utc),
        ),
    ],
)
def test_parse_datetime_reads_the_servers_forms(text: str, expected: datetime.datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["2026-13-01T00:00:00Z", "yesterday", ""])
def test_parse_datetime_refuses_what_is_no_date_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


# ----- loads_json: json's values, through orjson where that is faster -----


def big_body(*extra: str) -> bytes:
    """A body over ORJSON_MIN_BYTES, so that loads_json tries orjson."""
    rows = [json.dumps(flow_run(index)) for index in range(12)]
    body = ("[" + ", ".join([*rows, *extra]) + "]").encode()
    assert len(body) >= types.ORJSON_MIN_BYTES
    return body


def test_loads_json_uses_orjson_for_large_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    orjson = pytest.importorskip("orjson")
    calls: list[int] = []

    def counting_loads(content: bytes) -> Any:
        calls.append(len(content))
        return orjson.loads(content)

    monkeypatch.setattr(
        types,
        "_orjson",
        type(
            "Fake",
            (),
            {"loads": staticmethod(counting_loads), "JSONDecodeError": orjson.JSONDecodeError},
        ),
    )
    body = big_body()
    assert loads_json(body) == json.loads(body)
    assert calls == [len(body)]
    assert loads_json(b'{"small": 1}') == {"small": 1}
    assert calls == [len(body)]  # a small body goes to json


def test_loads_json_imports_orjson_on_first_large_body(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("orjson")
    monkeypatch.setattr(types, "_orjson", None)
    loads_json(b"[1]")
    assert types._orjson is None  # small bodies never import it
    loads_json(big_body())
    assert types._orjson is sys.modules["orjson"]


def test_loads_json_without_orjson_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "_orjson", None)
    monkeypatch.setitem(sys.modules, "orjson", None)  # `import orjson` now raises ImportError
    body = big_body()
    assert loads_json(body) == json.loads(body)
    assert types._orjson is False
    with pytest.raises(json.JSONDecodeError):
        loads_json(body[:-1])


@pytest.mark.parametrize(
    "value",
    [
        "123456789012345678901234567890",  # beyond 64 bits: orjson would give a float
        "-9223372036854775809",  # below the 64-bit minimum
        "18446744073709551616",
        "NaN",  # json accepts it, orjson does not
        '"\\ud800"',  # a lone surrogate, likewise
    ],
)
def test_loads_json_gives_what_json_gives(value: str) -> None:
    body = big_body(value)
    parsed = loads_json(body)
    expected = json.loads(body)
    assert repr(parsed[-1]) == repr(expected[-1])
    assert type(parsed[-1]) is type(expected[-1])


def test_loads_json_refuses_what_json_refuses() -> None:
    body = big_body()
    for broken in (body[:-1], body.replace(b"[", b"{", 1), b"", b"\xff" * 5000):
        with pytest.raises(ValueError):
            loads_json(broken)


def test_endpoints_decode_with_loads_json() -> None:
    assert read_flow_runs.loads_json is types.loads_json
    body = big_body()
    response = httpx.Response(200, content=body, request=httpx.Request("POST", "http://x/"))
    client = Client(base_url="http://x", raise_on_unexpected_status=True)
    runs = read_flow_runs._parse_response(client=client, response=response)
    assert isinstance(runs, list) and len(runs) == 12
    assert all(isinstance(run, FlowRunResponse) for run in runs)


# ----- from_dict: no copy of the body, the same checks -----


def test_from_dict_reads_a_flow_run() -> None:
    loads_json(b"[]")
    run = FlowRunResponse.from_dict(flow_run())
    assert run.id == uuid.UUID(RUN_ID) and run.state_id == uuid.UUID(STATE_ID)
    assert run.state_id is run.state.id  # one UUID per id within a body
    assert run.deployment_id is None and run.work_queue_id is UNSET
    assert run.state_type is StateType.SCHEDULED and run.state.type_ is StateType.SCHEDULED
    assert run.expected_start_time.utcoffset() == datetime.timedelta(0)
    assert run.parameters.additional_properties == {"index": 0, "values": [1, 2, 3]}
    assert run.labels["prefect.flow.id"] == FLOW_ID
    assert run.additional_properties == {}
    assert FlowRunResponse.from_dict(run.to_dict()) == run


def test_from_dict_keeps_unknown_keys_in_order_and_does_not_change_the_body() -> None:
    row = flow_run(zeta=1, alpha={"x": [1]})
    before = json.loads(json.dumps(row))
    run = FlowRunResponse.from_dict(row)
    assert list(run.additional_properties.items()) == [("zeta", 1), ("alpha", {"x": [1]})]
    assert row == before
    run.parameters["new"] = 1
    assert "new" not in row["parameters"]  # the model's extras are its own dict


@pytest.mark.parametrize(
    "row",
    [
        {k: v for k, v in flow_run().items() if k != "id"},  # a required key missing
        flow_run(id="not-an-id"),
        flow_run(id=12),
        flow_run(flow_id=None),
        flow_run(created="tomorrow"),
        flow_run(state_type="NOT_A_STATE"),
        flow_run(state_type=["SCHEDULED"]),  # unhashable
        flow_run(parameters=None),  # a model without fields still wants an object
        flow_run(parameters=[1, 2]),
        flow_run(empirical_policy="none"),
        flow_run(state={"id": STATE_ID}),  # the nested model's required key missing
        "not an object",
        None,
        [flow_run()],
    ],
    ids=lambda row: repr(row)[:60],
)
def test_from_dict_still_refuses_a_body_that_is_not_the_model(row: Any) -> None:
    with pytest.raises(PARSE_ERRORS):
        FlowRunResponse.from_dict(row)


def test_enum_fields_give_their_members_and_refuse_other_values() -> None:
    state = State.from_dict({"id": STATE_ID, "type": "COMPLETED"})
    assert state.type_ is StateType.COMPLETED
    with pytest.raises(ValueError, match="is not a valid StateType"):
        State.from_dict({"id": STATE_ID, "type": "completed"})


def test_generated_from_dict_neither_copies_nor_pops() -> None:
    """The template change itself: no per-call dict copy, pop chain or isinstance test on UNSET
    in any model's from_dict (all of them were there before)."""
    offenders: list[str] = []
    for path in sorted(MODELS.glob("*.py")):
        source = path.read_text()
        start = source.find("def from_dict")
        if start < 0:
            continue
        body = source[start:]
        if re.search(r"\bd = dict\(src_dict\)|\bd\.pop\(|isinstance\(_\w+, +Unset\)", body):
            offenders.append(path.name)
    assert offenders == []


def test_generated_enums_and_untyped_unions_take_the_short_path() -> None:
    """Enum fields look their value up in the member map first, and a union none of whose types
    parses anything (a label's bool | float | int | str) is kept inline, without a nested function
    defined on every call."""
    state = (MODELS / "state.py").read_text()
    assert 'StateType._value2member_map_.get(src_dict["type"]) or StateType(' in state
    labels = (MODELS / "flow_run_response_labels.py").read_text()
    assert "def _parse_additional_property" not in labels
    assert "additional_property: bool | float | int | str = prop_dict" in labels
    run = FlowRunResponse.from_dict(flow_run(labels={"a": 1, "b": "x", "c": True}))
    assert run.labels.additional_properties == {"a": 1, "b": "x", "c": True}
