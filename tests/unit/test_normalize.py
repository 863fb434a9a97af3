"""Unit tests for scripts/normalize.py: each rule on a tiny spec, then the real openapi.json."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RAW_SPEC = ROOT / "openapi.json"
API_VERSION = json.loads((ROOT / "scripts" / "spec_source.json").read_text())["api_version"]


def _load_normalize() -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(
        "prefect_sdk_scripts_normalize", ROOT / "scripts" / "normalize.py"
    )
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


normalize_module = _load_normalize()
normalize = normalize_module.normalize
operations = normalize_module.operations
tag_module = normalize_module.tag_module
route_function_name = normalize_module.route_function_name
name_operations_after_route_functions = normalize_module.name_operations_after_route_functions
drop_api_version_header = normalize_module.drop_api_version_header
name_split_schemas_apart = normalize_module.name_split_schemas_apart
name_request_bodies_after_operations = normalize_module.name_request_bodies_after_operations
document_created_responses = normalize_module.document_created_responses
drop_unrepresentable_defaults = normalize_module.drop_unrepresentable_defaults
drop_defaults_of_partial_updates = normalize_module.drop_defaults_of_partial_updates

VERSION_HEADER = {
    "name": "x-prefect-api-version",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "title": "X-Prefect-Api-Version"},
}
ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def _operation(
    operation_id: str, *tags: str, parameters: list[Any] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": operation_id,
        "responses": {"200": {"description": "OK"}},
    }
    if tags:
        operation["tags"] = list(tags)
    if parameters is not None:
        operation["parameters"] = copy.deepcopy(parameters)
    return operation


def _spec(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Prefect Prefect REST API", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas or {}},
    }


def _tiny_spec() -> dict[str, Any]:
    """A small FastAPI-like document with one instance of every problem the rules fix."""
    return _spec(
        paths={
            "/flows/{id}": {
                "parameters": [{"name": "shared", "in": "query"}],
                "get": _operation(
                    "read_flow_flows__id__get", "Flows", parameters=[ID_PARAMETER, VERSION_HEADER]
                ),
                "delete": _operation(
                    "delete_flow_flows__id__delete",
                    "Flows",
                    parameters=[ID_PARAMETER, VERSION_HEADER],
                ),
            },
            "/health": {"get": _operation("health_check_health_get", "Root")},
            "/version": {"get": _operation("server_version_version_get")},
            "/hello": {"get": _operation("hello_hello_get", "Root", parameters=[VERSION_HEADER])},
        },
        schemas={
            "Trigger-Input": {
                "title": "Trigger",
                "type": "object",
                "properties": {"within": {"type": "number", "title": "Within"}},
            },
            "Trigger-Output": {
                "title": "Trigger",
                "type": "object",
                "properties": {"within": {"type": "number", "title": "Within"}},
            },
            "IsAnonymous": {
                "title": "IsAnonymous",
                "type": "object",
                "properties": {"eq_": {"type": "boolean", "title": "Eq"}},
            },
            "Color": {"title": "Color", "type": "string", "enum": ["red", "blue"]},
            "DocumentFilter": {
                "title": "DocumentFilter",
                "type": "object",
                "properties": {
                    "is_anonymous": {
                        "anyOf": [{"$ref": "#/components/schemas/IsAnonymous"}, {"type": "null"}],
                        "description": "Defaults to excluding anonymous documents.",
                        "default": {"eq_": False},
                    },
                    "direct": {
                        "$ref": "#/components/schemas/IsAnonymous",
                        "default": {"eq_": True},
                    },
                    "all_of": {
                        "allOf": [{"$ref": "#/components/schemas/IsAnonymous"}],
                        "default": {"eq_": True},
                    },
                    "color": {"$ref": "#/components/schemas/Color", "default": "red"},
                    "plain_dict": {"type": "object", "title": "Plain", "default": {"a": 1}},
                    "listed": {
                        "anyOf": [
                            {"type": "array", "items": {"$ref": "#/components/schemas/Color"}},
                            {"type": "null"},
                        ],
                        "default": ["red"],
                    },
                    "name": {"type": "string", "title": "Name", "default": "x"},
                },
            },
        },
    )


def _operation_ids(spec: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(path, method): op["operationId"] for path, method, op in operations(spec)}


def _without_operation_ids(spec: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(spec)
    for _, _, operation in operations(stripped):
        del operation["operationId"]
    return stripped


def _is_version_header(parameter: dict[str, Any]) -> bool:
    return (
        parameter.get("in") == "header"
        and parameter.get("name", "").lower() == "x-prefect-api-version"
    )


def _defaults(spec: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (key, name): prop["default"]
        for key, schema in spec["components"]["schemas"].items()
        for name, prop in schema.get("properties", {}).items()
        if "default" in prop
    }


@pytest.fixture(scope="module")
def raw_spec() -> dict[str, Any]:
    return json.loads(RAW_SPEC.read_text())


@pytest.fixture(scope="module")
def normalized_spec(raw_spec: dict[str, Any]) -> dict[str, Any]:
    return normalize(raw_spec, api_version=API_VERSION)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def test_rules_are_the_named_rules_in_order() -> None:
    assert [rule.__name__ for rule in normalize_module.RULES] == [
        "name_operations_after_route_functions",
        "drop_api_version_header",
        "drop_ui_hint_header",
        "name_split_schemas_apart",
        "name_request_bodies_after_operations",
        "document_created_responses",
        "drop_unrepresentable_defaults",
        "drop_defaults_of_partial_updates",
    ]
    for rule in normalize_module.RULES:
        assert rule.__doc__ and rule.__doc__.strip(), f"{rule.__name__} has no reason docstring"


def test_operations_yields_only_http_methods_in_document_order() -> None:
    found = [(path, method) for path, method, _ in operations(_tiny_spec())]
    assert found == [
        ("/flows/{id}", "get"),
        ("/flows/{id}", "delete"),
        ("/health", "get"),
        ("/version", "get"),
        ("/hello", "get"),
    ]


@pytest.mark.parametrize(
    ("tag", "module"),
    [
        ("Flows", "flows"),
        ("Flow Runs", "flow_runs"),
        (" Concurrency Limits V2 ", "concurrency_limits_v2"),
    ],
)
def test_tag_module(tag: str, module: str) -> None:
    assert tag_module(tag) == module


def test_tag_module_agrees_with_generator(raw_spec: dict[str, Any]) -> None:
    tags = {tag for _, _, operation in operations(raw_spec) for tag in operation.get("tags", [])}
    packages = {
        p.name for p in (ROOT / "generated" / "prefect_api" / "api").iterdir() if p.is_dir()
    }
    first_tags = {(op.get("tags") or ["default"])[0] for _, _, op in operations(raw_spec)}
    assert "SavedSearches" in tags
    assert {tag_module(tag) for tag in first_tags} == packages - {"__pycache__"}


def test_route_function_name_recovers_the_function_name() -> None:
    assert route_function_name("read_flow_flows__id__get", "/flows/{id}", "get") == "read_flow"
    assert (
        route_function_name(
            "validate_template_automations_templates_validate_post",
            "/automations/templates/validate",
            "post",
        )
        == "validate_template"
    )


@pytest.mark.parametrize(
    ("operation_id", "path", "method"),
    [
        ("readFlow", "/flows/{id}", "get"),  # a hand-written id, not FastAPI's
        ("read_flow_flows__id__get", "/flows/{id}", "delete"),  # another method's id
        ("read_flow_flows__id__get", "/flow_runs/{id}", "get"),  # another path's id
        ("_flows__id__get", "/flows/{id}", "get"),  # nothing left for the function name
    ],
)
def test_route_function_name_rejects_a_foreign_id(
    operation_id: str, path: str, method: str
) -> None:
    with pytest.raises(ValueError, match="is not FastAPI's id"):
        route_function_name(operation_id, path, method)


# --------------------------------------------------------------------------------------
# name_operations_after_route_functions
# --------------------------------------------------------------------------------------


def test_operations_are_named_after_route_functions_and_nothing_else_changes() -> None:
    before = _tiny_spec()
    after = copy.deepcopy(before)
    name_operations_after_route_functions(after)
    assert _operation_ids(after) == {
        ("/flows/{id}", "get"): "read_flow",
        ("/flows/{id}", "delete"): "delete_flow",
        ("/health", "get"): "health_check",
        ("/version", "get"): "server_version",
        ("/hello", "get"): "hello",
    }
    assert _without_operation_ids(after) == _without_operation_ids(before)


def test_same_name_under_different_tags_is_not_a_clash() -> None:
    spec = _spec(
        {
            "/flows/filter": {"post": _operation("read_things_flows_filter_post", "Flows")},
            "/deployments/filter": {
                "post": _operation("read_things_deployments_filter_post", "Deployments")
            },
        }
    )
    name_operations_after_route_functions(spec)
    assert set(_operation_ids(spec).values()) == {"read_things"}


def test_clash_is_settled_in_favour_of_the_tags_own_prefix() -> None:
    spec = _spec(
        {
            "/templates/validate": {
                "post": _operation("validate_template_templates_validate_post", "Automations")
            },
            "/automations/templates/validate": {
                "post": _operation(
                    "validate_template_automations_templates_validate_post", "Automations"
                )
            },
            "/automations/": {
                "post": _operation("create_automation_automations__post", "Automations")
            },
        }
    )
    name_operations_after_route_functions(spec)
    assert _operation_ids(spec) == {
        ("/templates/validate", "post"): "templates_validate_template",
        ("/automations/templates/validate", "post"): "validate_template",
        ("/automations/", "post"): "create_automation",
    }


def test_clash_without_an_owner_fails() -> None:
    spec = _spec(
        {
            "/templates/validate": {
                "post": _operation("validate_template_templates_validate_post", "Automations")
            },
            "/other/validate": {
                "post": _operation("validate_template_other_validate_post", "Automations")
            },
        }
    )
    with pytest.raises(
        ValueError, match="cannot settle the name clash of automations.validate_template"
    ):
        name_operations_after_route_functions(spec)


def test_clash_with_two_owners_fails() -> None:
    spec = _spec(
        {
            "/automations/a/validate": {
                "post": _operation("validate_automations_a_validate_post", "Automations")
            },
            "/automations/b/validate": {
                "post": _operation("validate_automations_b_validate_post", "Automations")
            },
        }
    )
    with pytest.raises(ValueError, match="cannot settle"):
        name_operations_after_route_functions(spec)


def test_clash_whose_renaming_clashes_again_fails() -> None:
    spec = _spec(
        {
            "/templates/validate": {
                "post": _operation("validate_template_templates_validate_post", "Automations")
            },
            "/automations/templates/validate": {
                "post": _operation(
                    "validate_template_automations_templates_validate_post", "Automations"
                )
            },
            "/automations/other": {
                "post": _operation(
                    "templates_validate_template_automations_other_post", "Automations"
                )
            },
        }
    )
    with pytest.raises(ValueError, match="clashes with templates_validate_template"):
        name_operations_after_route_functions(spec)


def test_naming_rejects_an_operation_id_that_is_not_fastapis() -> None:
    spec = _spec({"/flows/": {"get": _operation("listFlows", "Flows")}})
    with pytest.raises(ValueError, match="listFlows"):
        name_operations_after_route_functions(spec)


def test_real_spec_operation_naming_touches_only_operation_ids(raw_spec: dict[str, Any]) -> None:
    after = copy.deepcopy(raw_spec)
    name_operations_after_route_functions(after)
    renamed = _operation_ids(after)
    for (path, method), operation_id in _operation_ids(raw_spec).items():
        short = renamed[(path, method)]
        name = route_function_name(operation_id, path, method)
        first_segment = tag_module(path.strip("/").split("/", 1)[0])
        assert short in (name, f"{first_segment}_{name}"), (path, method, short)
        assert "__" not in short
    assert renamed[("/flows/{id}", "get")] == "read_flow"
    assert renamed[("/templates/validate", "post")] == "templates_validate_template"
    assert renamed[("/automations/templates/validate", "post")] == "validate_template"
    assert _without_operation_ids(after) == _without_operation_ids(raw_spec)


# --------------------------------------------------------------------------------------
# drop_api_version_header
# --------------------------------------------------------------------------------------


def test_api_version_header_is_dropped_and_nothing_else_changes() -> None:
    before = _tiny_spec()
    upper = {**VERSION_HEADER, "name": "X-PREFECT-API-VERSION"}
    query = {"name": "x-prefect-api-version", "in": "query", "schema": {"type": "string"}}
    other = {"name": "x-other", "in": "header", "schema": {"type": "string"}}
    before["paths"]["/flows/{id}"]["delete"]["parameters"] = [upper, ID_PARAMETER, query, other]
    after = copy.deepcopy(before)
    drop_api_version_header(after)

    assert after["paths"]["/flows/{id}"]["get"]["parameters"] == [ID_PARAMETER]
    # Case-insensitive; a query parameter or another header of that name stays, in order.
    assert after["paths"]["/flows/{id}"]["delete"]["parameters"] == [ID_PARAMETER, query, other]
    # An operation left without parameters loses the key (no empty list).
    assert "parameters" not in after["paths"]["/hello"]["get"]
    # Path-item parameters are not an operation's.
    assert (
        after["paths"]["/flows/{id}"]["parameters"] == before["paths"]["/flows/{id}"]["parameters"]
    )

    for (_, _, old), (_, _, new) in zip(operations(before), operations(after), strict=True):
        kept = [
            parameter
            for parameter in old.pop("parameters", [])
            if not _is_version_header(parameter)
        ]
        assert new.pop("parameters", []) == kept
    for _, _, new in operations(after):
        new.pop("parameters", None)
    assert after == before


def test_real_spec_loses_every_version_header_and_only_that(raw_spec: dict[str, Any]) -> None:
    headers = sum(
        1
        for _, _, operation in operations(raw_spec)
        for parameter in operation.get("parameters", [])
        if _is_version_header(parameter)
    )
    assert headers > 150  # the raw document really has them on (nearly) every operation
    after = copy.deepcopy(raw_spec)
    drop_api_version_header(after)
    for (path, method, old), (_, _, new) in zip(
        operations(raw_spec), operations(after), strict=True
    ):
        kept = [
            parameter
            for parameter in old.get("parameters", [])
            if not _is_version_header(parameter)
        ]
        assert new.get("parameters", []) == kept, (path, method)
        assert ("parameters" in new) == bool(kept), (path, method)
        assert {k: v for k, v in new.items() if k != "parameters"} == {
            k: v for k, v in old.items() if k != "parameters"
        }
    assert after["components"] == raw_spec["components"]


# --------------------------------------------------------------------------------------
# name_split_schemas_apart
# --------------------------------------------------------------------------------------


def test_split_schemas_get_their_own_titles_and_nothing_else_changes() -> None:
    before = _tiny_spec()
    after = copy.deepcopy(before)
    name_split_schemas_apart(after)
    schemas = after["components"]["schemas"]
    assert schemas["Trigger-Input"]["title"] == "TriggerInput"
    assert schemas["Trigger-Output"]["title"] == "TriggerOutput"
    assert list(schemas) == list(before["components"]["schemas"])  # keys ($ref targets) stay
    for key in ("Trigger-Input", "Trigger-Output"):
        schemas[key]["title"] = "Trigger"
    assert after == before


def test_real_spec_split_schema_titles(raw_spec: dict[str, Any]) -> None:
    raw_titles = Counter(s.get("title") for s in raw_spec["components"]["schemas"].values())
    assert raw_titles["EventTrigger"] == 2  # the problem the rule solves
    after = copy.deepcopy(raw_spec)
    name_split_schemas_apart(after)
    split = [key for key in after["components"]["schemas"] if key.endswith(("-Input", "-Output"))]
    assert "EventTrigger-Input" in split and "IntervalSchedule-Output" in split
    for key, schema in after["components"]["schemas"].items():
        expected = (
            key.replace("-", "")
            if key in split
            else raw_spec["components"]["schemas"][key].get("title")
        )
        assert schema.get("title") == expected
        restored = {**schema, "title": raw_spec["components"]["schemas"][key].get("title")}
        if "title" not in raw_spec["components"]["schemas"][key]:
            del restored["title"]
        assert restored == raw_spec["components"]["schemas"][key]
    assert after["paths"] == raw_spec["paths"]


# --------------------------------------------------------------------------------------
# name_request_bodies_after_operations
# --------------------------------------------------------------------------------------


def _body_operation(operation_id: str, tag: str, schema_key: str) -> dict[str, Any]:
    operation = _operation(operation_id, tag)
    operation["requestBody"] = {
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_key}"}}}
    }
    return operation


def _body_schema(key: str) -> dict[str, Any]:
    return {"title": key, "type": "object", "properties": {"limit": {"type": "integer"}}}


def test_request_bodies_are_named_after_their_operations_and_nothing_else_changes() -> None:
    keys = [
        "Body_read_flows_flows_filter_post",
        "Body_read_work_queues_work_pools__name__queues_filter_post",
        "Body_read_work_queues_work_queues_filter_post",
        "Body_shared",
    ]
    before = _spec(
        {
            "/flows/filter": {"post": _body_operation("read_flows", "Flows", keys[0])},
            "/work_pools/{name}/queues/filter": {
                "post": _body_operation("read_work_queues", "Work Pools", keys[1])
            },
            "/work_queues/filter": {
                "post": _body_operation("read_work_queues", "Work Queues", keys[2])
            },
            "/a": {"post": _body_operation("first_user", "Flows", keys[3])},
            "/b": {"post": _body_operation("second_user", "Flows", keys[3])},
            "/c": {"post": _body_operation("not_a_body", "Flows", "FlowCreate")},
        },
        schemas={key: _body_schema(key) for key in [*keys, "FlowCreate"]},
    )
    after = copy.deepcopy(before)
    name_request_bodies_after_operations(after)
    titles = {key: schema["title"] for key, schema in after["components"]["schemas"].items()}
    assert titles == {
        keys[0]: "ReadFlowsBody",
        keys[1]: "ReadWorkQueuesBody",
        keys[2]: "WorkQueuesReadWorkQueuesBody",  # the bare name was taken: the tag goes first
        keys[3]: "FirstUserBody",  # a shared body keeps the first operation's name
        "FlowCreate": "FlowCreate",  # not a FastAPI body schema
    }
    for key in keys:
        after["components"]["schemas"][key]["title"] = key
    assert after == before


def test_request_body_name_clash_fails() -> None:
    spec = _spec(
        {
            "/flows/filter": {"post": _body_operation("read_flows", "Flows", "Body_x")},
        },
        schemas={
            "Body_x": _body_schema("Body_x"),
            "A": _body_schema("ReadFlowsBody"),
            "B": _body_schema("FlowsReadFlowsBody"),
        },
    )
    with pytest.raises(ValueError, match="cannot name Body_x FlowsReadFlowsBody"):
        name_request_bodies_after_operations(spec)


def test_real_spec_body_models_are_named_after_operations(normalized_spec: dict[str, Any]) -> None:
    schemas = normalized_spec["components"]["schemas"]
    assert schemas["Body_read_flows_flows_filter_post"]["title"] == "ReadFlowsBody"
    assert schemas["Body_set_flow_run_state_flow_runs__id__set_state_post"]["title"] == (
        "SetFlowRunStateBody"
    )
    assert [
        key for key, schema in schemas.items() if schema.get("title", key).startswith("Body_")
    ] == []


# --------------------------------------------------------------------------------------
# document_created_responses
# --------------------------------------------------------------------------------------

JSON_BODY = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Flow"}}}}
INVALID = {"description": "Validation Error", **JSON_BODY}


def _responses(**codes: dict[str, Any]) -> dict[str, Any]:
    return {code.removeprefix("r"): {"description": code, **body} for code, body in codes.items()}


def test_single_200_or_201_of_a_create_route_becomes_2xx_and_nothing_else_changes() -> None:
    def op(method: str, responses: dict[str, Any]) -> dict[str, Any]:
        operation = _operation(f"x_{method}", "Flows")
        operation["responses"] = responses
        return {method: operation}

    before = _spec(
        {
            "/post": op("post", _responses(r200=JSON_BODY, r422=INVALID)),
            "/put": op("put", _responses(r200=JSON_BODY)),
            "/get": op("get", _responses(r200=JSON_BODY, r422=INVALID)),
            "/patch": op("patch", _responses(r200=JSON_BODY)),
            "/both": op("post", _responses(r200=JSON_BODY, r201=JSON_BODY)),
            "/created": op("post", _responses(r201=JSON_BODY)),
            "/empty": op("post", _responses(r200={})),
            "/none": op("delete", _responses(r204={})),
        }
    )
    after = copy.deepcopy(before)
    document_created_responses(after)
    codes = {
        path: list(item[next(iter(item))]["responses"]) for path, item in after["paths"].items()
    }
    assert codes == {
        "/post": ["2XX", "422"],
        "/put": ["2XX"],
        "/get": ["200", "422"],
        "/patch": ["200"],
        "/both": ["200", "201"],
        "/created": ["2XX"],
        "/empty": ["200"],  # no body to parse: nothing to fix
        "/none": ["204"],
    }
    for path, code in (("/post", "200"), ("/put", "200"), ("/created", "201")):
        responses = next(iter(after["paths"][path].values()))["responses"]
        assert responses["2XX"] == next(iter(before["paths"][path].values()))["responses"][code]
        responses[code] = responses.pop("2XX")  # dicts compare regardless of key order
    assert after == before


def test_real_spec_create_routes_accept_201(raw_spec: dict[str, Any]) -> None:
    after = copy.deepcopy(raw_spec)
    document_created_responses(after)
    changed = []
    for (path, method, old), (_, _, new) in zip(
        operations(raw_spec), operations(after), strict=True
    ):
        if new["responses"] != old["responses"]:
            changed.append((path, method))
            assert method in ("post", "put")
            (success,) = [code for code in old["responses"] if code.startswith("2")]
            assert new["responses"]["2XX"] == old["responses"][success]
            assert {k: v for k, v in new["responses"].items() if k != "2XX"} == {
                k: v for k, v in old["responses"].items() if k != success
            }
            new["responses"] = old["responses"]
    assert ("/flows/", "post") in changed
    assert ("/flow_runs/", "post") in changed
    assert ("/block_schemas/", "post") in changed  # documents 201, answers 200 when it exists
    assert after == raw_spec


# --------------------------------------------------------------------------------------
# drop_unrepresentable_defaults
# --------------------------------------------------------------------------------------


def test_object_defaults_on_model_properties_are_dropped_and_nothing_else_changes() -> None:
    before = _tiny_spec()
    after = copy.deepcopy(before)
    drop_unrepresentable_defaults(after)
    old, new = _defaults(before), _defaults(after)
    dropped = {key for key in old if key not in new}
    assert dropped == {
        ("DocumentFilter", "is_anonymous"),
        ("DocumentFilter", "direct"),
        ("DocumentFilter", "all_of"),
    }
    # Scalar and list defaults on model properties, and object defaults on free-form objects, stay.
    assert new == {key: value for key, value in old.items() if key not in dropped}
    prop = after["components"]["schemas"]["DocumentFilter"]["properties"]["is_anonymous"]
    assert prop["description"] == "Defaults to excluding anonymous documents."
    for schema, name in dropped:
        after["components"]["schemas"][schema]["properties"][name]["default"] = old[(schema, name)]
    assert after == before


def test_real_spec_block_document_filter_default_is_dropped(raw_spec: dict[str, Any]) -> None:
    after = copy.deepcopy(raw_spec)
    drop_unrepresentable_defaults(after)
    old, new = _defaults(raw_spec), _defaults(after)
    dropped = {key for key in old if key not in new}
    assert ("BlockDocumentFilter", "is_anonymous") in dropped
    assert all(isinstance(old[key], dict) for key in dropped)
    assert new == {key: value for key, value in old.items() if key not in dropped}
    for schema, name in dropped:
        after["components"]["schemas"][schema]["properties"][name]["default"] = old[(schema, name)]
    assert after == raw_spec


# --------------------------------------------------------------------------------------
# drop_defaults_of_partial_updates
# --------------------------------------------------------------------------------------


def test_patch_bodies_lose_their_defaults_and_nothing_else_does() -> None:
    spec: dict[str, Any] = {
        "paths": {
            "/things/{id}": {
                "patch": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ThingUpdate"}
                            }
                        }
                    }
                },
                "put": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ThingCreate"}
                            }
                        }
                    }
                },
            }
        },
        "components": {
            "schemas": {
                "ThingUpdate": {
                    "properties": {
                        "paused": {"type": "boolean", "default": False, "description": "d"},
                        "name": {"type": "string"},
                    }
                },
                "ThingCreate": {"properties": {"paused": {"type": "boolean", "default": False}}},
            }
        },
    }
    before = copy.deepcopy(spec)
    drop_defaults_of_partial_updates(spec)
    assert spec["components"]["schemas"]["ThingUpdate"]["properties"]["paused"] == {
        "type": "boolean",
        "description": "d",
    }
    spec["components"]["schemas"]["ThingUpdate"]["properties"]["paused"]["default"] = False
    assert spec == before  # the PUT body, and everything else, as it was


def test_real_spec_partial_updates_send_only_what_is_given(raw_spec: dict[str, Any]) -> None:
    after = copy.deepcopy(raw_spec)
    drop_defaults_of_partial_updates(after)
    dropped = {key for key in _defaults(raw_spec) if key not in _defaults(after)}
    assert {
        ("DeploymentUpdate", "paused"),
        ("WorkQueueUpdate", "is_paused"),
        ("AutomationPartialUpdate", "enabled"),
    } <= dropped
    from prefect_api.models import AutomationPartialUpdate, DeploymentUpdate, WorkQueueUpdate

    assert DeploymentUpdate(tags=["a"]).to_dict() == {"tags": ["a"]}
    assert WorkQueueUpdate(description="x").to_dict() == {"description": "x"}
    assert AutomationPartialUpdate().to_dict() == {}


# --------------------------------------------------------------------------------------
# normalize()
# --------------------------------------------------------------------------------------


def test_normalize_leaves_its_input_untouched_and_applies_every_rule() -> None:
    spec = _tiny_spec()
    pristine = copy.deepcopy(spec)
    fixed = normalize(spec, api_version="9.9.9")
    assert spec == pristine
    assert fixed is not spec
    assert fixed["info"]["version"] == "9.9.9"
    assert spec["info"]["version"] == "0.1.0"
    assert _operation_ids(fixed)[("/flows/{id}", "get")] == "read_flow"
    assert fixed["paths"]["/flows/{id}"]["get"]["parameters"] == [ID_PARAMETER]
    assert fixed["components"]["schemas"]["Trigger-Output"]["title"] == "TriggerOutput"
    assert "default" not in fixed["components"]["schemas"]["DocumentFilter"]["properties"]["direct"]


def test_normalize_leaves_the_real_spec_untouched(raw_spec: dict[str, Any]) -> None:
    pristine = copy.deepcopy(raw_spec)
    fixed = normalize(raw_spec, api_version=API_VERSION)
    assert raw_spec == pristine
    assert raw_spec["info"]["version"] == "0.1.0"
    assert fixed["info"]["version"] == API_VERSION == "0.8.4"


def test_normalized_real_spec_has_no_fastapi_ids(
    raw_spec: dict[str, Any], normalized_spec: dict[str, Any]
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(normalized_spec)]
    assert len(ids) == len(list(operations(raw_spec))) >= 188  # 188 in Prefect 3.9.1
    assert [operation_id for operation_id in ids if "__" in operation_id] == []


def test_normalized_real_spec_has_no_version_header(normalized_spec: dict[str, Any]) -> None:
    remaining = [
        (path, method)
        for path, method, operation in operations(normalized_spec)
        for parameter in operation.get("parameters", [])
        if parameter.get("name", "").lower() == "x-prefect-api-version"
    ]
    assert remaining == []


def test_normalized_real_spec_has_unique_schema_titles(normalized_spec: dict[str, Any]) -> None:
    titles = Counter(
        schema.get("title", key) for key, schema in normalized_spec["components"]["schemas"].items()
    )
    assert [title for title, count in titles.items() if count > 1] == []


def test_normalized_real_spec_has_unique_ids_per_tag(normalized_spec: dict[str, Any]) -> None:
    names = Counter(
        (tag_module((operation.get("tags") or ["default"])[0]), operation["operationId"])
        for _, _, operation in operations(normalized_spec)
    )
    assert [name for name, count in names.items() if count > 1] == []


# Slow (a few seconds): runs the real generator on the raw document.
def test_generator_drops_models_without_the_rules(tmp_path: Path, raw_spec: dict[str, Any]) -> None:
    """Proves the rules are needed: without them the generator fails and loses models."""
    raw_copy = tmp_path / "openapi.raw.json"
    raw_copy.write_text(json.dumps(raw_spec))
    output = tmp_path / "out"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(raw_copy),
            "--meta",
            "none",
            "--output-path",
            str(output),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert "duplicate models" in log
    assert "/components/schemas/DeploymentResponse" in log
    models = output / "models"
    assert models.is_dir(), log  # it did generate, just not everything
    assert (models / "flow.py").is_file()
    assert not (models / "deployment_response.py").exists()
    assert not (models / "block_document_filter.py").exists()


# --------------------------------------------------------------------------------------
# drop_ui_hint_header, and document_created_responses on 201-only routes
# --------------------------------------------------------------------------------------


def test_ui_hint_header_is_dropped_and_other_headers_stay() -> None:
    ui = {"name": "x-prefect-ui", "in": "header", "schema": {"type": "boolean"}}
    other = {"name": "x-other", "in": "header", "schema": {"type": "string"}}
    spec = _tiny_spec()
    spec["paths"]["/flows/{id}"]["delete"]["parameters"] = [ui, ID_PARAMETER, other]
    normalize_module.drop_ui_hint_header(spec)
    assert spec["paths"]["/flows/{id}"]["delete"]["parameters"] == [ID_PARAMETER, other]


def test_real_spec_has_no_ui_hint_header_after_normalize(normalized_spec: dict[str, Any]) -> None:
    names = {
        parameter["name"].lower()
        for _, _, operation in operations(normalized_spec)
        for parameter in operation.get("parameters", [])
    }
    assert "x-prefect-ui" not in names


def test_a_201_only_create_route_accepts_any_2xx() -> None:
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Flow"}}}}
    spec = {"paths": {"/x/": {"post": {"responses": {"201": body, "422": {"description": "bad"}}}}}}
    document_created_responses(spec)
    assert list(spec["paths"]["/x/"]["post"]["responses"]) == ["2XX", "422"]


def test_real_create_block_schema_route_accepts_200_and_201(
    normalized_spec: dict[str, Any],
) -> None:
    responses = normalized_spec["paths"]["/block_schemas/"]["post"]["responses"]
    assert "2XX" in responses and "201" not in responses and "200" not in responses
