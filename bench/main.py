"""`python -m bench`: one real server, seeded, and the three clients measured against it."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import report
from .clients import CLIENTS, client_environment, configure_prefect_environment, open_clients
from .imports import measure_cold_start
from .seed import READ_FLOW_NAME, create_flow, seed

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Config:
    rounds: int
    flows: int
    flow_runs: int
    concurrent_calls: int
    single_calls: int
    page_calls: int
    import_runs: int
    out_dir: Path
    only: tuple[str, ...]
    scaleout_flow_runs: int  # 0: no scale-out rows
    scaleout_rounds: int


FULL = {
    "rounds": 9,
    "flows": 200,
    "flow_runs": 5000,
    "concurrent_calls": 1000,
    "single_calls": 50,
    "page_calls": 5,
    "import_runs": 5,
    "scaleout_flow_runs": 20000,
    "scaleout_rounds": 3,
}
QUICK = {
    "rounds": 2,
    "flows": 200,
    "flow_runs": 600,
    "concurrent_calls": 200,
    "single_calls": 10,
    "page_calls": 2,
    "import_runs": 2,
    "scaleout_flow_runs": 0,  # --scaleout adds them (2,000 runs)
    "scaleout_rounds": 1,
}
QUICK_SCALEOUT_RUNS = 2000


def parse_args(argv: list[str] | None) -> Config | list[str]:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure prefect-sdk against Prefect's client and raw httpx on a real server.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run (small N); writes to bench/.quick/"
    )
    parser.add_argument(
        "--rounds", type=int, help=f"samples per benchmark (default {FULL['rounds']})"
    )
    parser.add_argument(
        "--flow-runs", type=int, help=f"flow runs to seed and read (default {FULL['flow_runs']})"
    )
    parser.add_argument(
        "--concurrent-calls", type=int, help="read_flow calls in the concurrent benchmark"
    )
    parser.add_argument(
        "--import-runs", type=int, help="fresh interpreters per cold-start measurement"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark (repeatable)",
    )
    scaleout = parser.add_mutually_exclusive_group()
    scaleout.add_argument(
        "--scaleout",
        action="store_true",
        help="add the scale-out rows to a --quick run (a full run has them when it can)",
    )
    scaleout.add_argument(
        "--no-scaleout",
        action="store_true",
        help="skip the scale-out rows (PostgreSQL, Redis, 2 API processes, HAProxy)",
    )
    parser.add_argument(
        "--out-dir", type=Path, help="where results.json and ratios.png go (default bench/)"
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="profile one benchmark of prefect-sdk instead (see python -m bench.profile --help)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.profile:
        return [args.profile, *rest]
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    preset = dict(QUICK if args.quick else FULL)
    for key in ("rounds", "flow_runs", "concurrent_calls", "import_runs"):
        value = getattr(args, key)
        if value is not None:
            if value < 1:
                parser.error(f"--{key.replace('_', '-')} must be at least 1")
            preset[key] = value
    if args.no_scaleout:
        preset["scaleout_flow_runs"] = 0
    elif args.scaleout and not preset["scaleout_flow_runs"]:
        preset["scaleout_flow_runs"] = QUICK_SCALEOUT_RUNS
    out_dir = args.out_dir or (BENCH_DIR / ".quick" if args.quick else BENCH_DIR)
    return Config(out_dir=out_dir, only=tuple(args.only), **preset)


def main(argv: list[str] | None = None) -> int:
    parsed = parse_args(argv)
    if isinstance(parsed, list):
        from .profile import main as profile_main

        return profile_main(parsed)
    config = parsed
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="prefect-sdk-bench-") as scratch:
        root = Path(scratch)
        # Imported here, not at the top: `tests` is importable only from the checkout's root.
        from tests.support.server import start_prefect_server

        step("starting the Prefect server")
        server = start_prefect_server(home=root / "server")
        try:
            return run(config, server.api_url, root, started, server.process.pid)
        finally:
            server.stop()


def step(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the process group `pid` leads."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # After the command name: state, ppid, pgrp, ... utime is field 14, stime 15 (1-based).
        if int(fields[2]) == pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_idle(
    pid: int, *, window: float = 1.0, busy: float = 0.05, limit: float = 120
) -> float:
    """Wait until the server uses under `busy` of a core for two windows running; seconds waited."""
    started = time.perf_counter()
    quiet = 0
    before = server_cpu_seconds(pid)
    while quiet < 2 and time.perf_counter() - started < limit:
        time.sleep(window)
        now = server_cpu_seconds(pid)
        quiet = quiet + 1 if now - before < busy * window else 0
        before = now
    if quiet < 2:
        print(f"   warning: the server was still busy after {limit:.0f} s", file=sys.stderr)
    return time.perf_counter() - started


def run(config: Config, api_url: str, root: Path, started: float, server_pid: int) -> int:
    client_home = root / "client"
    configure_prefect_environment(api_url, client_home)

    # Cold starts first, on an idle machine: only the flow they read exists yet.
    step("waiting for the server to go idle")
    print(f"   idle after {wait_until_idle(server_pid):.1f} s", file=sys.stderr)
    flow_id = asyncio.run(create_flow(api_url, READ_FLOW_NAME))
    step(f"cold start: {config.import_runs} fresh interpreters per client and measurement")
    env = dict(os.environ) | client_environment(api_url, client_home)
    cold = measure_cold_start(api_url, str(flow_id), env, client_home, config.import_runs)

    step(f"seeding {config.flows + 1} flows and {config.flow_runs} flow runs")
    seeded = asyncio.run(seed(api_url, flows=config.flows, flow_runs=config.flow_runs))
    assert seeded.flow_id == flow_id, "flows are unique by name: seeding must find the same one"
    print(f"   seeded in {seeded.seconds:.1f} s ({seeded.retries} rows retried)", file=sys.stderr)
    step("waiting for the server to go idle (it persists the seeding's events in the background)")
    print(f"   idle after {wait_until_idle(server_pid):.1f} s", file=sys.stderr)

    from .cases import build_cases, verify_same_rows
    from .measure import run_rounds, warm_up

    loop = asyncio.new_event_loop()
    clients = open_clients(api_url, loop)
    anomalies: list[str] = []
    try:
        cases = build_cases(
            clients,
            seeded,
            single_calls=config.single_calls,
            page_calls=config.page_calls,
            concurrent_calls=config.concurrent_calls,
        )
        if config.only:
            unknown = set(config.only) - {case.name for case in cases}
            if unknown:
                known = ", ".join(case.name for case in cases)
                raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; known: {known}")
            cases = [case for case in cases if case.name in config.only]
        step("warming up every client, then checking all three read the same rows")
        warm_up(clients, cases)
        compared = verify_same_rows(clients)
        step(f"measuring: {config.rounds} interleaved rounds of {len(cases)} benchmarks")
        cpu_before = server_cpu_seconds(server_pid)
        results = run_rounds(clients, cases, config.rounds, anomalies)
        server_cpu = server_cpu_seconds(server_pid) - cpu_before
        requests = {
            f"{client}/{'async' if is_async else 'sync'}": clients.requests(client, is_async)
            for client in CLIENTS
            for is_async in (False, True)
        }
    finally:
        clients.close()
        loop.close()

    titles = {case.name: case.title for case in cases}
    scaleout_seen: dict[str, object] = {}
    if config.scaleout_flow_runs and not config.only:
        from . import scaleout

        reason = scaleout.unavailable()
        if reason:
            step(f"no scale-out rows: {reason}")
            scaleout_seen["skipped"] = reason
        else:
            more, more_titles, scaleout_seen = scaleout.measure(
                root,
                flow_runs=config.scaleout_flow_runs,
                rounds=config.scaleout_rounds,
                anomalies=anomalies,
                step=step,
            )
            results.update(more)
            titles.update(more_titles)

    timed = {name: {c: s.as_json() for c, s in series.items()} for name, series in results.items()}
    print()
    print(report.format_table(cold, timed, titles))
    print()
    targets = report.targets(cold, timed)
    for target in targets:
        print(target.line())
    passed = sum(target.passed for target in targets)
    print(f"{passed}/{len(targets)} targets met")

    total = time.perf_counter() - started
    payload = {
        "machine": report.machine_info(),
        "config": {key: str(value) for key, value in asdict(config).items()},
        "seed": {
            "flows": len(seeded.flow_ids),
            "flow_runs": seeded.flow_runs,
            "seconds": round(seeded.seconds, 2),
        },
        "rows_compared": compared,
        "requests_sent": requests,
        "server_cpu_seconds_while_measuring": round(server_cpu, 1),
        "scaleout": scaleout_seen,
        "anomalies": anomalies,
        "total_seconds": round(total, 1),
        "cold_start": cold,
        "benchmarks": {
            name: {"title": titles[name], "clients": row, "ratios": ratios(row)}
            for name, row in timed.items()
        },
        "targets": [target.as_json() for target in targets],
    }
    results_path = config.out_dir / "results.json"
    chart_path = config.out_dir / "ratios.png"
    report.write_json(results_path, payload)
    report.write_chart(chart_path, cold, timed, titles)
    print(f"wrote {results_path} and {chart_path} ({total:.0f} s in all)")
    return 0


def ratios(row: report.Row) -> dict[str, float]:
    out: dict[str, float] = {}
    for client, base in (("ours", "raw"), ("ours", "prefect"), ("prefect", "raw")):
        for metric in ("wall", "cpu"):
            value = report.ratio(row, client, base, f"{metric}_ms")
            out[f"{client}/{base} {metric}"] = round(value, 4)
    return out
