"""Links into the server's UI.

The page routes are the Prefect UI's own (`runs/flow-run/<id>`, `work-pools/work-pool/<name>`,
...). The UI lives next to the API: a self-hosted server's UI is its API URL without the trailing
`/api`; Prefect Cloud's workspace at `https://api.prefect.cloud/api/accounts/<a>/workspaces/<w>`
is shown at `https://app.prefect.cloud/account/<a>/workspace/<w>`.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..errors import PrefectSDKError
from ._common import as_uuid

if TYPE_CHECKING:
    import httpx

    from .._settings import Settings
    from ..client import ServerType

# kind -> the UI page of one object of that kind, addressed by its id.
UI_PAGES = {
    "flow": "flows/flow/{}",
    "flow-run": "runs/flow-run/{}",
    "task-run": "runs/task-run/{}",
    "deployment": "deployments/deployment/{}",
    "work-pool": "work-pools/work-pool/{}",  # by name: the UI addresses work pools by name
    "work-queue": "work-queues/work-queue/{}",
    "block-document": "blocks/block/{}",
    "automation": "automations/automation/{}",
    "artifact": "artifacts/artifact/{}",
    "concurrency-limit": "concurrency-limits/concurrency-limit/{}",
}
# Kinds whose UI page is addressed by name rather than by id.
BY_NAME = frozenset({"work-pool"})

_CLOUD_WORKSPACE = re.compile(r"^/accounts/([^/]+)/workspaces/([^/]+)$")


def ui_base_url(api_url: str, *, cloud: bool, cloud_api_url: str) -> str:
    """The UI's base URL (no trailing slash) for the API at `api_url`."""
    api_url = api_url.rstrip("/")
    if not cloud:
        return api_url[: -len("/api")] if api_url.endswith("/api") else api_url
    cloud_api_url = cloud_api_url.rstrip("/")
    workspace = _CLOUD_WORKSPACE.match(api_url[len(cloud_api_url) :])
    if workspace is None:
        raise PrefectSDKError(
            f"the Prefect Cloud API URL {api_url!r} does not name a workspace "
            f"({cloud_api_url}/accounts/<account id>/workspaces/<workspace id>)"
        )
    app_url = cloud_api_url.replace("://api.", "://app.", 1)
    if app_url.endswith("/api"):
        app_url = app_url[: -len("/api")]
    account, workspace_id = workspace.groups()
    return f"{app_url}/account/{account}/workspace/{workspace_id}"


class UIOperations:
    """Links into the server's UI: methods of PrefectClient and SyncPrefectClient."""

    _settings: Settings

    if TYPE_CHECKING:

        @property
        def api_url(self) -> httpx.URL: ...

        @property
        def server_type(self) -> ServerType: ...

    def ui_url(self, kind: str, id: uuid.UUID | str) -> str:
        """The UI's link to one object: `kind` is one of UI_PAGES ("flow-run", "deployment", ...),
        `id` its id (for "work-pool", its name). Makes no request."""
        from ..client import ServerType

        page = UI_PAGES.get(kind) if isinstance(kind, str) else None
        if page is None:
            raise ValueError(f"kind must be one of {', '.join(UI_PAGES)}; not {kind!r}")
        if kind in BY_NAME:
            if not isinstance(id, str) or not id:
                raise ValueError(
                    f"a {kind} is addressed by its name: a non-empty string, not {id!r}"
                )
            address = quote(id, safe="")
        else:
            address = str(as_uuid(id, "id"))
        if self.server_type is ServerType.EPHEMERAL:
            raise PrefectSDKError("an ephemeral (in-process) server has no UI to link to")
        base = ui_base_url(
            str(self.api_url),
            cloud=self.server_type is ServerType.CLOUD,
            cloud_api_url=self._settings.cloud_api_url,
        )
        return f"{base}/{page.format(address)}"
