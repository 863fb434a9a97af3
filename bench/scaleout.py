"""The scale-out rows: every flow run of a large server, read through the load balancer.

`scripts/scaleout.sh start` (the scale-out issue's topology: PostgreSQL, Redis, two API
processes behind HAProxy, and the services process) runs in a state directory of the
benchmark's own; the server is seeded over raw httpx and the same three clients (made for its
URL) read every flow run, one page at a time and, for prefect-sdk, with parallel pages. The
API processes' CPU time is measured alongside (the server is the limit on this machine).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .cases import all_runs_calls, all_runs_cases, verify_all_runs
from .clients import open_clients
from .measure import Results, run_rounds, warm_up
from .seed import seed

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "scaleout.sh"
PACKAGES = ("pg_ctlcluster", "redis-server", "haproxy")
START_TIMEOUT = 600  # a fresh machine installs Debian's packages first
API_PROCESSES = ("api1", "api2")


def unavailable() -> str | None:
    """Why the topology cannot be started here, or None if it can."""
    missing = [name for name in PACKAGES if shutil.which(name) is None]
    if missing and os.geteuid() != 0:
        return f"{', '.join(missing)} not installed and not root (scripts/scaleout.sh install)"
    return None


def script(state_dir: Path, *args: str) -> str:
    env = dict(os.environ, PREFECT_SDK_SCALEOUT_DIR=str(state_dir))
    done = subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scaleout.sh {' '.join(args)} failed: {done.stderr.strip()[-600:]}")
    return done.stdout.strip()


def api_cpu_seconds(state_dir: Path) -> float:
    """CPU time used so far by both API processes (each leads a process group)."""
    from .main import server_cpu_seconds

    total = 0.0
    for name in API_PROCESSES:
        pid = int((state_dir / f"{name}.pid").read_text())
        total += server_cpu_seconds(pid)
    return total


def measure(
    root: Path, *, flow_runs: int, rounds: int, anomalies: list[str], step: Any
) -> tuple[Results, dict[str, str], dict[str, Any]]:
    """Start the topology, seed `flow_runs` runs, measure; (results, titles, what else was seen).

    The topology is stopped on the way out, whatever happens."""
    state_dir = root / "scaleout"
    step("starting the scale-out server (PostgreSQL, Redis, 2 API processes, HAProxy)")
    api_url = script(state_dir, "start")
    try:
        step(f"scale-out: seeding {flow_runs} flow runs through {api_url}")
        seeded = asyncio.run(seed(api_url, flows=10, flow_runs=flow_runs))
        print(f"   seeded in {seeded.seconds:.1f} s", file=sys.stderr)
        loop = asyncio.new_event_loop()
        clients = open_clients(api_url, loop)
        try:
            cases = all_runs_cases(
                "scaleout_flow_runs",
                f"{flow_runs} flow runs, scale-out",
                flow_runs,
                all_runs_calls(clients, flow_runs, page_concurrency=1),
                all_runs_calls(clients, flow_runs, page_concurrency=None),
            )
            step("scale-out: warming up and checking the rows")
            warm_up(clients, cases)
            compared = verify_all_runs(clients)
            step(f"scale-out: measuring, {rounds} interleaved rounds of {len(cases)} benchmarks")
            cpu_before = api_cpu_seconds(state_dir)
            results = run_rounds(clients, cases, rounds, anomalies)
            cpu_used = api_cpu_seconds(state_dir) - cpu_before
        finally:
            clients.close()
            loop.close()
    finally:
        step("stopping the scale-out server")
        script(state_dir, "stop")
    titles = {case.name: case.title for case in cases}
    seen = {
        "api_url": api_url,
        "flow_runs": flow_runs,
        "seed_seconds": round(seeded.seconds, 1),
        "rows_compared": compared,
        "api_processes_cpu_seconds": round(cpu_used, 1),
    }
    return results, titles, seen
