"""`python -m bench.profile NAME`: one benchmark of prefect-sdk under a profiler, for finding causes.

Starts and seeds a server like the benchmark does, warms the client up, then profiles `--calls`
calls of prefect-sdk alone and prints the top functions (cProfile, by own time and by cumulative
time, plus own time summed per package) or pyinstrument's call tree (`--tool pyinstrument`).

    python -m bench.profile read_flow_runs_200
    python -m bench.profile read_flow --calls 500 --tool pyinstrument
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from .clients import OURS, configure_prefect_environment, open_clients
from .seed import seed

NAMES = (
    "read_flow",
    "read_flow_async",
    "read_flows_200",
    "read_flows_200_async",
    "read_flow_runs_200",
    "read_flow_runs_200_async",
    "all_flow_runs_async",
    "all_flow_runs",
    "concurrent_read_flow",
)
DEFAULT_CALLS = {"read_flow": 300, "read_flow_async": 300, "all_flow_runs": 2}
STDLIB = str(Path(sysconfig.get_paths()["stdlib"]).resolve())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.split("\n")[0]
    )
    parser.add_argument("name", choices=NAMES, help="the benchmark to profile")
    parser.add_argument(
        "--calls", type=int, help="calls to profile (default: 300 single reads, 30 lists)"
    )
    parser.add_argument("--tool", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--top", type=int, default=25, help="functions to list (cProfile)")
    parser.add_argument(
        "--flow-runs",
        type=int,
        help="flow runs to seed (default 5000 for all_flow_runs*, else 400)",
    )
    parser.add_argument("--save", type=Path, help="also write the cProfile stats to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    calls: int = args.calls or DEFAULT_CALLS.get(args.name.removesuffix("_async"), 30)
    if args.name == "concurrent_read_flow":
        calls = args.calls or 2
    runs: int = args.flow_runs or (5000 if args.name.startswith("all_flow_runs") else 400)

    from tests.support.server import start_prefect_server

    with tempfile.TemporaryDirectory(prefix="prefect-sdk-profile-") as scratch:
        root = Path(scratch)
        server = start_prefect_server(home=root / "server")
        try:
            configure_prefect_environment(server.api_url, root / "client")
            seeded = asyncio.run(seed(server.api_url, flows=200, flow_runs=runs))
            from .cases import build_cases

            loop = asyncio.new_event_loop()
            clients = open_clients(server.api_url, loop)
            try:
                cases = build_cases(
                    clients, seeded, single_calls=1, page_calls=1, concurrent_calls=1000
                )
                case = next(case for case in cases if case.name == args.name)
                fn = case.calls[OURS]
                if case.is_async:

                    async def many() -> None:
                        for _ in range(calls):
                            await fn()

                    def body() -> None:
                        loop.run_until_complete(many())

                    warm: Callable[[], object] = lambda: loop.run_until_complete(fn())  # noqa: E731
                else:

                    def body() -> None:
                        for _ in range(calls):
                            fn()

                    warm = fn
                for _ in range(3):
                    warm()
                gc.collect()
                gc.freeze()  # as the benchmark does: old objects are not the profiled call's cost
                print(f"profiling {calls} x {case.title}, prefect-sdk ({args.tool})\n")
                with GCTimer() as collector:
                    if args.tool == "pyinstrument":
                        profile_pyinstrument(body)
                    else:
                        profile_cprofile(body, calls, args.top, args.save)
                print(collector.summary(calls))
            finally:
                clients.close()
                loop.close()
        finally:
            server.stop()
    return 0


class GCTimer:
    """Time spent in the garbage collector while profiling (profilers charge it to whichever
    function happened to allocate when a collection started)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections: defaultdict[int, int] = defaultdict(int)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1

    def __enter__(self) -> GCTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self, calls: int) -> str:
        counts = ", ".join(f"gen{gen}: {n}" for gen, n in sorted(self.collections.items()))
        return (
            f"garbage collector: {self.seconds * 1e3 / calls:.3f} ms per call, under the "
            f"profiler ({counts or 'no collections'})"
        )


def profile_pyinstrument(body: Callable[[], None]) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002)
    profiler.start()
    body()
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def profile_cprofile(body: Callable[[], None], calls: int, top: int, save: Path | None) -> None:
    # The default (wall-clock) timer: cheap, so small functions are not inflated the way a CPU
    # timer's system call per event inflates them. Waiting for the server shows up in socket
    # and selector methods, which the per-package summary sets apart.
    profiler = cProfile.Profile()
    cpu0 = time.process_time()
    profiler.enable()
    body()
    profiler.disable()
    cpu = time.process_time() - cpu0
    print(
        f"client CPU under the profiler: {cpu * 1e3 / calls:.3f} ms per call "
        "(cProfile's overhead included; times below are wall seconds)\n"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    if save is not None:
        stats.dump_stats(save)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print_by_package(stats, calls)


WAITING = "(waiting: socket and selector calls, left out of the shares)"


def is_waiting(filename: str, function: str) -> bool:
    """A C call that mostly waits for the server: socket I/O and selectors."""
    return filename == "~" and any(
        marker in function for marker in ("_socket.socket", "select.", "'select'", "epoll")
    )


def package_of(filename: str, function: str) -> str:
    """A short name for where a profiled function lives."""
    if is_waiting(filename, function):
        return WAITING
    if filename == "~":  # a C function: name it after its type or module
        if " of '" in function:
            owner = function.split(" of '", 1)[1].split("'", 1)[0]
            return f"C: {owner.split('.')[0]}"
        return "C: builtins"
    if filename.startswith("<attrs generated"):
        return "attrs-generated __init__ (prefect_api models)"
    path = filename.replace("\\", "/")
    for marker, name in (
        ("/overlay/prefect_sdk/", "prefect_sdk"),
        ("/generated/prefect_api/", "prefect_api"),
    ):
        if marker in path:
            rest = path.split(marker, 1)[1]
            return f"{name}/{rest.split('/')[0]}" if name == "prefect_api" else name
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    if path.startswith(STDLIB):
        return "stdlib: " + path[len(STDLIB) :].strip("/").split("/")[0].removesuffix(".py")
    return path


def print_by_package(stats: pstats.Stats, calls: int) -> None:
    own: defaultdict[str, float] = defaultdict(float)
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw_stats = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw_stats.items():
        own[package_of(filename, function)] += tottime
    waiting = own.pop(WAITING, 0.0)
    total = sum(own.values()) or 1.0
    print("own time by package, per call, and its share of the time not spent waiting:")
    for name, seconds in sorted(own.items(), key=lambda item: -item[1])[:20]:
        print(f"  {seconds * 1e3 / calls:9.3f} ms  {seconds / total:6.1%}  {name}")
    print(f"  {waiting * 1e3 / calls:9.3f} ms          {WAITING}")


if __name__ == "__main__":
    raise SystemExit(main())
