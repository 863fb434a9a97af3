"""The in-process server is the same whether the program imported `prefect` first or not.

Prefect reads its settings at its import. A program that imports `prefect` and defines a flow
before opening an in-process client used to get a server on those import-time settings: the
user's real `~/.prefect/prefect.db` instead of a throwaway database, Prefect's telemetry
heartbeat ("Failed to send telemetry" at ERROR, with no network), SQLite "database is locked"
tracebacks. The SDK now builds and runs the app under a settings context of its own.

Each case runs in a subprocess with a clean environment (only HOME, pointing at a home of the
test's own, and PATH): the app is built once per process. The three run at once, to keep the
module's time down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = r"""
import json, os, sys, time
case = sys.argv[1]
if case != "sdk-first":
    import prefect

    @prefect.flow
    def my_flow() -> None:
        pass

if case == "prefect-first-env-changed":
    # the environment changes between Prefect's import and the client
    os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    os.environ["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"] = "true"

import prefect.settings
from prefect_sdk import _ephemeral, get_client

with get_client(sync_client=True) as client:
    assert client.server_type.value == "ephemeral"
    flow_id = client.create_flow_from_name("prefect-first")
    run = client.create_flow_run(flow_id)
    time.sleep(3)  # the app's services (telemetry among them) get to run
    assert client.read_flow_run(run.id).flow_id == flow_id
app_settings = _ephemeral._prefect_context.run(prefect.settings.get_current_settings)
database = app_settings.server.database.connection_url.get_secret_value()
print(json.dumps({
    "database": database,
    "size": os.path.getsize(database.removeprefix("sqlite+aiosqlite:///")),
    "analytics": app_settings.server.analytics_enabled,
}))
"""

CASES = ("sdk-first", "prefect-first", "prefect-first-env-changed")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, Any]]]:
    """Each case's home and finished process (stdout, stderr, return code)."""
    started = {}
    for case in CASES:
        home = tmp_path_factory.mktemp(case)
        env = {"HOME": str(home), "PATH": os.environ.get("PATH", "")}
        started[case] = (
            home,
            subprocess.Popen(
                [sys.executable, "-c", SCRIPT, case],
                env=env,
                cwd=home,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    finished = {}
    try:
        for case, (home, process) in started.items():
            stdout, stderr = process.communicate(timeout=280)
            finished[case] = (home, (stdout, stderr, process.returncode))
        yield finished
    finally:
        for _, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
def test_in_process_server_uses_a_throwaway_database_and_exits_cleanly(
    runs: dict[str, tuple[Path, Any]], case: str
) -> None:
    home, (stdout, stderr, returncode) = runs[case]
    assert returncode == 0, stderr[-3000:]
    seen = json.loads(stdout.strip().splitlines()[-1])

    # the throwaway database, which holds the data, not the user's own
    assert seen["database"].startswith("sqlite+aiosqlite:///")
    database = Path(seen["database"].removeprefix("sqlite+aiosqlite:///"))
    assert database.name == "prefect.db" and "prefect-sdk-ephemeral-" in str(database)
    assert seen["size"] > 0
    assert not database.parent.exists()  # the throwaway folder is removed at exit
    assert not (home / ".prefect" / "prefect.db").exists()
    assert seen["analytics"] is False

    for noise in ("telemetry", "database is locked", "Traceback", "AssertionError"):
        assert noise not in stderr, stderr[-3000:]
