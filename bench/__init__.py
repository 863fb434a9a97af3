"""Benchmarks: prefect-sdk against Prefect's own client and raw httpx + json.loads.

`python -m bench` starts one real Prefect server, seeds it, and measures the three clients on
the same calls, interleaved and repeated; `python -m bench --quick` is a fast smoke run and
`python -m bench.profile NAME` profiles one benchmark of this SDK.
"""
