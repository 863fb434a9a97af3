"""The package on Python 3.10, its oldest supported version, against the real server.

3.10 takes the code paths 3.11 never does: dateutil's isoparse for date-times (3.10's
fromisoformat rejects Prefect's "Z"), and tomli for profiles.toml (no tomllib). Those two are
dependencies on 3.10 only. The SDK is installed with its runtime dependencies only (no prefect)
into a 3.10 venv, and into one of the running Python (3.11+) to see that they stay out there.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
# The dependencies that only Python 3.10 needs (six comes with python-dateutil).
PYTHON310_ONLY = {"python-dateutil", "six", "tomli"}


def python310() -> str | None:
    """A working Python 3.10 interpreter on this machine, if there is one."""
    candidates = [shutil.which("python3.10") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0
        ):
            return candidate
    return None


def install_runtime_only(python: Path) -> set[str]:
    """Install the SDK with its runtime dependencies alone; the distributions then installed."""
    install = subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    listing = subprocess.run(
        [str(UV), "pip", "list", "--format", "json", "--python", str(python)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {entry["name"].lower().replace("_", "-") for entry in json.loads(listing.stdout)}


SCRIPT = """
import datetime, os, sys, uuid
assert sys.version_info[:2] == (3, 10), sys.version
import tomli
from prefect_api.models import Flow
from prefect_api.types import parse_datetime
from prefect_sdk import SyncPrefectClient, get_client

assert parse_datetime.__module__.startswith("dateutil."), parse_datetime
stamp = parse_datetime("2026-01-02T03:04:05.123456Z")
assert stamp == datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc), stamp

# PREFECT_API_URL comes from the profile, which must be read through tomli.
parsed = []
tomli_loads = tomli.loads
tomli.loads = lambda text, **options: parsed.append(text) or tomli_loads(text, **options)
with get_client(sync_client=True) as client:
    assert parsed and "PREFECT_API_URL" in parsed[0], parsed
    name = "py310-" + uuid.uuid4().hex[:8]
    flow_id = client.create_flow_from_name(name)
    flow = client.read_flow(flow_id)
    assert isinstance(flow, Flow) and flow.name == name
    assert isinstance(flow.created, datetime.datetime) and flow.created.tzinfo is not None
    assert [f.id for f in client.read_flows(flow_filter={"name": {"any_": [name]}})] == [flow_id]
print("ok", sys.version.split()[0])
"""


def test_runs_on_python_310(api_url: str, tmp_path: Path) -> None:
    interpreter = python310()
    if interpreter is None:
        pytest.skip("no Python 3.10 interpreter on this machine")
    venv = tmp_path / "venv"
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
    installed = install_runtime_only(venv / "bin" / "python")
    assert PYTHON310_ONLY.issubset(installed), sorted(installed)
    assert "prefect" not in installed
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        f'active = "local"\n\n[profiles.local]\nPREFECT_API_URL = "{api_url}"\n'
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environment["PREFECT_HOME"] = str(home)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok 3.10")


SCRIPT_311 = """
import datetime, importlib, pkgutil, sys
import prefect_api, prefect_sdk
from prefect_sdk._settings import load_settings

# Every module imports without dateutil or tomli installed ...
for package in (prefect_api, prefect_sdk):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
# ... and date-times and the profile are read by the standard library.
from prefect_api.types import parse_datetime
stamp = parse_datetime("2026-01-02T03:04:05Z")
assert stamp == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), stamp
assert load_settings().api_url == "http://profile.test/api"
assert "tomllib" in sys.modules
print("ok")
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="needs Python 3.11 or later")
def test_python_311_installs_no_python_310_only_dependency(tmp_path: Path) -> None:
    venv = tmp_path / "venv311"
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
        check=True,
        capture_output=True,
    )
    installed = install_runtime_only(venv / "bin" / "python")
    assert {"prefect-sdk", "httpx", "attrs"}.issubset(installed), sorted(installed)
    assert PYTHON310_ONLY.isdisjoint(installed), sorted(installed)
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        'active = "p"\n[profiles.p]\nPREFECT_API_URL = "http://profile.test/api"\n'
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environment["PREFECT_HOME"] = str(home)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", SCRIPT_311],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "ok\n"
