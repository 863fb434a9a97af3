"""UI links on both clients: a self-hosted server, and a Prefect Cloud workspace (no requests)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_sdk import PrefectClient, PrefectSDKError, SyncPrefectClient
from prefect_sdk._resources.ui import UI_PAGES

ID = uuid.UUID("8f4c1c36-2a53-4b8e-9d1f-0e2e8c5b9a71")
ACCOUNT = "0b6bd3b1-2f5e-4a1b-a8a4-1d8d4b6c7e01"
WORKSPACE = "5d1e9a60-7c4f-4b1f-9f0e-3a2b1c0d9e82"
CLOUD_API = f"https://api.prefect.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"
CLOUD_UI = f"https://app.prefect.cloud/account/{ACCOUNT}/workspace/{WORKSPACE}"

EXPECTED_PATHS = {
    "flow": f"flows/flow/{ID}",
    "flow-run": f"runs/flow-run/{ID}",
    "task-run": f"runs/task-run/{ID}",
    "deployment": f"deployments/deployment/{ID}",
    "work-queue": f"work-queues/work-queue/{ID}",
    "block-document": f"blocks/block/{ID}",
    "automation": f"automations/automation/{ID}",
    "artifact": f"artifacts/artifact/{ID}",
    "concurrency-limit": f"concurrency-limits/concurrency-limit/{ID}",
}


def test_server_links(client: Any, api_url: str) -> None:
    base = api_url.removesuffix("/api")
    assert base != api_url
    for kind, path in EXPECTED_PATHS.items():
        assert client.ui_url(kind, ID) == f"{base}/{path}"
        assert client.ui_url(kind, str(ID)) == f"{base}/{path}"
    assert client.ui_url("work-pool", "my pool") == f"{base}/work-pools/work-pool/my%20pool"
    assert set(UI_PAGES) == set(EXPECTED_PATHS) | {"work-pool"}


@pytest.mark.parametrize("client_type", [SyncPrefectClient, PrefectClient])
def test_cloud_links(client_type: type) -> None:
    cloud = client_type(CLOUD_API)
    assert cloud.ui_url("flow-run", ID) == f"{CLOUD_UI}/runs/flow-run/{ID}"
    assert cloud.ui_url("deployment", str(ID)) == f"{CLOUD_UI}/deployments/deployment/{ID}"
    assert cloud.ui_url("work-pool", "k8s") == f"{CLOUD_UI}/work-pools/work-pool/k8s"
    assert client_type(CLOUD_API + "/").ui_url("flow", ID) == f"{CLOUD_UI}/flows/flow/{ID}"


def test_cloud_url_without_a_workspace() -> None:
    account_only = SyncPrefectClient(f"https://api.prefect.cloud/api/accounts/{ACCOUNT}")
    with pytest.raises(PrefectSDKError, match="does not name a workspace"):
        account_only.ui_url("flow", ID)


def test_self_hosted_url_without_api_suffix() -> None:
    proxied = SyncPrefectClient("https://prefect.example.com/prefect/api/")
    assert proxied.ui_url("flow", ID) == f"https://prefect.example.com/prefect/flows/flow/{ID}"


def test_bad_kind_and_bad_id(client: Any) -> None:
    with pytest.raises(ValueError, match="kind must be one of flow, flow-run, .*artifact"):
        client.ui_url("flow_run", ID)
    with pytest.raises(ValueError, match="kind must be one of"):
        client.ui_url(None, ID)
    for bad in ("nope", 42, None, "1234"):
        with pytest.raises(ValueError, match="id must be a UUID"):
            client.ui_url("flow-run", bad)
    with pytest.raises(ValueError, match="addressed by its name"):
        client.ui_url("work-pool", "")
