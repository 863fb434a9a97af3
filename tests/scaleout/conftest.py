"""The scale-out server for the tests marked `scaleout` (`make test-scaleout`).

`scaleout` (session scope) starts the topology with `scripts/scaleout.sh start` (PostgreSQL,
Redis, two API processes, the services process and HAProxy, all on 127.0.0.1; Debian's packages
installed first if missing) in a state directory of the session's own, and gives the tests its
API URL, ports and pids, ways to kill and start one API process or Redis, and a direct
connection to its PostgreSQL database. Its teardown stops everything and checks that no process
of it is left and nothing listens on its ports; `test_stop.py` (always run last) does the same
inside a test.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import retry_log, short_backoff
from tests.support.fixtures import isolated_prefect_env

__all__ = ["isolated_prefect_env", "retry_log", "scaleout", "short_backoff"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "scaleout.sh"
# A fresh machine installs Debian's packages first: allow for it.
START_TIMEOUT = 420.0
COMMAND_TIMEOUT = 180.0
COMPONENTS = ("redis", "api1", "api2", "services", "haproxy")
PORTS = ("REDIS_PORT", "API1_PORT", "API2_PORT", "HAPROXY_PORT", "STATS_PORT")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """test_stop.py stops the topology: it runs after every other scale-out test."""
    last = [item for item in items if item.nodeid.startswith("tests/scaleout/test_stop.py")]
    if last:
        items[:] = [item for item in items if item not in last] + last


def live_members(pgid: int) -> list[int]:
    """The processes of process group `pgid` that are alive (zombies, which hold nothing and
    wait only for their parent to read their status, are not counted)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, _ppid, group = text.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            found.append(int(text.split(" ", 1)[0]))
    return found


def listening(ports: list[int]) -> list[int]:
    import socket

    still = []
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                still.append(port)
    return still


@dataclass
class ScaleOut:
    """The running topology, as `scripts/scaleout.sh start` left it."""

    state_dir: Path
    api_url: str
    database_url: str  # postgresql+asyncpg://..., as the servers use it
    ports: dict[str, int]
    started_in: float  # seconds `start` took
    groups: dict[str, int] = field(default_factory=dict)  # every process group it ever had
    stopped: bool = False

    # -- the script ------------------------------------------------------------------

    def script(self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True) -> str:
        """Run `scripts/scaleout.sh ARGS` on this topology; its stdout (progress goes to the
        test's stderr). RuntimeError if it fails, unless `check=False`."""
        return run_script(self.state_dir, *args, timeout=timeout, check=check)

    def pid(self, component: str) -> int | None:
        path = self.state_dir / f"{component}.pid"
        try:
            pid = int(path.read_text())
        except (OSError, ValueError):
            return None
        self.groups.setdefault(f"{component}:{pid}", pid)
        return pid

    def running(self, component: str) -> bool:
        pid = self.pid(component)
        return pid is not None and bool(live_members(pid))

    def kill_api(self, n: int) -> None:
        """SIGKILL API process `n` (1 or 2) and every process of its group."""
        self.pid(f"api{n}")
        self.script("kill-api", str(n))

    def start_api(self, n: int) -> float:
        """Start API process `n` again; return once HAProxy has it up again (seconds taken)."""
        started = time.monotonic()
        self.script("start-api", str(n))
        self.pid(f"api{n}")
        return time.monotonic() - started

    def kill_redis(self) -> None:
        self.pid("redis")
        self.script("kill-redis")

    def start_redis(self) -> None:
        self.script("start-redis")
        self.pid("redis")

    def restart_redis(self, down: float = 0.0) -> None:
        """SIGKILL Redis, wait `down` seconds, start it again on its port (empty: no persistence)."""
        self.kill_redis()
        time.sleep(down)
        self.start_redis()

    def log(self, component: str) -> str:
        with contextlib.suppress(OSError):
            return (self.state_dir / f"{component}.log").read_text(errors="replace")
        return ""

    # -- PostgreSQL, read directly ---------------------------------------------------

    async def query(self, sql: str, *args: Any) -> list[Any]:
        """Rows of `sql`, read from the topology's database itself, not through the API."""
        import asyncpg

        dsn = self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            return list(await connection.fetch(sql, *args, timeout=60))
        finally:
            await connection.close()

    # -- stopping --------------------------------------------------------------------

    def leftovers(self) -> tuple[dict[str, list[int]], list[int]]:
        """The processes of the topology still alive, and the ports still listened on."""
        alive = {
            name: members for name, pgid in self.groups.items() if (members := live_members(pgid))
        }
        return alive, listening(list(self.ports.values()))

    def stop(self) -> None:
        """`scaleout.sh stop`, then check that it left nothing running or listening."""
        if self.stopped:
            return
        for component in COMPONENTS:
            self.pid(component)
        self.stopped = True
        self.script("stop")
        alive, ports = self.leftovers()
        assert not alive and not ports, f"left after stop: processes {alive}, ports {ports}"


def run_script(
    state_dir: Path, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True
) -> str:
    env = {**os.environ, "PREFECT_SDK_SCALEOUT_DIR": str(state_dir)}
    result = subprocess.run(
        ["bash", str(SCRIPT), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"scripts/scaleout.sh {' '.join(args)} exited {result.returncode}")
    return result.stdout


def read_state(state_dir: Path) -> dict[str, str]:
    lines = (state_dir / "state.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="session")
def scaleout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    state_dir = tmp_path_factory.mktemp("scaleout") / "state"
    started = time.monotonic()
    try:
        api_url = run_script(state_dir, "start", timeout=START_TIMEOUT).strip()
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        with contextlib.suppress(Exception):
            run_script(state_dir, "stop")
        pytest.fail(f"the scale-out server did not start: {error} (see the output above)")
    state = read_state(state_dir)
    topology = ScaleOut(
        state_dir=state_dir,
        api_url=api_url,
        database_url=state["DATABASE_URL"],
        ports={name: int(state[name]) for name in PORTS},
        started_in=time.monotonic() - started,
    )
    for component in COMPONENTS:
        topology.pid(component)
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture(autouse=True)
def prefect_home(isolated_prefect_env: Path) -> Path:
    """Every scale-out test's clients run without the developer's PREFECT_* settings."""
    return isolated_prefect_env
