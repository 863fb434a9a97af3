"""Every operation of `openapi.json` has a client method, or a line in the README saying why not.

An operation has a method when an overlay function imports its generated endpoint module (the
same scan `scripts/spec_diff.py` uses to name an operation's users). The README's table under
"Reachable through `prefect_api` only" lists the others, one `METHOD /path` per row. The two sets
together must be exactly the document's operations: a new operation with neither fails here, and
so does a table row for an operation the document does not have, or one that has a method now.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = "## Reachable through `prefect_api` only"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \| (.+) \|$")


def _spec_diff() -> ModuleType:
    name = "prefect_sdk_scripts_spec_diff"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "spec_diff.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def document_operations() -> dict[tuple[str, str], str]:
    """(METHOD, path) -> endpoint module ("flows.read_flow") of every operation."""
    spec_diff = _spec_diff()
    doc = spec_diff._load(json.loads((ROOT / "openapi.json").read_text(encoding="utf-8")))
    return {(op.method, op.path): op.module for op, _ in doc.operations.values()}


def operations_with_a_method() -> set[str]:
    """The endpoint modules some overlay function imports."""
    spec_diff = _spec_diff()
    return set(spec_diff.overlay_users(spec_diff.OVERLAY_ROOT))


def readme_table(text: str) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> reason, from the README section's table."""
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], str] = {}
    for line in section.splitlines():
        if match := ROW.match(line.strip()):
            key = (match[1], match[2])
            assert key not in rows, f"README lists {key[0]} {key[1]} twice"
            rows[key] = match[3].strip()
    return rows


def test_every_operation_has_a_method_or_a_readme_reason() -> None:
    operations = document_operations()
    assert len(operations) == 188  # openapi.json of Prefect 3.9.1; a refresh updates this
    with_method = operations_with_a_method()
    listed = readme_table(README.read_text(encoding="utf-8"))
    uncovered = sorted(
        f"{method} {path} ({module})"
        for (method, path), module in operations.items()
        if module not in with_method and (method, path) not in listed
    )
    assert not uncovered, "operations with no method and no README row:\n" + "\n".join(uncovered)
    unknown = sorted(f"{m} {p}" for m, p in listed if (m, p) not in operations)
    assert not unknown, "README rows for operations the document does not have: " + ", ".join(
        unknown
    )
    both = sorted(f"{m} {p}" for (m, p) in listed if operations[(m, p)] in with_method)
    assert not both, "README rows for operations that have a method now: " + ", ".join(both)
    assert all(reason for reason in listed.values())


def test_the_readme_table_is_read_row_by_row() -> None:
    """The table parser: a row is found, a row for a made-up route would be reported."""
    text = (
        f"{SECTION}\n\n| operation | why |\n| --- | --- |\n"
        "| `GET /nowhere/{id}` | made up |\n| `POST /flows/count` | has a method |\n\n## Next\n"
        "| `GET /ignored` | another section |\n"
    )
    rows = readme_table(text)
    assert rows == {("GET", "/nowhere/{id}"): "made up", ("POST", "/flows/count"): "has a method"}
    operations = document_operations()
    assert ("GET", "/nowhere/{id}") not in operations
    assert operations[("POST", "/flows/count")] in operations_with_a_method()
