"""The README's examples run as written, against the real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def examples() -> list[str]:
    """The complete programs of the README's "Use" section (those that open a client)."""
    use = README.read_text().split("## Use", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", use, flags=re.DOTALL)
    return [block for block in blocks if "get_client" in block]


def test_the_readme_has_an_async_and_a_sync_example() -> None:
    found = examples()
    assert len(found) == 2
    assert "async with get_client()" in found[0]
    assert "with get_client(sync_client=True)" in found[1]
    # "five-line" examples: the client part of each stays short
    assert all(len(block.strip().splitlines()) <= 10 for block in found)


@pytest.mark.parametrize("index", [0, 1], ids=["async", "sync"])
def test_readme_example_runs(index: int, api_url: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(examples()[index])
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    environment.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(script)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # each example prints what it read back
