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


TEMPLATE_SCRIPT = """
from prefect_sdk import get_client

with get_client(sync_client=True) as client:
    print("flows before:", len(client.read_flows()), flush=True)
    client.create_flow_from_name("made-in-this-process")
"""


@pytest.mark.timeout(300)
def test_a_throwaway_database_starts_from_the_migrated_template(tmp_path: Path) -> None:
    """The first process saves its freshly migrated, empty database in the cache; the next
    starts from a copy of it (no migrations) and sees none of the first one's data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") or "SDK" in k}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", TEMPLATE_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=140,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout)
        templates = list((tmp_path / "cache" / "prefect-sdk").glob("prefect-*-empty.db"))
        assert len(templates) == 1, templates
    assert outputs == ["flows before: 0\n", "flows before: 0\n"]
    import sqlite3

    with sqlite3.connect(templates[0]) as template:
        tables = {row[0] for row in template.execute("select name from sqlite_master")}
        assert {"flow", "flow_run", "alembic_version"} <= tables
        assert template.execute("select count(*) from flow").fetchone() == (0,)
