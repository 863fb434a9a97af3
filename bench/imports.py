"""Cold start of each client, each time in a fresh interpreter.

Two measurements per client, taken inside the child so interpreter start-up is left out:
- `import`: the import statement alone (wall and CPU), and resident memory right after it;
- `first_read_flow`: import, open a client, read one flow: time and memory to a first result
  (prefect-sdk imports its generated models on first use, so this shows that cost too).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from .clients import CLIENTS, OURS, PREFECT, RAW

CHILD = r"""
import json, resource, sys, time

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0

API_URL, FLOW_ID = sys.argv[1], sys.argv[2]
rss_before = rss()
cpu0 = time.process_time()
wall0 = time.perf_counter()
{code}
wall = time.perf_counter() - wall0
cpu = time.process_time() - cpu0
print(json.dumps({{
    "wall": wall,
    "cpu": cpu,
    "rss_before": rss_before,
    "rss_after": rss(),
    "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "modules": len(sys.modules),
}}))
"""

IMPORTS = {
    OURS: "import prefect_sdk",
    PREFECT: "from prefect.client.orchestration import get_client",
    RAW: "import httpx, json",
}

FIRST_READ = {
    OURS: (
        "import prefect_sdk\n"
        "with prefect_sdk.SyncPrefectClient(API_URL) as client:\n"
        "    assert str(client.read_flow(FLOW_ID).id) == FLOW_ID"
    ),
    PREFECT: (
        "import uuid\n"
        "from prefect.client.orchestration import get_client\n"
        "with get_client(sync_client=True) as client:\n"
        "    assert str(client.read_flow(uuid.UUID(FLOW_ID)).id) == FLOW_ID"
    ),
    RAW: (
        "import httpx, json\n"
        "with httpx.Client(base_url=API_URL) as client:\n"
        "    assert json.loads(client.get('/flows/' + FLOW_ID).content)['id'] == FLOW_ID"
    ),
}

KINDS = {"import": IMPORTS, "first_read_flow": FIRST_READ}


def run_child(code: str, api_url: str, flow_id: str, env: dict[str, str], cwd: Path) -> Any:
    script = CHILD.format(code=code)
    done = subprocess.run(
        [sys.executable, "-c", script, api_url, flow_id],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{code}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_cold_start(
    api_url: str, flow_id: str, env: dict[str, str], cwd: Path, runs: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """{kind: {client: medians and samples}}: one discarded run each, then `runs` interleaved."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, codes in KINDS.items():
        samples: dict[str, list[Any]] = {client: [] for client in CLIENTS}
        for client in CLIENTS:  # warm the page cache and the .pyc files
            run_child(codes[client], api_url, flow_id, env, cwd)
        for number in range(runs):
            order = CLIENTS[number % 3 :] + CLIENTS[: number % 3]
            for client in order:
                samples[client].append(run_child(codes[client], api_url, flow_id, env, cwd))
        out[kind] = {}
        for client, rows in samples.items():
            out[kind][client] = {
                "wall_ms": statistics.median(r["wall"] for r in rows) * 1e3,
                "cpu_ms": statistics.median(r["cpu"] for r in rows) * 1e3,
                "rss_mb": statistics.median(r["rss_after"] for r in rows) / 2**20,
                "rss_delta_mb": statistics.median(r["rss_after"] - r["rss_before"] for r in rows)
                / 2**20,
                "maxrss_mb": statistics.median(r["maxrss"] for r in rows) / 2**20,
                "modules": statistics.median(r["modules"] for r in rows),
                "wall_ms_samples": [round(r["wall"] * 1e3, 3) for r in rows],
            }
    return out
