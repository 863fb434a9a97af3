"""Soak: the reliability tests N times in a row, then the generated-property tests once under
the `soak` Hypothesis profile; a line per run, the failing test ids, and a summary.

    python scripts/soak.py [--runs N]      # `make soak`, `make soak SOAK_RUNS=5`

Each run is a pytest process of its own (its own Prefect server), so one run's leftovers cannot
help or hurt the next. The whole output of every run is kept under build/soak/<time>/; what is
printed is one line per run and, for a failed run, its failing test ids. Exits 1 if any run
failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELIABILITY = ["tests/reliability", "-m", "not postgres and not scaleout"]
PROPERTIES = "tests/unit/test_generated_properties.py"
# pytest's short summary (-rfE): "FAILED tests/x.py::test_y[a] - AssertionError: ..."
SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) (\S+)")
# pytest's last line: "== 3 failed, 40 passed, 2 skipped in 81.20s (0:01:21) =="
OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


@dataclass
class Run:
    name: str
    returncode: int
    seconds: float
    log: Path
    failing: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_pytest(name: str, args: list[str], log: Path) -> Run:
    """One pytest process, its output to `log`; what it ran and which tests failed."""
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *args]
    started = time.monotonic()
    with log.open("w") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        returncode = subprocess.call(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace").splitlines()
    failing = [m[2] for line in text if (m := SUMMARY_LINE.match(line))]
    counts: dict[str, int] = {}
    for line in reversed(text):
        found = OUTCOME.findall(line)
        if found and " in " in line:
            counts = {what: int(n) for n, what in found}
            break
    return Run(name, returncode, seconds, log, list(dict.fromkeys(failing)), counts)


def report(run: Run) -> None:
    """One line for the run, and one for each test that failed in it."""
    counts = ", ".join(f"{n} {what}" for what, n in run.counts.items()) or "no summary"
    verdict = "pass" if run.ok else f"FAIL (exit {run.returncode})"
    print(f"{run.name}: {verdict:<14} {run.seconds:7.1f}s  {counts}")
    for test_id in run.failing:
        print(f"    failed: {test_id}")
    if not run.ok and not run.failing:
        print(f"    no test failed: see {run.log}")
    sys.stdout.flush()


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="reliability runs (default 20)")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    logs = ROOT / "build" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    what = f"{RELIABILITY[0]} -m '{RELIABILITY[2]}'"
    print(f"soak: {options.runs} runs of {what}; full output in {logs}/")
    sys.stdout.flush()
    started = time.monotonic()
    runs: list[Run] = []
    width = len(str(options.runs))
    for number in range(1, options.runs + 1):
        name = f"run {number:>{width}}/{options.runs}"
        run = run_pytest(name, RELIABILITY, logs / f"run-{number:02d}.log")
        runs.append(run)
        report(run)

    properties: Run | None = None
    if (ROOT / PROPERTIES).is_file():
        print(f"soak: {PROPERTIES} once, --hypothesis-profile=soak")
        sys.stdout.flush()
        args = [PROPERTIES, "--hypothesis-profile=soak"]
        properties = run_pytest("properties", args, logs / "properties.log")
        report(properties)
    else:
        print(f"soak: {PROPERTIES} does not exist: skipped")

    total = time.monotonic() - started
    failed = [run for run in runs if not run.ok]
    per_run = sum(run.seconds for run in runs) / len(runs)
    print(
        f"soak: {len(runs)} runs, {len(failed)} failures in {duration(total)} "
        f"({duration(per_run)} per run on average"
        + ("" if properties is None else f"; properties {'pass' if properties.ok else 'FAIL'}")
        + ")"
    )
    for run in failed:
        print(f"    {run.name}: {', '.join(run.failing) or 'see ' + str(run.log)}")
    return 1 if failed or (properties is not None and not properties.ok) else 0


if __name__ == "__main__":
    sys.exit(main())
