"""Property tests of `generated/prefect_api` against the document it was generated from.

The document is the normalized one `scripts/generate.py` hands the generator (openapi.json
through scripts/normalize.py's rules, in memory). No server is needed. For every schema:

- every 2xx response body schema of every operation: bodies drawn from the schema parse with
  the operation's generated `_parse_response`, and `to_dict()` of what it gives is the body
  again (date-times and UUIDs compared in canonical form, `canonical`);
- the same bodies made wrong (a required field missing, a wrong type where the generated code
  parses the value, a non-object where an object is expected, at the top or in a nested
  model) raise one error, `prefect_api.errors.ModelParseError`, whose one line names the
  model and the field's path; through the SDK's own parse, a `PrefectSDKError` naming the
  request as well;
- every model used as a request body: what `from_dict` builds from a valid body, and what
  the model's own constructor builds from only the required fields, serializes (`to_dict`) to
  JSON that the document's schema accepts (`jsonschema`, formats checked).

Bodies are drawn with `BodyStrategies`: objects, arrays, unions and references are walked here
(so a component's strategy is built once, and recursion is bounded), every other schema (strings
with their formats and patterns, numbers with their bounds, enums, consts) is drawn by
hypothesis-jsonschema. Walking the references here is what bounds recursion (a component may
occur RECURSION_DEPTH times on one path: `CompoundTrigger` in `CompoundTrigger`, no deeper) and
keeps the large schemas fast: hypothesis-jsonschema, given a whole inlined `Automation` (55 kB),
re-canonicalises nested schemas on every draw (38 s for 10 bodies; here well under 1 s).
Drawn bodies are bounded, and stay valid: arrays have at most MAX_ITEMS items (or their
minItems), free-form JSON values are small, objects get at most MAX_EXTRA_KEYS keys the schema
does not name (where it allows them); each drawn body is checked against the schema first.

Not every wrong type can be refused: a plain string, number or boolean field, a free-form value
and a list of such are kept as they came (the generated code does not check their types: that
costs time on every field of every row, see templates/README.md); `parsed()` says which fields
are parsed, and only those are given wrong types here.

The Hypothesis profiles are in tests/conftest.py: `default` (bounded, deterministic) and
`soak` (`--hypothesis-profile=soak`).
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import inspect
import json
import re
import sys
import types
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import attrs
import httpx
import jsonschema
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from hypothesis_jsonschema import from_schema

import prefect_api.errors as generated_errors
from prefect_api.client import Client
from prefect_sdk import PrefectSDKError, _operations

ROOT = Path(__file__).resolve().parents[2]


def _load_generate() -> types.ModuleType:
    """scripts/generate.py as a module (it puts scripts/ on sys.path to import normalize.py)."""
    module_spec = importlib.util.spec_from_file_location(
        "prefect_sdk_scripts_generate", ROOT / "scripts" / "generate.py"
    )
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


generate = _load_generate()
normalize_module = sys.modules[generate.normalize.__module__]


def normalized_document() -> dict[str, Any]:
    """The document `generate.generate_into` gives the generator: openapi.json, normalized."""
    versions = json.loads(generate.SOURCE.read_text())
    raw = json.loads(generate.SPEC.read_text())
    document: dict[str, Any] = generate.normalize(raw, api_version=versions["api_version"])
    return document


DOCUMENT = normalized_document()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
CLIENT = Client(base_url="http://127.0.0.1:1/api", raise_on_unexpected_status=True)
REQUEST = httpx.Request("POST", "http://127.0.0.1:1/api/under-test")
BARE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)

RECURSION_DEPTH = 2
MAX_ITEMS = 2
MAX_EXTRA_KEYS = 2
# A value the generated code refuses wherever it parses a field (a model, an enum, a const, a
# date-time, a UUID, a list): an integer is none of those.
WRONG_VALUE = 12345
# Cases skipped, by name, with the reason: none so far (recursion is bounded by
# RECURSION_DEPTH, and hypothesis-jsonschema draws every pattern and format of the document).
# test_every_response_schema_and_request_model_is_a_case_and_few_are_skipped keeps it under 5%.
SKIPPED_RESPONSES: dict[str, str] = {}
SKIPPED_REQUESTS: dict[str, str] = {}


# ----- the schemas under test ---------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One operation's parse of one 2xx status."""

    module: types.ModuleType
    status: int
    listed: bool  # the body is a list of the case's schema

    def parse(self, body: Any) -> Any:
        return self.module._parse_response(client=CLIENT, response=json_response(self.status, body))


@dataclass
class ResponseCase:
    name: str
    schema: dict[str, Any]  # a {"$ref": ...} to a component, or the operation's own schema
    endpoints: list[Endpoint] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


@dataclass
class RequestCase:
    name: str  # the component, or the operation's body
    schema: dict[str, Any]  # a {"$ref": ...} to the component, or the operation's own schema
    model: type
    operations: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


def endpoint_module(path: str, operation: dict[str, Any]) -> types.ModuleType:
    tag = normalize_module.tag_module((operation.get("tags") or ["default"])[0])
    return importlib.import_module(f"prefect_api.api.{tag}.{operation['operationId']}")


def json_body_schema(content: dict[str, Any]) -> dict[str, Any] | None:
    schema = content.get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def response_cases() -> list[ResponseCase]:
    """Every 2xx JSON response schema of every operation, one case per component (a list of
    a component is that component's case, parsed by the list endpoint as a list of it)."""
    cases: dict[str, ResponseCase] = {}
    for path, _, operation in normalize_module.operations(DOCUMENT):
        for code, response in operation.get("responses", {}).items():
            schema = json_body_schema(response.get("content", {})) if code.startswith("2") else None
            if schema is None:
                continue
            status = 200 if code == "2XX" else int(code)
            module = endpoint_module(path, operation)
            items = schema.get("items", {}) if schema.get("type") == "array" else {}
            if "$ref" in schema or "$ref" in items:
                ref = schema.get("$ref") or items["$ref"]
                name = ref.rsplit("/", 1)[-1]
                case = cases.setdefault(name, ResponseCase(name, {"$ref": ref}))
                case.endpoints.append(Endpoint(module, status, listed="$ref" in items))
            else:
                name = f"{operation['operationId']} {code}"
                cases[name] = ResponseCase(name, schema, [Endpoint(module, status, listed=False)])
    return list(cases.values())


def request_cases() -> list[RequestCase]:
    """Every generated model that is an operation's JSON request body (or its list's item)."""
    cases: dict[str, RequestCase] = {}
    for path, _, operation in normalize_module.operations(DOCUMENT):
        schema = json_body_schema(operation.get("requestBody", {}).get("content", {}))
        if schema is None:
            continue
        items = schema.get("items", {}) if schema.get("type") == "array" else {}
        ref = schema.get("$ref") or items.get("$ref")
        module = endpoint_module(path, operation)
        annotation = inspect.signature(module._get_kwargs).parameters["body"].annotation
        model = model_in(annotation)
        if model is None:  # a body that is no model (a string)
            continue
        name = ref.rsplit("/", 1)[-1] if ref else f"{operation['operationId']} body"
        case = RequestCase(name, {"$ref": ref} if ref else schema, model)
        cases.setdefault(name, case).operations.append(operation["operationId"])
    return list(cases.values())


def model_in(annotation: Any) -> type | None:
    """The one generated model in a type (`Flow | HTTPValidationError | None`, `list[Flow]`)."""
    found = set()
    for member in get_args(annotation) or (annotation,):
        if get_origin(member) is list:
            member = get_args(member)[0]
        if attrs.has(member) and member.__name__ != "HTTPValidationError":
            found.add(member)
    return found.pop() if len(found) == 1 else None


def response_model(case: ResponseCase) -> type | None:
    """The generated model a case's bodies parse to (None for a list of strings, a number ...)."""
    for endpoint in case.endpoints:
        model = model_in(inspect.signature(endpoint.module._parse_response).return_annotation)
        if model is not None:
            return model
    return None


RESPONSE_CASES = response_cases()
REQUEST_CASES = request_cases()


def params(cases: list[Any], skipped: dict[str, str]) -> list[Any]:
    """The cases as pytest params, those in `skipped` marked skip with their reason."""
    return [
        pytest.param(case, id=str(case), marks=[pytest.mark.skip(reason=skipped[case.name])])
        if case.name in skipped
        else pytest.param(case, id=str(case))
        for case in cases
    ]


def resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


# ----- drawing bodies -------------------------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
# A free-form JSON value (`{}`, `additionalProperties: true`), kept small.
ANY_JSON: SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner, max_size=2)
    ),
    max_leaves=4,
)
FORMATS = {"uuid": st.uuids().map(str)}  # hypothesis-jsonschema draws no "uuid" format itself
# The keywords that constrain a value (anything else beside them, `title` or pydantic's extra
# keys such as `supported_environment_variables`, only annotates).
CONSTRAINTS = frozenset(
    {"type", "enum", "const", "format", "pattern", "minLength", "maxLength", "minimum", "maximum"}
    | {"exclusiveMinimum", "exclusiveMaximum", "multipleOf", "items", "prefixItems", "minItems"}
    | {"maxItems", "uniqueItems", "contains", "properties", "required", "additionalProperties"}
    | {"patternProperties", "propertyNames", "minProperties", "maxProperties", "anyOf", "oneOf"}
    | {"allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas"}
)
STRUCTURE = frozenset(
    {"$ref", "anyOf", "oneOf", "allOf", "not", "properties", "items", "prefixItems"}
)


class BodyStrategies:
    """Strategies for bodies valid against the document's schemas (see the module docstring)."""

    def __init__(self) -> None:
        self._leaves: dict[str, SearchStrategy[Any]] = {}
        self._components: dict[tuple[str, tuple[str, ...]], SearchStrategy[Any]] = {}

    def for_schema(self, schema: Any, stack: tuple[str, ...] = ()) -> SearchStrategy[Any]:
        if schema is True or (
            isinstance(schema, dict) and not set(schema) & (CONSTRAINTS | {"$ref"})
        ):
            return ANY_JSON
        if schema is False:
            return st.nothing()
        if "$ref" in schema:
            assert not set(schema) & CONSTRAINTS, schema  # nothing beside a $ref constrains it
            return self._component(schema["$ref"].rsplit("/", 1)[-1], stack)
        if "anyOf" in schema:
            # Constraints beside anyOf apply to every option (`within`: number or duration, >= 0).
            beside = {key: value for key, value in schema.items() if key in CONSTRAINTS - {"anyOf"}}
            assert not beside or not any("$ref" in option for option in schema["anyOf"]), schema
            options = [self.for_schema({**option, **beside}, stack) for option in schema["anyOf"]]
            return st.one_of([option for option in options if not option.is_empty])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self._object(schema, stack)
        if kind == "array":
            return self._array(schema, stack)
        return self._leaf(schema)

    def _component(self, key: str, stack: tuple[str, ...]) -> SearchStrategy[Any]:
        if stack.count(key) >= RECURSION_DEPTH:
            return st.nothing()
        # What is drawn below depends on how often each component is on the stack, not its order.
        cache_key = (key, tuple(sorted(Counter(stack).items())))
        strategy = self._components.get(cache_key)
        if strategy is None:
            strategy = self._components[cache_key] = self.for_schema(SCHEMAS[key], (*stack, key))
        return strategy

    def _object(self, schema: dict[str, Any], stack: tuple[str, ...]) -> SearchStrategy[Any]:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        values = {name: self.for_schema(sub, stack) for name, sub in properties.items()}
        if any(values[name].is_empty for name in required if name in values):
            return st.nothing()
        named = st.fixed_dictionaries(
            {name: values[name] for name in properties if name in required},
            optional={
                name: value
                for name, value in values.items()
                if name not in required and not value.is_empty
            },
        )
        additional = schema.get("additionalProperties", True)
        if additional is False:
            return named
        extra_values = ANY_JSON if additional is True else self.for_schema(additional, stack)
        if extra_values.is_empty:
            return named
        names = (
            self._leaf({"type": "string", **schema["propertyNames"]})
            if "propertyNames" in schema
            else st.text(max_size=8)
        ).filter(lambda name: name not in properties)
        low = schema.get("minProperties", 0) if not properties else 0
        extra = st.dictionaries(
            names, extra_values, min_size=low, max_size=max(low, MAX_EXTRA_KEYS)
        )
        return st.tuples(named, extra).map(lambda pair: {**pair[1], **pair[0]})

    def _array(self, schema: dict[str, Any], stack: tuple[str, ...]) -> SearchStrategy[Any]:
        low = schema.get("minItems", 0)
        high = max(low, min(schema.get("maxItems", MAX_ITEMS), MAX_ITEMS))
        if "prefixItems" in schema:
            parts = [self.for_schema(part, stack) for part in schema["prefixItems"]]
            assert low == high == len(parts), "only fixed-length tuples are in the document"
            return st.tuples(*parts).map(list)
        items = self.for_schema(schema.get("items", True), stack)
        if items.is_empty:
            return st.just([]) if low == 0 else st.nothing()
        unique = schema.get("uniqueItems", False)
        return st.lists(
            items,
            min_size=low,
            max_size=high,
            unique_by=(lambda item: json.dumps(item, sort_keys=True)) if unique else None,
        )

    def _leaf(self, schema: dict[str, Any]) -> SearchStrategy[Any]:
        assert not STRUCTURE & set(schema), schema
        key = json.dumps(schema, sort_keys=True)
        strategy = self._leaves.get(key)
        if strategy is None:
            strategy = self._leaves[key] = from_schema(schema, custom_formats=FORMATS)
        return strategy


BODIES = BodyStrategies()


# ----- checking bodies ------------------------------------------------------------------------

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
_validators: dict[str, jsonschema.protocols.Validator] = {}


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A 2020-12 validator of `schema` whose `#/components/...` references resolve in the
    normalized document, formats (date-time, uuid) checked."""
    key = json.dumps(schema, sort_keys=True)
    found = _validators.get(key)
    if found is None:
        rooted = {**schema, "components": DOCUMENT["components"]}
        found = _validators[key] = jsonschema.Draft202012Validator(
            rooted, format_checker=FORMAT_CHECKER
        )
    return found


def assert_valid(body: Any, schema: dict[str, Any], what: str) -> None:
    errors = sorted(validator(schema).iter_errors(body), key=lambda error: list(error.path))
    assert not errors, f"{what}: " + "; ".join(
        f"{'/'.join(map(str, error.path)) or '(root)'}: {error.message[:200]}"
        for error in errors[:3]
    )


_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def canonical(value: Any) -> Any:
    """A JSON value with each date-time and UUID string in one canonical form (what to_dict
    writes, `isoformat()` and `str(UUID)`), so that "Z" and "+00:00" compare equal."""
    if isinstance(value, dict):
        return {canonical(key): canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, str):
        if _UUID.fullmatch(value):
            return str(uuid.UUID(value))
        if _DATE_TIME.match(value):
            try:
                return datetime.datetime.fromisoformat(value).isoformat()
            except ValueError:
                return value
    return value


def as_json(parsed: Any) -> Any:
    """What an endpoint parsed, back as JSON: models through their to_dict."""
    if hasattr(parsed, "to_dict"):
        return parsed.to_dict()
    if isinstance(parsed, list):
        return [as_json(item) for item in parsed]
    return parsed


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        request=REQUEST,
    )


# ----- 1. valid response bodies parse and round-trip -----------------------------------------


@pytest.mark.parametrize("case", params(RESPONSE_CASES, SKIPPED_RESPONSES))
@given(data=st.data())
def test_response_bodies_parse_and_round_trip(case: ResponseCase, data: st.DataObject) -> None:
    body = data.draw(BODIES.for_schema(case.schema), label="body")
    assert_valid(body, case.schema, "the drawn body (this test's own generator)")
    for endpoint in case.endpoints:
        sent = [body] if endpoint.listed else body
        parsed = endpoint.parse(sent)
        assert canonical(as_json(parsed)) == canonical(sent), endpoint.module.__name__


# ----- 2. bodies that are not the model raise one error naming the model and the field -------


def parsed(schema: Any) -> bool:
    """Whether the generated code parses a value of this schema (and so refuses WRONG_VALUE),
    rather than keeping it as it came (plain strings, numbers, booleans, free-form JSON)."""
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return False
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if resolve(option).get("type") != "null"]
        return bool(options) and all(parsed(option) for option in options)
    if "enum" in schema or "const" in schema:
        return True
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return True
    if kind == "array":
        return "prefixItems" in schema or parsed(schema.get("items", {}))
    return kind == "string" and schema.get("format") in ("date-time", "uuid", "date")


def nested_model(schema: Any) -> dict[str, Any] | None:
    """The model schema a field holds and the generated code parses with that model alone: a
    reference to it, or that or null (a union of several models tries each, so its error is the
    union's, not the nested model's)."""
    options = [schema]
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
    if len(options) != 1 or "$ref" not in options[0]:
        return None
    target = resolve(options[0])
    return target if "properties" in target else None


JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", bool: "boolean"}


@dataclass
class Violation:
    body: Any
    keys: list[str]  # the path of JSON keys to the wrong field, from the top model
    reason: str | None = None  # the expected reason, where it is known
    kind: str = "wrong type"  # for `--hypothesis-show-statistics`


def violate(data: st.DataObject, schema: dict[str, Any], body: dict[str, Any]) -> Violation | None:
    """`body` made wrong in one place at this level or in a nested model; None where this
    level offers nothing to make wrong."""
    properties = schema.get("properties", {})
    flat = [("missing", key) for key in schema.get("required", []) if key in body]
    flat += [("wrong", key) for key in body if key in properties and parsed(properties[key])]
    nested = [
        ("nested", key)
        for key, value in body.items()
        if key in properties and isinstance(value, dict) and nested_model(properties[key])
    ]
    if not flat and not nested:
        return None
    # Into a nested model half the time it has one (else nested paths would be rare).
    inwards = bool(nested) and (not flat or data.draw(st.booleans(), label="into a nested model"))
    action, key = data.draw(st.sampled_from(sorted(nested if inwards else flat)), label="violation")
    if action == "nested":
        inner = violate(data, nested_model(properties[key]) or {}, body[key])
        if inner is not None:
            kind = f"nested {inner.kind}"
            return Violation({**body, key: inner.body}, [key, *inner.keys], inner.reason, kind)
        action = "wrong"  # nothing to break inside: break the nested object itself
    if action == "missing":
        missing = {name: value for name, value in body.items() if name != key}
        return Violation(missing, [key], "missing required field", "missing field")
    return Violation({**body, key: WRONG_VALUE}, [key])


@pytest.mark.parametrize(
    "case",
    params(
        [case for case in RESPONSE_CASES if response_model(case) is not None], SKIPPED_RESPONSES
    ),
)
@given(data=st.data())
def test_bodies_that_are_not_the_model_raise_one_error_naming_model_and_field(
    case: ResponseCase, data: st.DataObject
) -> None:
    model = response_model(case)
    assert model is not None
    schema = resolve(case.schema)
    body = data.draw(BODIES.for_schema(case.schema), label="body")
    violation = None
    if isinstance(body, dict) and data.draw(st.integers(0, 3), label="inside the object") > 0:
        violation = violate(data, schema, body)
    if violation is None:
        wrong = data.draw(
            st.sampled_from([WRONG_VALUE, "text", [], None, True]), label="not an object"
        )
        reason = f"expected an object, got {JSON_TYPES.get(type(wrong), 'null')}"
        violation = Violation(wrong, [], reason, "not an object")
    event(violation.kind)
    path = ".".join([model.__name__, *violation.keys])

    with pytest.raises(Exception) as raised:
        model.from_dict(violation.body)  # type: ignore[attr-defined]
    error = raised.value
    assert type(error) not in BARE_ERRORS, (
        f"a bare {type(error).__name__} from a generated module: {error}"
    )
    assert isinstance(error, generated_errors.ModelParseError), repr(error)
    message = str(error)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    assert (error.path, error.field) == (path, violation.keys[-1] if violation.keys else None)
    assert hasattr(importlib.import_module("prefect_api.models"), error.model), error.model
    if violation.reason is not None:
        assert error.reason == violation.reason, message

    # Through the SDK: one PrefectSDKError naming the request, the model and the field.
    for endpoint in case.endpoints:
        response = json_response(
            endpoint.status, [violation.body] if endpoint.listed else violation.body
        )
        expected = f"list[{model.__name__}]" if endpoint.listed else model.__name__
        with pytest.raises(PrefectSDKError) as sdk_raised:
            _operations.parse(
                types.SimpleNamespace(api=CLIENT), endpoint.module, response, expected
            )
        sdk_message = str(sdk_raised.value)
        assert "\n" not in sdk_message, sdk_message
        assert sdk_message.startswith(f"POST {REQUEST.url} -> {endpoint.status}: "), sdk_message
        assert f"({message})" in sdk_message, sdk_message
        sdk_error = sdk_raised.value
        assert isinstance(sdk_error, _operations.UnexpectedBody)
        assert (sdk_error.model, sdk_error.field, sdk_error.path) == (
            error.model,
            error.field,
            path,
        )


def test_a_missing_required_field_is_named() -> None:
    from prefect_api.models import Automation

    trigger = {"type": "event", "posture": "Reactive"}
    body = {
        "id": str(uuid.uuid4()),
        "updated": None,
        "name": "a",
        "trigger": trigger,
        "actions": [],
    }
    with pytest.raises(generated_errors.ModelParseError) as raised:
        Automation.from_dict(body)
    assert str(raised.value) == "Automation.created: missing required field"
    assert (raised.value.model, raised.value.field) == ("Automation", "created")


def test_a_nested_model_names_the_innermost_model_and_the_whole_path() -> None:
    from prefect_api.models import FlowRunResponse

    run = {
        "id": str(uuid.uuid4()),
        "created": None,
        "updated": None,
        "name": "run",
        "flow_id": str(uuid.uuid4()),
        "state": {
            "id": str(uuid.uuid4()),
            "type": "RUNNING",
            "state_details": {"flow_run_id": "nope"},
        },
    }
    with pytest.raises(generated_errors.ModelParseError) as raised:
        FlowRunResponse.from_dict(run)
    error = raised.value
    assert str(error).startswith("FlowRunResponse.state.state_details.flow_run_id: "), str(error)
    assert (error.model, error.field) == ("StateDetails", "flow_run_id")
    run["state"] = {"id": str(uuid.uuid4()), "type": "not a state"}
    with pytest.raises(generated_errors.ModelParseError) as raised:
        FlowRunResponse.from_dict(run)
    assert str(raised.value) == "FlowRunResponse.state.type: 'not a state' is not a valid StateType"


# ----- 3. what request models serialize is what the document accepts ------------------------


@pytest.mark.parametrize("case", params(REQUEST_CASES, SKIPPED_REQUESTS))
@given(data=st.data())
def test_request_models_serialize_to_bodies_the_document_accepts(
    case: RequestCase, data: st.DataObject
) -> None:
    schema = case.schema
    body = data.draw(BODIES.for_schema(schema), label="body")
    assert_valid(body, schema, "the drawn body (this test's own generator)")
    model = case.model.from_dict(body)  # type: ignore[attr-defined]
    assert canonical(model.to_dict()) == canonical(body)
    assert_valid(model.to_dict(), schema, f"{case.model.__name__}.from_dict(body).to_dict()")
    # What a user builds with the constructor, giving only what it requires.
    required = {
        attribute.alias: getattr(model, attribute.name)
        for attribute in attrs.fields(case.model)
        if attribute.init and attribute.default is attrs.NOTHING
    }
    built = case.model(**required)
    assert_valid(built.to_dict(), schema, f"{case.model.__name__}(<required fields>).to_dict()")


# ----- the cases themselves -------------------------------------------------------------------


def all_response_schemas() -> Iterator[tuple[str, str]]:
    for path, method, operation in normalize_module.operations(DOCUMENT):
        for code, response in operation.get("responses", {}).items():
            if code.startswith("2") and json_body_schema(response.get("content", {})) is not None:
                yield f"{method} {path}", code


def test_every_response_schema_and_request_model_is_a_case_and_few_are_skipped() -> None:
    covered = sum(len(case.endpoints) for case in RESPONSE_CASES)
    assert covered == len(list(all_response_schemas())) > 100
    assert len(REQUEST_CASES) > 90
    for skipped, cases in ((SKIPPED_RESPONSES, RESPONSE_CASES), (SKIPPED_REQUESTS, REQUEST_CASES)):
        names = {case.name for case in cases}
        assert set(skipped) <= names, f"stale entries: {set(skipped) - names}"
        assert len(skipped) <= 0.05 * len(names)
