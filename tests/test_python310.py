"""The package on Python 3.10, its oldest supported version, against the real server.

3.10 takes the code paths 3.11 never does: dateutil's isoparse for date-times (3.10's
fromisoformat rejects Prefect's "Z"), and the small TOML reader for profiles.toml (no tomllib).
The SDK is installed with its runtime dependencies only (no prefect) into a 3.10 venv.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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


SCRIPT = """
import datetime, os, sys, uuid
assert sys.version_info[:2] == (3, 10), sys.version
from prefect_api.models import Flow
from prefect_api.types import parse_datetime
from prefect_sdk import SyncPrefectClient, get_client

stamp = parse_datetime("2026-01-02T03:04:05.123456Z")
assert stamp == datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc), stamp

# PREFECT_API_URL comes from the profile: read by the 3.10 TOML reader, not tomllib.
with get_client(sync_client=True) as client:
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
    uv = Path(sys.executable).parent / "uv"
    install = subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
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
