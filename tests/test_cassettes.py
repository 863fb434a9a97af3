"""Generated endpoints replayed from a recorded cassette: no server needed.

pyproject's addopts has `--record-mode=none`, so this only replays `tests/cassettes/test_cassettes/`
and the network is blocked. To record the cassette again, delete it, start a server on port 4200
(`prefect server start --port 4200`) and run

    pytest tests/test_cassettes.py -p no:cacheprovider -o addopts='' --record-mode=once
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vcr.cassette import Cassette

import prefect_api
from prefect_api.api.admin import read_version
from prefect_api.api.root import hello

BASE_URL = "http://127.0.0.1:4200/api"
TOKEN = "pnu_SECRETTEST"
CASSETTE = Path(__file__).parent / "cassettes" / "test_cassettes" / "test_hello_and_version.yaml"


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": ["authorization", "x-api-key", "cookie", "prefect-csrf-token"],
        "decode_compressed_response": True,
    }


@pytest.mark.vcr
@pytest.mark.block_network
def test_hello_and_version(vcr: Cassette) -> None:
    client = prefect_api.AuthenticatedClient(
        base_url=BASE_URL,
        token=TOKEN,
        headers={"X-PREFECT-API-VERSION": prefect_api.API_VERSION},
    )
    with client:
        assert client.get_httpx_client().headers["authorization"] == f"Bearer {TOKEN}"
        greeting = hello.sync(client=client)
        version = read_version.sync_detailed(client=client)

    assert greeting == "👋"
    assert version.status_code == 200
    assert version.parsed == prefect_api.PREFECT_VERSION

    if vcr.record_mode != "none":
        return  # recording: the cassette file is written when the test ends

    # Both answers came from the cassette, which holds exactly these two exchanges.
    assert vcr.play_count == 2
    assert vcr.all_played
    assert [request.path for request in vcr.requests] == ["/api/hello", "/api/admin/version"]
    for request in vcr.requests:
        assert "authorization" not in {name.lower() for name in request.headers}

    text = CASSETTE.read_text(encoding="utf-8")
    assert "/api/admin/version" in text
    assert TOKEN not in text
    assert "Bearer" not in text
