"""The in-process server's throwaway database does not change the user's own settings.

Run in a subprocess with a clean environment (only HOME, pointing at a home of the test's own):
the in-process server is built once per process, and the point is what it leaves behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = r"""
import json, os
from prefect_sdk import get_client
from prefect_sdk._settings import load_settings

before = os.environ.get("PREFECT_HOME")
with get_client(sync_client=True) as client:
    assert client.server_type.value == "ephemeral"
    flow_id = client.create_flow_from_name("home-check")
    seen_by_client = (client._settings.max_retries, client._settings.request_timeout)
later = load_settings()
print(json.dumps({
    "home_before": before,
    "home_after": os.environ.get("PREFECT_HOME"),
    "client": seen_by_client,
    "later": (later.max_retries, later.request_timeout),
    "later_home": str(later.home),
}))
"""


@pytest.mark.timeout(240)
def test_in_process_server_leaves_the_users_profile_in_force(tmp_path: Path) -> None:
    home = tmp_path / "user"
    prefect_dir = home / ".prefect"
    prefect_dir.mkdir(parents=True)
    (prefect_dir / "profiles.toml").write_text(
        'active = "mine"\n\n[profiles.mine]\n'
        'PREFECT_CLIENT_MAX_RETRIES = "1"\nPREFECT_API_REQUEST_TIMEOUT = "7"\n'
    )
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "")}

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["home_before"] is None
    assert seen["home_after"] is None  # PREFECT_HOME was not set for the whole process
    assert seen["client"] == [1, 7.0]  # the profile's values, for the in-process client
    assert seen["later"] == [1, 7.0]  # and for every client made after it
    assert seen["later_home"] == str(prefect_dir)
    # The server's data went to a throwaway database, not the user's own.
    assert not (prefect_dir / "prefect.db").exists()


AGAIN = r"""
import asyncio, time
from prefect_sdk import get_client

with get_client(sync_client=True) as client:
    client.create_flow_from_name("first-session")

async def second() -> None:
    async with get_client() as client:
        rid = "test.second-session"
        await client.emit_event("test.again", {"prefect.resource.id": rid}, via="http")
        for _ in range(100):  # the event persister runs in the second session too
            if (await client.read_events({"resource": {"id": [rid]}})).total == 1:
                print("stored")
                return
            await asyncio.sleep(0.2)

asyncio.run(second())
"""


@pytest.mark.timeout(240)
def test_in_process_server_serves_later_sessions_and_exits_cleanly(tmp_path: Path) -> None:
    """Prefect's app runs its lifespan once per process: the SDK keeps it up across sessions
    (its services included) and ends it when the process exits, without hanging or noise."""
    env = {
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
        "PREFECT_HOME": str(tmp_path / "home"),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", AGAIN],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "stored"
    assert "Task was destroyed" not in done.stderr and "Traceback" not in done.stderr
    assert elapsed < 120
