"""Named rules that fix the raw Prefect OpenAPI document for openapi-python-client.

`openapi.json` stays exactly as the server emits it; `normalize()` applies every rule to a deep
copy in memory, in order. Each rule is a small function whose docstring's first line is the
reason it exists, and each has its own test in tests/unit/test_normalize.py. When a server
upgrade brings a new problem, add a rule here (and its test); never edit `openapi.json` or
`generated/` by hand.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

Spec = dict[str, Any]
Rule = Callable[[Spec], None]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation) of the document, in document order."""
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def tag_module(tag: str) -> str:
    """The module name the generator gives a tag: "Flow Runs" -> "flow_runs", "SavedSearches" ->
    "saved_searches" (camel case is split, as the generator does)."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", tag.strip())
    return re.sub(r"\W+", "_", split).strip("_").lower()


def route_function_name(operation_id: str, path: str, method: str) -> str:
    """The route's Python function name, recovered from FastAPI's generated operationId.

    FastAPI builds the id as `<function name><path with every non-word character as "_">_<method>`.
    """
    suffix = re.sub(r"\W", "_", path) + "_" + method
    if not operation_id.endswith(suffix) or len(operation_id) == len(suffix):
        raise ValueError(f"operationId {operation_id!r} is not FastAPI's id for {method} {path}")
    return operation_id[: -len(suffix)]


def name_operations_after_route_functions(spec: Spec) -> None:
    """FastAPI's ids (`read_flow_flows__id__get`) make endpoint modules unreadable; use `read_flow`.

    Names must be unique within a tag (the tag is the module's package). On a clash, the route
    whose path starts with the tag's own prefix (`/automations/...` for "Automations") keeps the
    bare name and every other one is named `<its first path segment>_<name>`
    (`/templates/validate` -> `templates_validate_template`). A clash this cannot settle fails.
    """
    by_module: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for path, method, operation in operations(spec):
        name = route_function_name(operation["operationId"], path, method)
        tags = operation.get("tags") or ["default"]
        by_module[(tag_module(tags[0]), name)].append((path, operation))
    taken = set(by_module)
    for (module, name), routes in by_module.items():
        if len(routes) == 1:
            routes[0][1]["operationId"] = name
            continue
        owners = [route for route in routes if _first_segment(route[0]) == module]
        if len(owners) != 1:
            paths = ", ".join(path for path, _ in routes)
            raise ValueError(f"cannot settle the name clash of {module}.{name} between {paths}")
        owner = owners[0][1]
        for path, operation in routes:
            if operation is owner:
                operation["operationId"] = name
                continue
            renamed = f"{_first_segment(path)}_{name}"
            if (module, renamed) in taken:
                raise ValueError(f"renaming {module}.{name} for {path} clashes with {renamed}")
            taken.add((module, renamed))
            operation["operationId"] = renamed


def _first_segment(path: str) -> str:
    return tag_module(path.strip("/").split("/", 1)[0])


def drop_api_version_header(spec: Spec) -> None:
    """Every operation takes `x-prefect-api-version`; the client sends it once for all requests."""
    _drop_header_parameter(spec, "x-prefect-api-version")


def drop_ui_hint_header(spec: Spec) -> None:
    """`x-prefect-ui` marks requests from Prefect's web UI; an SDK never sends it, and its boolean
    default is generated as a Python bool in the headers, which httpx refuses."""
    _drop_header_parameter(spec, "x-prefect-ui")


def _drop_header_parameter(spec: Spec, name: str) -> None:
    """Remove the header parameter `name` (any case) from every operation."""
    for _, _, operation in operations(spec):
        parameters = operation.get("parameters")
        if parameters is None:
            continue
        kept = [
            parameter
            for parameter in parameters
            if not (parameter.get("in") == "header" and parameter.get("name", "").lower() == name)
        ]
        if kept:
            operation["parameters"] = kept
        else:
            del operation["parameters"]


def name_split_schemas_apart(spec: Spec) -> None:
    """FastAPI's `Foo-Input`/`Foo-Output` pair shares the title `Foo`: duplicate model names.

    Each half is titled after its key without the hyphen: `FooInput`, `FooOutput`.
    """
    for key, schema in spec.get("components", {}).get("schemas", {}).items():
        if key.endswith(("-Input", "-Output")):
            schema["title"] = key.replace("-", "")


def name_request_bodies_after_operations(spec: Spec) -> None:
    """FastAPI names a body model after its route id (`BodyReadFlowsFlowsFilterPost`); use `ReadFlowsBody`.

    Runs after the operations are renamed. Operation names are unique only within a tag, so when
    the name is taken the tag is put in front (`WorkPoolsReadWorkQueuesBody`); a body schema shared
    by several operations keeps the name given by the first; a clash left after that fails.
    """
    schemas = spec.get("components", {}).get("schemas", {})
    titles = {schema.get("title") for schema in schemas.values()}
    named: set[str] = set()
    for _, _, operation in operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        key = ref.rsplit("/", 1)[-1]
        if not key.startswith("Body_") or key in named:
            continue
        title = _pascal(operation["operationId"]) + "Body"
        if title in titles:
            title = _pascal(tag_module((operation.get("tags") or ["default"])[0])) + title
        if title in titles:
            raise ValueError(f"cannot name {key} {title}: another schema has that title")
        schemas[key]["title"] = title
        titles.add(title)
        named.add(key)


def _pascal(snake: str) -> str:
    return "".join(word.capitalize() for word in snake.split("_"))


def document_created_responses(spec: Spec) -> None:
    """Prefect's create routes answer 201 when they create (200 when the object existed), but
    the document lists only one of the two, so a generated endpoint would parse the other as None.

    Routes that document 201 also answer 200 when the object existed (`create_block_schema`).
    A POST or PUT whose only success is one 200 or 201 with a body documents it as "2XX" instead.
    """
    for _, method, operation in operations(spec):
        responses = operation.get("responses", {})
        successes = [code for code in responses if code.startswith("2")]
        if method not in ("post", "put") or successes not in (["200"], ["201"]):
            continue
        if "content" in responses[successes[0]]:
            operation["responses"] = {
                ("2XX" if code == successes[0] else code): response
                for code, response in responses.items()
            }


def drop_unrepresentable_defaults(spec: Spec) -> None:
    """An object default on a model-typed property cannot be generated (the model is skipped).

    e.g. `BlockDocumentFilter.is_anonymous` defaults to `{"eq_": false}`. The default is the
    server's to apply: a client that leaves the field unset gets exactly that behaviour.
    """
    for schema in _all_schemas(spec):
        for prop in schema.get("properties", {}).values():
            if isinstance(prop.get("default"), dict) and _refers_to_model(prop):
                del prop["default"]


def drop_defaults_of_partial_updates(spec: Spec) -> None:
    """A PATCH body's defaults would be sent as if the caller had given them: an update of a
    deployment's tags would also send `paused: false` and un-pause it (`is_paused` of work
    queues, `enabled` of automations likewise). In a PATCH body a field not given stays unset;
    the server applies its own default where one is needed.
    """
    schemas = spec.get("components", {}).get("schemas", {})
    for _, method, operation in operations(spec):
        if method != "patch":
            continue
        content = operation.get("requestBody", {}).get("content", {})
        reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        body = schemas.get(reference.rsplit("/", 1)[-1], {})
        for prop in body.get("properties", {}).values():
            prop.pop("default", None)


def _refers_to_model(prop: dict[str, Any]) -> bool:
    if "$ref" in prop:
        return True
    return any("$ref" in option for option in prop.get("anyOf", []) + prop.get("allOf", []))


def _all_schemas(spec: Spec) -> Iterator[dict[str, Any]]:
    yield from spec.get("components", {}).get("schemas", {}).values()


RULES: list[Rule] = [
    name_operations_after_route_functions,
    drop_api_version_header,
    drop_ui_hint_header,
    name_split_schemas_apart,
    name_request_bodies_after_operations,
    document_created_responses,
    drop_unrepresentable_defaults,
    drop_defaults_of_partial_updates,
]


def record_versions(spec: Spec, *, api_version: str) -> None:
    """FastAPI reports the document's version as "0.1.0"; record the API version it speaks."""
    spec.setdefault("info", {})["version"] = api_version


def normalize(spec: Spec, *, api_version: str) -> Spec:
    """A normalized deep copy of `spec`; the argument is left untouched."""
    fixed = copy.deepcopy(spec)
    for rule in RULES:
        rule(fixed)
    record_versions(fixed, api_version=api_version)
    return fixed
