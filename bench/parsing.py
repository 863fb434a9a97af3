"""`python -m bench.parsing`: client CPU of parsing alone, ours against `json.loads` and Prefect's.

The full benchmark times whole calls (httpx included) against a live server; this one times
only what happens to a body once it has arrived, so a template change can be judged in seconds.
It reads two real bodies (one `/flow_runs/filter` page of 200 runs, one `/flows/{id}`), captured
once from a seeded `prefect server` and kept under `.tmp/bench-parsing/` (`--capture` to take
them again), then times, with `time.process_time`, best of `--rounds`:

- **raw**: `json.loads(body)`, no models (the benchmark's floor);
- **ours**: the generated endpoint's `_parse_response` on an `httpx.Response` holding the body
  (what `prefect_sdk` runs: decoding and the attrs models);
- **prefect**: `json.loads` and Prefect's pydantic models (`TypeAdapter(list[FlowRun])`,
  `Flow.model_validate`), for reference.

    python -m bench.parsing                 # ratios for both bodies
    python -m bench.parsing --rounds 50 --repeat 40
    python -m bench.parsing --baseline /tmp/old/prefect_api   # also time an older generated copy
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".tmp" / "bench-parsing"
RUNS_BODY = CACHE / "flow_runs_200.json"
FLOW_BODY = CACHE / "flow.json"
PAGE = 200


def capture() -> None:
    """Seed a throwaway server with 200 runs and keep the two bodies it answers."""
    import httpx

    sys.path.insert(0, str(ROOT))
    from tests.support.server import start_prefect_server

    from .seed import seed

    with tempfile.TemporaryDirectory(prefix="prefect-sdk-parsing-") as scratch:
        server = start_prefect_server(home=Path(scratch) / "server")
        try:
            seeded = asyncio.run(seed(server.api_url, flows=10, flow_runs=PAGE))
            with httpx.Client(base_url=server.api_url, timeout=60.0) as http:
                runs = http.post("/flow_runs/filter", json={"limit": PAGE})
                runs.raise_for_status()
                flow = http.get(f"/flows/{seeded.flow_id}")
                flow.raise_for_status()
        finally:
            server.stop()
    if len(json.loads(runs.content)) != PAGE:
        raise RuntimeError(f"the server answered {len(json.loads(runs.content))} runs, not {PAGE}")
    CACHE.mkdir(parents=True, exist_ok=True)
    RUNS_BODY.write_bytes(runs.content)
    FLOW_BODY.write_bytes(flow.content)


def best_of(parsers: dict[str, Callable[[], object]], rounds: int, repeat: int) -> dict[str, float]:
    """Per parser, the best per-call CPU seconds over `rounds` blocks of `repeat` calls.

    The parsers take turns block by block, so a busy machine slows them alike; the best block is
    the least disturbed one.
    """
    for fn in parsers.values():
        for _ in range(3):
            fn()
    gc.collect()
    times: dict[str, list[float]] = {name: [] for name in parsers}
    for _ in range(rounds):
        for name, fn in parsers.items():
            started = time.process_time()
            for _ in range(repeat):
                fn()
            times[name].append((time.process_time() - started) / repeat)
    return {name: min(values) for name, values in times.items()}


def load_baseline(package: Path) -> Any:
    """A copy of `generated/prefect_api` (e.g. from before a template change), imported under
    another name beside the current one: its modules import each other relatively."""
    import importlib.util

    name = "prefect_api_baseline"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"{package} is not a prefect_api package")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def cases(baseline: Path | None = None) -> dict[str, dict[str, Callable[[], object]]]:
    """Per body: the parsers, each a no-argument call returning what it parsed."""
    import importlib

    import httpx
    from prefect.client.schemas.objects import Flow, FlowRun
    from pydantic import TypeAdapter

    from prefect_api.api.flow_runs import read_flow_runs
    from prefect_api.api.flows import read_flow
    from prefect_api.client import Client

    client = Client(base_url="http://127.0.0.1:1/api", raise_on_unexpected_status=True)
    runs_body = RUNS_BODY.read_bytes()
    flow_body = FLOW_BODY.read_bytes()
    runs_request = httpx.Request("POST", "http://127.0.0.1:1/api/flow_runs/filter")
    flow_request = httpx.Request("GET", "http://127.0.0.1:1/api/flows/x")
    runs_adapter = TypeAdapter(list[FlowRun])

    def response(body: bytes, request: httpx.Request) -> httpx.Response:
        # A fresh response each call, as each real call has: nothing cached on it between runs.
        return httpx.Response(200, content=body, request=request)

    def ours_runs() -> Any:
        parsed = read_flow_runs._parse_response(
            client=client, response=response(runs_body, runs_request)
        )
        assert isinstance(parsed, list) and len(parsed) == PAGE
        return parsed

    def raw_runs() -> Any:
        response(runs_body, runs_request)  # the same Response construction, so only parsing differs
        return json.loads(runs_body)

    def ours_flow() -> Any:
        return read_flow._parse_response(client=client, response=response(flow_body, flow_request))

    def raw_flow() -> Any:
        response(flow_body, flow_request)
        return json.loads(flow_body)

    runs_parsers: dict[str, Callable[[], object]] = {"raw": raw_runs, "ours": ours_runs}
    flow_parsers: dict[str, Callable[[], object]] = {"raw": raw_flow, "ours": ours_flow}
    if baseline is not None:
        load_baseline(baseline)
        old_client = importlib.import_module("prefect_api_baseline.client").Client(
            base_url="http://127.0.0.1:1/api", raise_on_unexpected_status=True
        )
        old_runs = importlib.import_module("prefect_api_baseline.api.flow_runs.read_flow_runs")
        old_flow = importlib.import_module("prefect_api_baseline.api.flows.read_flow")
        runs_parsers["baseline"] = lambda: old_runs._parse_response(
            client=old_client, response=response(runs_body, runs_request)
        )
        flow_parsers["baseline"] = lambda: old_flow._parse_response(
            client=old_client, response=response(flow_body, flow_request)
        )
    runs_parsers["prefect"] = lambda: runs_adapter.validate_python(json.loads(runs_body))
    flow_parsers["prefect"] = lambda: Flow.model_validate(json.loads(flow_body))
    return {
        f"/flow_runs/filter ({PAGE} runs, {len(runs_body) // 1000} kB)": runs_parsers,
        f"/flows/{{id}} ({len(flow_body)} B)": flow_parsers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.parsing", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--capture", action="store_true", help="take the bodies from a server again"
    )
    parser.add_argument(
        "--rounds", type=int, default=30, help="timed blocks per parser (best kept)"
    )
    parser.add_argument(
        "--repeat", type=int, default=20, help="calls per block (x50 for the single flow)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also time this copy of generated/prefect_api (e.g. one from before a change)",
    )
    args = parser.parse_args(argv)
    if args.capture or not (RUNS_BODY.exists() and FLOW_BODY.exists()):
        print("capturing the bodies from a seeded server ...")
        capture()
    gc.freeze()
    for title, parsers in cases(args.baseline).items():
        repeat = args.repeat if "flow_runs" in title else args.repeat * 50
        seconds = best_of(parsers, args.rounds, repeat)
        raw = seconds["raw"]
        print(title)
        for name, value in seconds.items():
            print(f"  {name:8} {value * 1e6:10.1f} us  {value / raw:5.2f} x raw")
    return 0


if __name__ == "__main__":
    sys.exit(main())
