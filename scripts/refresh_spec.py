"""Refresh openapi.json: the OpenAPI document exactly as a Prefect server emits it.

    python scripts/refresh_spec.py                 # from the pinned prefect package in this environment
    python scripts/refresh_spec.py --url URL       # from a live server, e.g. http://127.0.0.1:4200/api/openapi.json

The document is written pretty-printed (2-space indent, the server's own key order, a final
newline) so that a server schema change shows as a plain diff. Nothing else is changed: every
fix the generator needs is a rule in scripts/normalize.py, applied to a copy in memory.

When the refresh changes the document (or the Prefect version), what changed for SDK users is
printed (scripts/spec_diff.py) and, for the default openapi.json, put first in API_CHANGES.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from spec_diff import diff_specs, prepend_section, render_markdown  # noqa: E402

SPEC_PATH = ROOT / "openapi.json"
CHANGES_PATH = ROOT / "API_CHANGES.md"
# What openapi.json was taken from: the Prefect server version, and the API version its clients
# send in X-PREFECT-API-VERSION (the document itself says neither: FastAPI reports "0.1.0").
SOURCE_PATH = ROOT / "scripts" / "spec_source.json"


def fetch_from_url(url: str) -> Any:
    response = httpx.get(url, timeout=30.0)
    response.raise_for_status()
    return response.json()


def fetch_from_package() -> Any:
    """Build the installed Prefect server's API app in-process and ask it for its document."""
    # A throwaway home keeps the refresh from touching the user's ~/.prefect.
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-spec-")
    from prefect.server.api.server import create_app

    app = create_app(ephemeral=True)

    async def read() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://prefect") as client:
            response = await client.get("/api/openapi.json")
            response.raise_for_status()
            return response.json()

    return asyncio.run(read())


def package_versions() -> dict[str, str]:
    import prefect
    from prefect.client.constants import SERVER_API_VERSION

    return {"prefect_version": prefect.__version__, "api_version": SERVER_API_VERSION}


def live_versions(spec_url: str, api_version: str | None) -> dict[str, str]:
    base = spec_url.rsplit("/openapi.json", 1)[0]
    response = httpx.get(f"{base}/admin/version", timeout=30.0)
    response.raise_for_status()
    if api_version is None:
        previous = json.loads(SOURCE_PATH.read_text()) if SOURCE_PATH.exists() else {}
        api_version = previous.get("api_version")
    if not api_version:
        raise SystemExit("--api-version is needed: a live server does not report its API version")
    return {"prefect_version": response.json(), "api_version": api_version}


def render(spec: Any) -> str:
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def record_api_changes(old: Any, new: Any, title: str, changes_path: Path | None) -> str:
    """The Markdown section on what changed from `old` to `new`, also put first in `changes_path`."""
    section = render_markdown(diff_specs(old, new), title)
    if changes_path is not None:
        prepend_section(changes_path, section)
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="read the document from a live server instead of the package")
    parser.add_argument("--api-version", help="with --url: the X-PREFECT-API-VERSION it speaks")
    parser.add_argument("--output", type=Path, default=SPEC_PATH)
    args = parser.parse_args(argv)
    if args.url:
        spec, versions = fetch_from_url(args.url), live_versions(args.url, args.api_version)
    else:
        spec, versions = fetch_from_package(), package_versions()
    default_output = args.output.resolve() == SPEC_PATH
    # The version the current document came from, read before the refresh overwrites it.
    previous = json.loads(SOURCE_PATH.read_text()) if SOURCE_PATH.exists() else {}
    if default_output:
        SOURCE_PATH.write_text(json.dumps(versions, indent=2) + "\n")
    text = render(spec)
    old = args.output.read_text() if args.output.exists() else None
    args.output.write_text(text)
    paths = spec.get("paths", {})
    operations = sum(1 for item in paths.values() for method in item if method != "parameters")
    schemas = len(spec.get("components", {}).get("schemas", {}))
    state = "unchanged" if old == text else "updated"
    print(
        f"{args.output.name} {state}: {operations} operations, {schemas} schemas, "
        f"Prefect {versions['prefect_version']}, API version {versions['api_version']}"
    )
    new_version = versions["prefect_version"]
    version_changed = default_output and previous.get("prefect_version") != new_version
    if old is not None and (old != text or version_changed):
        today = datetime.date.today().isoformat()
        if default_output:
            title = f"Prefect {previous.get('prefect_version', '?')} → {new_version} ({today})"
        else:
            title = f"previous {args.output.name} → Prefect {new_version} ({today})"
        changes_path = CHANGES_PATH if default_output else None
        print("\n" + record_api_changes(json.loads(old), spec, title, changes_path), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
