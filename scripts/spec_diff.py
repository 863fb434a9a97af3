"""What changed for an SDK user between two Prefect OpenAPI documents, as a Markdown section.

    python scripts/spec_diff.py OLD NEW            # OLD, NEW: openapi.json files (or .json.gz)
    python scripts/spec_diff.py OLD NEW --title "Prefect 3.8.8 → 3.9.1 (2026-12-01)"
    python scripts/spec_diff.py OLD NEW --title "..." --prepend API_CHANGES.md   # and record it

`make spec` (scripts/refresh_spec.py) runs this whenever a refresh changes the document, and
records the section in API_CHANGES.md. `--prepend` does the same by hand, e.g. for an upgrade
already made: `git show HEAD:openapi.json > /tmp/old.json`, then diff `/tmp/old.json openapi.json`.

Both documents are first normalized with scripts/normalize.py's rules, so that the report uses the
generated client's names: an operation is identified by (method, path) and named by its endpoint
module (`prefect_api.api.flows.read_flow` is `flows.read_flow`), a model by its generated class
name. Prose (descriptions, summaries, titles, examples) is not an API change: it is only counted.
The overlay is scanned for the endpoint modules its methods import, so that each added, removed
or changed operation says which client methods use it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import gzip
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import normalize  # noqa: E402

Spec = dict[str, Any]
OVERLAY_ROOT = ROOT / "overlay" / "prefect_sdk"
CHANGES_HEADER = "# API changes"
CHANGES_INTRO = (
    "What changed in the Prefect REST API at each `make spec` refresh, newest first "
    "(written by scripts/refresh_spec.py with scripts/spec_diff.py)."
)
SUMMARY = (
    "Operations {} → {} ({} added, {} removed, {} changed); "
    "models {} → {} ({} added, {} removed, {} changed)."
)
PROSE = frozenset({"description", "summary", "title", "examples", "example"})
SUBSCHEMAS = frozenset({"anyOf", "oneOf", "allOf", "items", "additionalProperties", "not"})
# What `_describe` spells a type with; any other keyword (minimum, maxItems...) is a constraint.
SHAPE = SUBSCHEMAS | {"type", "format", "$ref", "enum", "const", "default", "properties"}


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    module: str  # the endpoint module under prefect_api.api: "flows.read_flow"


@dataclass
class OperationChange:
    operation: Operation
    changes: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # changed models it sends or receives
    users: list[str] = field(default_factory=list)  # overlay functions using it: "Class.method"


@dataclass
class SchemaChange:
    name: str
    changes: list[str]


@dataclass
class SpecDiff:
    operations: tuple[int, int]  # how many, old and new
    schemas: tuple[int, int]
    added_operations: list[OperationChange] = field(default_factory=list)
    removed_operations: list[OperationChange] = field(default_factory=list)
    changed_operations: list[OperationChange] = field(default_factory=list)
    added_schemas: list[str] = field(default_factory=list)  # "`ObservedState` (4 properties)"
    removed_schemas: list[str] = field(default_factory=list)
    changed_schemas: list[SchemaChange] = field(default_factory=list)
    prose_only_operations: int = 0
    prose_only_schemas: int = 0

    @property
    def empty(self) -> bool:
        kinds = [self.added_operations, self.removed_operations, self.changed_operations]
        return not any(kinds + [self.added_schemas, self.removed_schemas, self.changed_schemas])


@dataclass
class _Doc:
    names: dict[str, str]  # components.schemas key -> model name
    schemas: dict[str, Spec]  # model name -> schema
    operations: dict[tuple[str, str], tuple[Operation, Spec]]  # by (path, METHOD)


def _normalized(spec: Spec) -> Spec:
    try:
        return normalize.normalize(spec, api_version="")
    except (ValueError, KeyError, TypeError):
        # A rule the new document breaks is for `make generate` to report; the report still wants
        # the rules that do apply, so each is tried on its own.
        fixed = copy.deepcopy(spec)
        for rule in normalize.RULES:
            attempt = copy.deepcopy(fixed)
            try:
                rule(attempt)
            except (ValueError, KeyError, TypeError):
                continue
            fixed = attempt
        return fixed


def _load(spec: Spec) -> _Doc:
    fixed = _normalized(spec)
    schemas = fixed.get("components", {}).get("schemas", {})
    names = {key: str(schema.get("title") or key) for key, schema in schemas.items()}
    operations = {}
    for path, method, op in normalize.operations(fixed):
        tag = normalize.tag_module((op.get("tags") or ["default"])[0])
        operation = Operation(method.upper(), path, f"{tag}.{op.get('operationId', method)}")
        operations[(path, method.upper())] = (operation, op)
    return _Doc(names, {names[key]: schema for key, schema in schemas.items()}, operations)


def _ref_name(ref: str, names: dict[str, str]) -> str:
    key = ref.rsplit("/", 1)[-1]
    return names.get(key, key)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _codes(values: Any) -> str:
    return ", ".join(f"`{value if isinstance(value, str) else _json(value)}`" for value in values)


def _describe(schema: Any, names: dict[str, str]) -> str:
    """A schema's type as a reader says it: `array of FlowRun`, `string (date-time) | null`."""
    if not isinstance(schema, dict):
        return "none"  # a response without content
    if "$ref" in schema:
        return _ref_name(schema["$ref"], names)
    for key, joint in (("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")):
        if key in schema:
            return joint.join(_describe(option, names) for option in schema[key])
    if "const" in schema:
        return _json(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_describe({**schema, "type": one}, names) for one in kind)
    if kind == "array" or "items" in schema:
        items = _describe(schema.get("items", {}), names)
        return f"array of ({items})" if " | " in items else f"array of {items}"
    if isinstance(schema.get("additionalProperties"), dict) and "properties" not in schema:
        return f"map of {_describe(schema['additionalProperties'], names)}"
    text = str(kind or ("object" if "properties" in schema else "any"))
    text += f" ({schema['format']})" if "format" in schema else ""
    return text + (" enum" if "enum" in schema else "")


def _essence(node: Any, names: dict[str, str], *, keep: bool = False) -> Any:
    """`node` without prose and with every $ref as its model name: what the API means by it."""
    if isinstance(node, list):
        return [_essence(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    return {  # under `properties`, `keep`: the keys are property names, and one may be "title"
        key: _ref_name(value, names)
        if key == "$ref" and isinstance(value, str)
        else _essence(value, names, keep=key == "properties")
        for key, value in node.items()
        if keep or key not in PROSE
    }


def _keywords(node: Any, *, enums: bool) -> set[str]:
    """The enum values (or else the constraints, `minimum: 0.0`) of a schema and its subschemas,
    not those of a nested object's properties (they are reported on their own)."""
    found: set[str] = set()
    if isinstance(node, list):
        return found.union(*(_keywords(item, enums=enums) for item in node))
    for key, value in node.items() if isinstance(node, dict) else ():
        if key in SUBSCHEMAS:
            found |= _keywords(value, enums=enums)
        elif key == "enum" and enums:
            found.update(item if isinstance(item, str) else _json(item) for item in value)
        elif not (enums or key in SHAPE or key in PROSE or key == "required"):
            found.add(f"{key}: {_json(value)}")
    return found


def _default(schema: Any) -> str:
    given = isinstance(schema, dict) and "default" in schema
    return f"`{_json(schema['default'])}`" if given else "none"


def _said(label: str, text: str) -> str:
    return f"{label}: {text}" if label else text


def _value_changes(label: str, old: Any, new: Any, od: _Doc, nd: _Doc) -> list[str]:
    """Type, default, enum values and constraints of a property, a parameter or a whole model;
    "other details changed" when none of those tells the change: none goes unsaid."""
    changes = []
    if (before := _describe(old, od.names)) != (after := _describe(new, nd.names)):
        changes.append(_said(label, f"`{before}` → `{after}`"))
    if _default(old) != _default(new):
        changes.append(_said(label, f"default {_default(old)} → {_default(new)}"))
    for what, enums in (("values", True), ("constraints", False)):
        before_set, after_set = _keywords(old, enums=enums), _keywords(new, enums=enums)
        moves = [(f"added {_codes(sorted(after_set - before_set))}", after_set - before_set)]
        moves.append((f"removed {_codes(sorted(before_set - after_set))}", before_set - after_set))
        if said := "; ".join(text for text, values in moves if values):
            changes.append(_said(label, f"{what} {said}"))
    if not changes and _essence(old, od.names) != _essence(new, nd.names):
        changes.append(_said(label, "other details changed"))
    return changes


Members = dict[str, tuple[Any, bool | None]]  # label -> (schema, required; None: not said)


def _member_changes(old: Members, new: Members, od: _Doc, nd: _Doc) -> list[str]:
    """Changes of the named parts of a model (properties) or of an operation (parameters...)."""
    changes = []
    for label in sorted(set(old) | set(new)):
        if label not in new:
            changes.append(f"{label} removed")
            continue
        schema, required = new[label]
        necessity = "" if required is None else ", required" if required else ", optional"
        if label not in old:
            default = f", default {_default(schema)}" if _default(schema) != "none" else ""
            changes.append(f"{label} added: `{_describe(schema, nd.names)}`{necessity}{default}")
            continue
        changes += _value_changes(label, old[label][0], schema, od, nd)
        if old[label][1] != required and required is not None:
            changes.append(f"{label}: now {necessity.removeprefix(', ')}")
    return changes


def _properties(schema: Spec) -> Members:
    required = set(schema.get("required", []))
    return {f"`{n}`": (s, n in required) for n, s in schema.get("properties", {}).items()}


def _schema_changes(old: Spec, new: Spec, od: _Doc, nd: _Doc) -> list[str]:
    outer = [
        {k: v for k, v in s.items() if k not in ("properties", "required")} for s in (old, new)
    ]
    changes = _value_changes("", outer[0], outer[1], od, nd)
    return changes + _member_changes(_properties(old), _properties(new), od, nd)


def _operation_members(op: Spec) -> Members:
    members: Members = {}
    for parameter in op.get("parameters", []):
        label = f"parameter `{parameter.get('name')}` ({parameter.get('in')})"
        members[label] = (parameter.get("schema", {}), bool(parameter.get("required")))
    if isinstance(body := op.get("requestBody"), dict):
        content = body.get("content", {})
        media = "application/json" if "application/json" in content else min(content, default="")
        label = "request body" + (f" ({media})" if media != "application/json" else "")
        members[label] = (content.get(media, {}).get("schema", {}), bool(body.get("required")))
    for code, response in op.get("responses", {}).items():
        content = response.get("content", {})
        media = "application/json" if "application/json" in content else min(content, default="")
        members[f"response {code}"] = (content[media].get("schema", {}) if media else None, None)
    return members


def _operation_changes(key: tuple[str, str], od: _Doc, nd: _Doc) -> list[str]:
    (old_id, old_op), (new_id, new_op) = od.operations[key], nd.operations[key]
    changes = []
    if old_id.module != new_id.module:
        changes.append(f"endpoint `{old_id.module}` → `{new_id.module}`")
    changes += _member_changes(_operation_members(old_op), _operation_members(new_op), od, nd)
    if bool(old_op.get("deprecated")) != bool(new_op.get("deprecated")):
        changes.append("now deprecated" if new_op.get("deprecated") else "no longer deprecated")
    if not changes and _essence(old_op, od.names) != _essence(new_op, nd.names):
        changes.append("other details changed")
    return changes


def _refs(node: Any, names: dict[str, str]) -> set[str]:
    if isinstance(node, dict):
        found = {_ref_name(node["$ref"], names)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value, names) for value in node.values()))
    return set().union(*(_refs(item, names) for item in node)) if isinstance(node, list) else set()


def _reachable(op: Spec, doc: _Doc) -> set[str]:
    """Every model the operation sends or receives, directly or through nested models."""
    seen: set[str] = set()
    todo = _refs(op, doc.names)
    while todo:
        if (name := todo.pop()) not in seen:
            seen.add(name)
            todo |= _refs(doc.schemas.get(name, {}), doc.names)
    return seen


def overlay_users(root: Path) -> dict[str, list[str]]:
    """Endpoint module ("flows.read_flow") -> the overlay functions using it ("Class.method").

    Overlay methods import their endpoint modules in their bodies. A private helper's modules
    count for the public functions calling it (`self._pages(...)` in its class, or by name in its
    module); the helper itself is named only when no public function calls it.
    """
    imports: dict[tuple[str, str], set[str]] = {}
    calls: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for source in sorted(root.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for name, function in _functions(tree.body, ""):
            nodes = list(ast.walk(function))  # a nested def counts for the one around it
            scope, key = name.rpartition(".")[0], (str(source), name)
            imports[key] = {module for node in nodes for module in _imported_endpoints(node)}
            calls[key] = {(str(source), c) for node in nodes if (c := _callee(node, scope))}
    users: dict[str, set[str]] = defaultdict(set)
    for owner in imports:
        seen, todo = set(), [owner]
        while todo:
            if (current := todo.pop()) not in seen:
                seen.add(current)
                todo += calls.get(current, set()) - seen
                for module in imports.get(current, set()):
                    users[module].add(owner[1])
    public = {
        m: {u for u in us if not u.rpartition(".")[2].startswith("_")} for m, us in users.items()
    }
    return {module: sorted(public[module] or owners) for module, owners in users.items()}


def _functions(body: list[ast.stmt], prefix: str) -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((prefix + node.name, node))
        elif isinstance(node, ast.ClassDef):
            found += _functions(node.body, f"{prefix}{node.name}.")
    return found


def _callee(node: ast.AST, scope: str) -> str | None:
    """The function a call inside `scope` (a class, or "" for the module) may name."""
    target = node.func if isinstance(node, ast.Call) else None
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and scope:
        return f"{scope}.{target.attr}" if target.value.id in ("self", "cls") else None
    return None


def _imported_endpoints(node: ast.AST) -> set[str]:
    """`from prefect_api.api.flows import read_flow [as x]` -> {"flows.read_flow"}, and kin."""
    if isinstance(node, ast.ImportFrom) and node.level == 0:
        modules = [f"{node.module}.{alias.name}" for alias in node.names]
    elif isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    else:
        return set()
    parts = [module.split(".") for module in modules]
    return {f"{p[2]}.{p[3]}" for p in parts if p[:2] == ["prefect_api", "api"] and len(p) > 3}


def _shape(schema: Spec) -> str:
    if "enum" in schema:
        return f"enum: {_codes(schema['enum'])}"
    count = len(schema.get("properties", {}))
    return f"{count} propert{'y' if count == 1 else 'ies'}"


def diff_specs(old: Spec, new: Spec, overlay: Path | None = OVERLAY_ROOT) -> SpecDiff:
    """The changes from `old` to `new`; `overlay` is the client package scanned for users."""
    od, nd = _load(old), _load(new)
    users = overlay_users(overlay) if overlay is not None and overlay.is_dir() else {}
    diff = SpecDiff((len(od.operations), len(nd.operations)), (len(od.schemas), len(nd.schemas)))
    for name in sorted(set(od.schemas) | set(nd.schemas)):
        if name not in od.schemas:
            diff.added_schemas.append(f"`{name}` ({_shape(nd.schemas[name])})")
        elif name not in nd.schemas:
            diff.removed_schemas.append(f"`{name}`")
        elif changes := _schema_changes(od.schemas[name], nd.schemas[name], od, nd):
            diff.changed_schemas.append(SchemaChange(name, changes))
        elif od.schemas[name] != nd.schemas[name]:
            diff.prose_only_schemas += 1
    changed_models = {change.name for change in diff.changed_schemas}
    for key in sorted(set(od.operations) | set(nd.operations)):
        op = (nd.operations.get(key) or od.operations[key])[0]
        change = OperationChange(op, users=users.get(op.module, []))
        if key not in od.operations:
            diff.added_operations.append(change)
        elif key not in nd.operations:
            diff.removed_operations.append(change)
        else:
            change.changes = _operation_changes(key, od, nd)
            change.models = sorted(_reachable(nd.operations[key][1], nd) & changed_models)
            if change.changes or change.models:
                diff.changed_operations.append(change)
            elif od.operations[key][1] != nd.operations[key][1]:
                diff.prose_only_operations += 1
    return diff


def _operation_line(change: OperationChange, nobody: str) -> str:
    # A client mixes in every resource class: its users call the bare method name.
    methods = sorted({user.rpartition(".")[2] for user in change.users})
    used = f"used by {_codes(methods)}" if methods else nobody
    return f"- `{change.operation.method} {change.operation.path}` → `{change.operation.module}` ({used})"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_markdown(diff: SpecDiff, title: str) -> str:
    """One Markdown section, `## <title>`, with a heading only for the kinds of change there are."""
    operations = [diff.added_operations, diff.removed_operations, diff.changed_operations]
    schemas: list[list[Any]] = [diff.added_schemas, diff.removed_schemas, diff.changed_schemas]
    counts = [*diff.operations, *map(len, operations), *diff.schemas, *map(len, schemas)]
    lines = [f"## {title}", "", SUMMARY.format(*counts)]
    if diff.prose_only_operations or diff.prose_only_schemas:
        where = [
            _plural(diff.prose_only_operations, "operation"),
            _plural(diff.prose_only_schemas, "model"),
        ]
        lines += ["", f"Only descriptions changed (not listed) in {' and '.join(where)}."]
    if diff.empty:
        lines += ["", "No API changes."]
    changed_operations, changed_models = [], []
    for change in diff.changed_operations:
        models = [f"models changed: {_codes(change.models)}"] if change.models else []
        changed_operations.append(_operation_line(change, "no client method"))
        changed_operations += [f"  - {line}" for line in change.changes + models]
    for schema in diff.changed_schemas:
        if len(schema.changes) == 1:
            changed_models.append(f"- `{schema.name}`: {schema.changes[0]}")
        else:
            changed_models += [f"- `{schema.name}`:", *(f"  - {line}" for line in schema.changes)]
    sections = {
        "Operations added": [_operation_line(c, "no client method yet") for c in operations[0]],
        "Operations removed": [_operation_line(c, "no client method") for c in operations[1]],
        "Operations changed": changed_operations,
        "Models added": [f"- {name}" for name in diff.added_schemas],
        "Models removed": [f"- {name}" for name in diff.removed_schemas],
        "Models changed": changed_models,
    }
    for heading, entries in sections.items():
        lines += ["", f"### {heading}", "", *entries] if entries else []
    return "\n".join(lines) + "\n"


def prepend_section(path: Path, section: str) -> None:
    """Put `section` first under the file's fixed header (creating the file): newest on top."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    # Everything from the first section on is kept as it is; the header and intro are rewritten.
    start = 0 if old.startswith("## ") else old.find("\n## ")
    earlier = old[start:].strip() if start >= 0 else ""
    parts = [CHANGES_HEADER, CHANGES_INTRO, section.strip(), earlier]
    path.write_text("\n\n".join(part for part in parts if part) + "\n", encoding="utf-8")


def read_spec(path: Path) -> Spec:
    data = path.read_bytes()
    spec: Spec = json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the earlier openapi.json (or .json.gz)")
    parser.add_argument("new", type=Path, help="the later openapi.json (or .json.gz)")
    parser.add_argument("--title", help='the section heading, e.g. "Prefect 3.8.8 → 3.9.1"')
    parser.add_argument("--overlay", type=Path, default=OVERLAY_ROOT, help="the client package")
    parser.add_argument("--prepend", type=Path, help="also put the section first in this file")
    args = parser.parse_args(argv)
    diff = diff_specs(read_spec(args.old), read_spec(args.new), args.overlay)
    section = render_markdown(diff, args.title or f"{args.old.name} → {args.new.name}")
    sys.stdout.write(section)
    if args.prepend:
        prepend_section(args.prepend, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
