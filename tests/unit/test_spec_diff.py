"""Unit tests for scripts/spec_diff.py (the API-change report) and its use by refresh_spec.py."""

from __future__ import annotations

import copy
import datetime
import gzip
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLD_REAL_SPEC = Path(__file__).parent / "data" / "openapi-3.8.8.json.gz"


def _load(name: str) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(
        f"prefect_sdk_scripts_{name}", ROOT / "scripts" / f"{name}.py"
    )
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


spec_diff = _load("spec_diff")
refresh_spec = _load("refresh_spec")
Operation = spec_diff.Operation

VERSION_HEADER = {
    "name": "x-prefect-api-version",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "title": "X-Prefect-Api-Version"},
}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(
    operation_id: str,
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    returns: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A FastAPI-style operation of the "Flows" tag."""
    op: dict[str, Any] = {
        "tags": ["Flows"],
        "summary": operation_id.split("_flows")[0].replace("_", " ").title(),
        "operationId": operation_id,
        "parameters": [*copy.deepcopy(parameters or []), copy.deepcopy(VERSION_HEADER)],
    }
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    content = {"content": {"application/json": {"schema": returns}}} if returns else {}
    op["responses"] = {
        "200" if returns else "204": {"description": "Successful Response", **content},
        "422": {
            "description": "Validation Error",
            "content": {"application/json": {"schema": _ref("HTTPValidationError")}},
        },
    }
    return op


def _base() -> dict[str, Any]:
    """A small Prefect-like document: flows that hold a state whose type is an enum."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Prefect Prefect REST API", "version": "0.1.0"},
        "paths": {
            "/flows/": {
                "post": _op("create_flow_flows__post", body="FlowCreate", returns=_ref("Flow"))
            },
            "/flows/{id}": {
                "get": _op("read_flow_flows__id__get", parameters=[ID], returns=_ref("Flow")),
                "delete": _op("delete_flow_flows__id__delete", parameters=[ID]),
            },
            "/flows/filter": {
                "post": _op(
                    "read_flows_flows_filter_post",
                    body="Body_read_flows_flows_filter_post",
                    returns={
                        "type": "array",
                        "items": _ref("Flow"),
                        "title": "Response Read Flows",
                    },
                )
            },
        },
        "components": {
            "schemas": {
                "Flow": {
                    "title": "Flow",
                    "description": "A flow.",
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid", "title": "Id"},
                        "name": {"type": "string", "title": "Name", "examples": ["my-flow"]},
                        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                        "state": {"anyOf": [_ref("State"), {"type": "null"}]},
                    },
                    "required": ["id", "name"],
                },
                "FlowCreate": {
                    "title": "FlowCreate",
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "title": "Name"},
                        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                    "required": ["name"],
                },
                "State": {
                    "title": "State",
                    "type": "object",
                    "properties": {
                        "type": _ref("StateType"),
                        "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
                    },
                    "required": ["type"],
                },
                "StateType": {
                    "title": "StateType",
                    "type": "string",
                    "enum": ["COMPLETED", "FAILED"],
                },
                "Body_read_flows_flows_filter_post": {
                    "title": "Body_read_flows_flows_filter_post",
                    "type": "object",
                    "properties": {"limit": {"type": "integer", "title": "Limit", "default": 200}},
                },
                "HTTPValidationError": {
                    "title": "HTTPValidationError",
                    "type": "object",
                    "properties": {},
                },
            }
        },
    }


def _diff(old: dict[str, Any], new: dict[str, Any], overlay: Path | None = None) -> Any:
    return spec_diff.diff_specs(old, new, overlay=overlay)


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


def _changes(diff: Any) -> dict[str, list[str]]:
    """Every changed operation ("GET /flows/{id}") and model, with its change lines."""
    found = {f"{c.operation.method} {c.operation.path}": c.changes for c in diff.changed_operations}
    return found | {change.name: change.changes for change in diff.changed_schemas}


def _reversed(node: Any) -> Any:
    """The same document with every mapping's keys in the opposite order."""
    if isinstance(node, dict):
        return {key: _reversed(node[key]) for key in reversed(list(node))}
    return [_reversed(item) for item in node] if isinstance(node, list) else node


# --------------------------------------------------------------------------------------
# Each kind of change on a small document
# --------------------------------------------------------------------------------------


def test_the_same_document_has_no_changes() -> None:
    diff = _diff(_base(), _base())
    assert diff.empty
    assert (diff.operations, diff.schemas) == ((4, 4), (6, 6))
    section = spec_diff.render_markdown(diff, "Prefect 1.0 → 1.0")
    assert section == (
        "## Prefect 1.0 → 1.0\n\n"
        "Operations 4 → 4 (0 added, 0 removed, 0 changed); "
        "models 6 → 6 (0 added, 0 removed, 0 changed).\n\n"
        "No API changes.\n"
    )


def test_an_added_operation_is_named_after_its_route_function() -> None:
    new = _base()
    new["paths"]["/flows/count"] = {
        "post": _op("count_flows_flows_count_post", returns={"type": "integer"})
    }
    diff = _diff(_base(), new)
    assert [c.operation for c in diff.added_operations] == [
        Operation("POST", "/flows/count", "flows.count_flows")
    ]
    assert not diff.removed_operations and not diff.changed_operations
    section = spec_diff.render_markdown(diff, "t")
    assert (
        "### Operations added\n\n- `POST /flows/count` → `flows.count_flows` (no client method yet)\n"
        in section
    )
    assert "Operations 4 → 5 (1 added, 0 removed, 0 changed)" in section
    assert "### Operations removed" not in section and "### Models" not in section


def test_a_removed_operation() -> None:
    new = _base()
    del new["paths"]["/flows/{id}"]["delete"]
    diff = _diff(_base(), new)
    assert [c.operation for c in diff.removed_operations] == [
        Operation("DELETE", "/flows/{id}", "flows.delete_flow")
    ]
    assert (
        "### Operations removed\n\n- `DELETE /flows/{id}` → `flows.delete_flow` (no client method)\n"
        in spec_diff.render_markdown(diff, "t")
    )


def test_parameters_added_removed_and_made_required() -> None:
    old, new = _base(), _base()
    limit = {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}
    old["paths"]["/flows/{id}"]["get"]["parameters"].append(copy.deepcopy(limit))
    old["paths"]["/flows/{id}"]["get"]["parameters"].append(
        {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}}
    )
    new["paths"]["/flows/{id}"]["get"]["parameters"].append({**limit, "required": True})
    new["paths"]["/flows/{id}"]["get"]["parameters"].append(
        {
            "name": "x-trace",
            "in": "header",
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        }
    )
    new["paths"]["/flows/{id}"]["get"]["parameters"].remove(VERSION_HEADER)  # normalize drops it
    assert _changes(_diff(old, new)) == {
        "GET /flows/{id}": [
            "parameter `limit` (query): now required",
            "parameter `offset` (query) removed",
            "parameter `x-trace` (header) added: `string | null`, optional",
        ]
    }


def test_a_parameter_retyped_and_its_default_changed() -> None:
    old, new = _base(), _base()
    since: dict[str, Any] = {
        "name": "since",
        "in": "query",
        "schema": {"type": "string", "format": "date-time", "default": "0001-01-01T00:00:00+00:00"},
    }
    old["paths"]["/flows/{id}"]["get"]["parameters"].append(since)
    changed = copy.deepcopy(since)
    changed["schema"].update(type="integer", default=0)
    del changed["schema"]["format"]
    new["paths"]["/flows/{id}"]["get"]["parameters"].append(changed)
    assert _changes(_diff(old, new))["GET /flows/{id}"] == [
        "parameter `since` (query): `string (date-time)` → `integer`",
        'parameter `since` (query): default `"0001-01-01T00:00:00+00:00"` → `0`',
    ]


def test_request_body_added_removed_and_made_optional() -> None:
    old, new = _base(), _base()
    new["paths"]["/flows/{id}"]["delete"]["requestBody"] = {
        "content": {"application/json": {"schema": _ref("FlowCreate")}}
    }
    del new["paths"]["/flows/"]["post"]["requestBody"]
    new["paths"]["/flows/filter"]["post"]["requestBody"]["required"] = False
    changes = _changes(_diff(old, new))
    assert changes["DELETE /flows/{id}"] == ["request body added: `FlowCreate`, optional"]
    assert changes["POST /flows/"] == ["request body removed"]
    assert changes["POST /flows/filter"] == ["request body: now optional"]


def test_request_body_model_fields_added_removed_retyped_and_made_required() -> None:
    new = _base()
    create = _schemas(new)["FlowCreate"]
    del create["properties"]["tags"]
    create["properties"]["labels"]["additionalProperties"] = {"type": "integer"}
    create["properties"]["work_pool"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    create["properties"]["parameters"] = {"type": "object"}
    create["required"] = ["name", "parameters", "labels"]
    diff = _diff(_base(), new)
    assert _changes(diff) == {
        "FlowCreate": [
            "`labels`: `map of string` → `map of integer`",
            "`labels`: now required",
            "`parameters` added: `object`, required",
            "`tags` removed",
            "`work_pool` added: `string | null`, optional, default `null`",
        ],
        "POST /flows/": [],
    }
    (operation,) = diff.changed_operations
    assert operation.models == ["FlowCreate"]
    assert (
        "- `POST /flows/` → `flows.create_flow` (no client method)\n  - models changed: `FlowCreate`\n"
        in spec_diff.render_markdown(diff, "t")
    )


def test_a_body_model_is_named_as_the_generator_names_it() -> None:
    new = _base()
    _schemas(new)["Body_read_flows_flows_filter_post"]["properties"]["limit"]["default"] = 100
    diff = _diff(_base(), new)
    assert _changes(diff) == {
        "ReadFlowsBody": ["`limit`: default `200` → `100`"],
        "POST /flows/filter": [],
    }
    assert diff.changed_operations[0].models == ["ReadFlowsBody"]


def test_a_nested_response_model_change_reaches_operations_and_overlay_methods(
    tmp_path: Path,
) -> None:
    overlay = tmp_path / "overlay"
    (overlay / "_resources").mkdir(parents=True)
    (overlay / "_resources" / "flows.py").write_text(
        "class FlowOperations:\n"
        "    @operation\n"
        "    def read_flow(self, flow_id):\n"
        "        from prefect_api.api.flows import read_flow\n"
        "        from prefect_api.models import Flow\n"
        "        return call(self, read_flow, Flow, id=flow_id)\n"
        "\n"
        "    @listing\n"
        "    def iter_flows(self):\n"
        "        return self._pages()\n"
        "\n"
        "    def _pages(self):\n"
        "        import prefect_api.api.flows.read_flows as endpoint\n"
        "        return endpoint\n"
        "\n"
        "    def _unused_helper(self):\n"
        "        from prefect_api.api.flows import create_flow as make, delete_flow\n"
        "        return make, delete_flow\n"
    )
    (overlay / "client.py").write_text(
        "from prefect_api.api import flows  # a package, not an endpoint\n"
        "def server_check(client):\n"
        "    from prefect_api.api.flows.read_flow import sync\n"
        "    return sync\n"
    )
    new = _base()
    # Flow (returned by three operations) holds a State, which gains a field.
    _schemas(new)["State"]["properties"]["message"] = {"type": "string"}
    diff = _diff(_base(), new, overlay)
    assert _changes(diff) == {
        "GET /flows/{id}": [],
        "POST /flows/": [],
        "POST /flows/filter": [],
        "State": ["`message` added: `string`, optional"],
    }
    users = {c.operation.module: (c.models, c.users) for c in diff.changed_operations}
    assert users == {
        "flows.read_flow": (["State"], ["FlowOperations.read_flow", "server_check"]),
        "flows.create_flow": (["State"], ["FlowOperations._unused_helper"]),
        "flows.read_flows": (["State"], ["FlowOperations.iter_flows"]),
    }
    section = spec_diff.render_markdown(diff, "t")
    assert (
        "- `GET /flows/{id}` → `flows.read_flow` (used by `read_flow`, `server_check`)\n"
        "  - models changed: `State`\n"
    ) in section
    assert "- `POST /flows/filter` → `flows.read_flows` (used by `iter_flows`)\n" in section
    assert "### Models changed\n\n- `State`: `message` added: `string`, optional\n" in section
    # DELETE /flows/{id} takes and returns no model that changed.
    assert "DELETE" not in section


def test_an_enum_change_reaches_operations_through_nested_models() -> None:
    new = _base()
    _schemas(new)["StateType"]["enum"].append("CRASHED")  # Flow -> State -> StateType
    diff = _diff(_base(), new)
    assert _changes(diff)["StateType"] == ["values added `CRASHED`"]
    assert {c.operation.module: c.models for c in diff.changed_operations} == {
        "flows.read_flow": ["StateType"],
        "flows.create_flow": ["StateType"],
        "flows.read_flows": ["StateType"],
    }


def test_a_removed_operation_names_the_methods_it_breaks(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(
        "class FlowOperations:\n"
        "    async def delete_flow(self, flow_id):\n"
        "        from prefect_api.api.flows import delete_flow\n"
    )
    new = _base()
    del new["paths"]["/flows/{id}"]["delete"]
    diff = _diff(_base(), new, tmp_path)
    assert diff.removed_operations[0].users == ["FlowOperations.delete_flow"]
    assert (
        "- `DELETE /flows/{id}` → `flows.delete_flow` (used by `delete_flow`)"
        in spec_diff.render_markdown(diff, "t")
    )


def test_enum_values_added_and_removed_on_models_and_inline() -> None:
    new = _base()
    _schemas(new)["StateType"]["enum"] = ["COMPLETED", "CANCELLED", "CRASHED"]
    _schemas(new)["State"]["properties"]["mode"]["enum"] = ["fast", "medium"]
    changes = _changes(_diff(_base(), new))
    assert changes["StateType"] == ["values added `CANCELLED`, `CRASHED`; removed `FAILED`"]
    assert changes["State"] == ["`mode`: values added `medium`; removed `slow`"]


def test_property_defaults_types_and_constraints() -> None:
    new = _base()
    flow = _schemas(new)["Flow"]["properties"]
    flow["tags"]["default"] = ["x"]
    flow["tags"]["maxItems"] = 10
    flow["state"] = _ref("State")
    flow["id"]["format"] = "date-time"
    assert _changes(_diff(_base(), new))["Flow"] == [
        "`id`: `string (uuid)` → `string (date-time)`",
        "`state`: `State | null` → `State`",
        '`tags`: default `[]` → `["x"]`',
        "`tags`: constraints added `maxItems: 10`",
    ]


def test_prose_only_changes_are_counted_not_listed() -> None:
    new = _base()
    flow = _schemas(new)["Flow"]
    flow["description"] = "A flow, the unit of work."
    flow["properties"]["name"].update(
        title="Flow name", examples=["other"], description="Its name."
    )
    operation = new["paths"]["/flows/{id}"]["get"]
    operation.update(summary="Read one flow", description="Get a flow by id.")
    operation["responses"]["200"]["description"] = "The flow"
    diff = _diff(_base(), new)
    assert diff.empty
    assert (diff.prose_only_operations, diff.prose_only_schemas) == (1, 1)
    section = spec_diff.render_markdown(diff, "t")
    assert (
        "Only descriptions changed (not listed) in 1 operation and 1 model.\n\nNo API changes.\n"
        in section
    )


def test_a_property_named_like_a_prose_keyword_is_still_compared() -> None:
    old, new = _base(), _base()
    _schemas(old)["Flow"]["properties"]["description"] = {"type": "string"}
    _schemas(new)["Flow"]["properties"]["description"] = {"type": "integer"}
    assert _changes(_diff(old, new))["Flow"] == ["`description`: `string` → `integer`"]


def test_an_unnamed_change_is_still_reported() -> None:
    new = _base()
    _schemas(new)["FlowCreate"]["additionalProperties"] = False
    assert _changes(_diff(_base(), new))["FlowCreate"] == ["other details changed"]


def test_models_added_and_removed() -> None:
    new = _base()
    _schemas(new)["FlowSort"] = {
        "title": "FlowSort",
        "type": "string",
        "enum": ["NAME_ASC", "NAME_DESC"],
    }
    del _schemas(new)["HTTPValidationError"]
    for op in (op for item in new["paths"].values() for op in item.values()):
        del op["responses"]["422"]
    diff = _diff(_base(), new)
    assert diff.added_schemas == ["`FlowSort` (enum: `NAME_ASC`, `NAME_DESC`)"]
    assert diff.removed_schemas == ["`HTTPValidationError`"]
    assert _changes(diff)["GET /flows/{id}"] == ["response 422 removed"]
    section = spec_diff.render_markdown(diff, "t")
    assert "### Models added\n\n- `FlowSort` (enum: `NAME_ASC`, `NAME_DESC`)\n" in section
    assert "### Models removed\n\n- `HTTPValidationError`\n" in section


def test_the_report_is_deterministic_whatever_the_key_order() -> None:
    old, new = _base(), _base()
    _schemas(new)["StateType"]["enum"].append("CRASHED")
    _schemas(new)["Flow"]["properties"]["labels"] = {"type": "object"}
    new["paths"]["/flows/count"] = {
        "post": _op("count_flows_flows_count_post", returns={"type": "integer"})
    }
    del new["paths"]["/flows/{id}"]["delete"]
    given = copy.deepcopy((old, new))
    first = spec_diff.render_markdown(_diff(old, new), "t")
    assert (old, new) == given  # the documents are normalized as copies
    assert first == spec_diff.render_markdown(_diff(old, new), "t")
    assert first == spec_diff.render_markdown(_diff(_reversed(old), _reversed(new)), "t")
    headings = [line for line in first.splitlines() if line.startswith("### ")]
    assert headings == [
        "### Operations added",
        "### Operations removed",
        "### Operations changed",
        "### Models changed",
    ]


# --------------------------------------------------------------------------------------
# The real documents, the command line, and refresh_spec.py
# --------------------------------------------------------------------------------------


def test_the_real_upgrade_from_3_8_8() -> None:
    """Facts that stay true for 3.8.8 against any current document from 3.9.1 on."""
    old = json.loads(gzip.decompress(OLD_REAL_SPEC.read_bytes()))
    new = json.loads((ROOT / "openapi.json").read_text())
    diff = spec_diff.diff_specs(old, new)
    added = {
        (c.operation.method, c.operation.path): c.operation.module for c in diff.added_operations
    }
    assert added[("GET", "/observed-states")] == "observed_states.read_observed_states"
    assert {
        "`ObservedState` (4 properties)",
        "`ObservedStateSort` (enum: `NAME_ASC`, `LAST_SEEN_DESC`)",
    } <= set(diff.added_schemas)
    assert diff.operations[0] == 187 and diff.schemas[0] == 402
    section = spec_diff.render_markdown(diff, "Prefect 3.8.8 → now")
    assert section.startswith("## Prefect 3.8.8 → now\n\nOperations 187 → ")
    assert "- `GET /observed-states` → `observed_states.read_observed_states` (" in section


def test_the_command_line_prints_the_rendered_section(tmp_path: Path) -> None:
    old, new = _base(), _base()
    _schemas(new)["StateType"]["enum"].append("CRASHED")
    (tmp_path / "old.json.gz").write_bytes(gzip.compress(json.dumps(old).encode()))
    (tmp_path / "new.json").write_text(json.dumps(new))
    (tmp_path / "overlay").mkdir()
    command = [sys.executable, str(ROOT / "scripts" / "spec_diff.py"), "old.json.gz", "new.json"]
    command += ["--overlay", "overlay", "--title", "Prefect 1 → 2"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout == spec_diff.render_markdown(_diff(old, new), "Prefect 1 → 2")
    result = subprocess.run(
        [*command, "--prepend", "API_CHANGES.md"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    changes = (tmp_path / "API_CHANGES.md").read_text()
    assert changes == f"{spec_diff.CHANGES_HEADER}\n\n{spec_diff.CHANGES_INTRO}\n\n{result.stdout}"


def test_api_changes_get_each_new_section_first_under_the_header(tmp_path: Path) -> None:
    changes_path = tmp_path / "API_CHANGES.md"
    old, new = _base(), _base()
    _schemas(new)["StateType"]["enum"].append("CRASHED")
    first = refresh_spec.record_api_changes(old, new, "Prefect 1 → 2 (2026-01-01)", changes_path)
    assert changes_path.read_text() == f"# API changes\n\n{spec_diff.CHANGES_INTRO}\n\n{first}"
    second = refresh_spec.record_api_changes(new, new, "Prefect 2 → 3 (2026-02-01)", changes_path)
    assert second.endswith("No API changes.\n")
    text = changes_path.read_text()
    assert text == f"# API changes\n\n{spec_diff.CHANGES_INTRO}\n\n{second}\n{first}"
    assert text.count("# API changes") == 1
    assert refresh_spec.record_api_changes(old, new, "t", None) == first.replace(
        "Prefect 1 → 2 (2026-01-01)", "t"
    )
    assert changes_path.read_text() == text  # no file: nothing written


def test_refresh_records_changes_only_when_the_document_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path, source_path = tmp_path / "openapi.json", tmp_path / "spec_source.json"
    changes_path = tmp_path / "API_CHANGES.md"
    old, new = _base(), _base()
    _schemas(new)["StateType"]["enum"].append("CRASHED")
    spec_path.write_text(refresh_spec.render(old))
    source_path.write_text(json.dumps({"prefect_version": "1.0", "api_version": "0.1"}))
    monkeypatch.setattr(refresh_spec, "SPEC_PATH", spec_path.resolve())
    monkeypatch.setattr(refresh_spec, "SOURCE_PATH", source_path)
    monkeypatch.setattr(refresh_spec, "CHANGES_PATH", changes_path)
    monkeypatch.setattr(refresh_spec, "fetch_from_package", lambda: copy.deepcopy(new))
    monkeypatch.setattr(
        refresh_spec, "package_versions", lambda: {"prefect_version": "2.0", "api_version": "0.1"}
    )

    assert refresh_spec.main([]) == 0
    title = f"Prefect 1.0 → 2.0 ({datetime.date.today().isoformat()})"
    section = spec_diff.render_markdown(spec_diff.diff_specs(old, new), title)
    assert capsys.readouterr().out.endswith(f"Prefect 2.0, API version 0.1\n\n{section}")
    assert changes_path.read_text().endswith(f"\n\n{section}")
    recorded = changes_path.read_text()

    assert refresh_spec.main([]) == 0  # the same document and version again
    assert (
        capsys.readouterr().out
        == "openapi.json unchanged: 4 operations, 6 schemas, Prefect 2.0, API version 0.1\n"
    )
    assert changes_path.read_text() == recorded

    elsewhere = tmp_path / "other.json"
    elsewhere.write_text(refresh_spec.render(old))
    assert refresh_spec.main(["--output", str(elsewhere)]) == 0
    assert "## previous other.json → Prefect 2.0 (" in capsys.readouterr().out
    assert changes_path.read_text() == recorded  # only the default document's changes are kept
