"""A process that used the in-process server ends clean: no task of the app destroyed while
pending (a cancelled call, a run_deployment that timed out), no database folder left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import asyncio
from prefect_sdk import FlowRunWaitTimeout, get_client

async def main():
    async with get_client() as client:
        flow_id = await client.create_flow_from_name("exit-clean")
        deployment_id = await client.create_deployment(flow_id, "d")
        try:
            await client.run_deployment(deployment_id, timeout=1)
        except FlowRunWaitTimeout:
            print("timed out", flush=True)
        reads = [asyncio.ensure_future(client.read_flows()) for _ in range(5)]
        await asyncio.sleep(0.01)
        for read in reads:
            read.cancel()
        await asyncio.gather(*reads, return_exceptions=True)
    print("done", flush=True)

asyncio.run(main())
"""


@pytest.mark.timeout(300)
def test_in_process_exit_is_clean(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") or "SDK" in k}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=280
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "timed out" in done.stdout and "done" in done.stdout, done.stdout
    assert "Task was destroyed" not in done.stderr, done.stderr[-2000:]
    assert not list(tmp_path.glob("prefect-sdk-ephemeral-*")), "the database folder was left"
