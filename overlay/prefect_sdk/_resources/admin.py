"""The server itself: its default result storage, the worker metadata it serves, raw requests.

`request` is Prefect's escape hatch, a call by method and path on the configured client (retries,
CSRF, headers and per-call options included); `send_path` is the same for the methods of routes
the server's OpenAPI document does not have (Prefect Cloud's), which therefore have no
generated endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .._operations import Op, call, operation, send, server_version, unexpected_body
from ..errors import UnsupportedByServer, is_route_missing, raise_for_status
from ._common import as_mapping, as_text, as_uuid

if TYPE_CHECKING:
    from prefect_api.models import ServerDefaultResultStorage

# (API URL, SDK version) pairs whose server version was checked in this process (Prefect's
# `raise_for_api_version_mismatch_once` keeps the same key).
_VERSIONS_CHECKED: set[tuple[str, str]] = set()

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def send_path(
    client: Any,
    operation: str,
    method: str,
    path: str,
    path_params: Mapping[str, Any] | None = None,
    **request: Any,
) -> Op[httpx.Response]:
    """Send `method path` (its `{name}` parts filled from `path_params`) and return the
    response, raising for a non-2xx answer as every method does; a route the server does not
    have is `UnsupportedByServer`, naming `operation`."""
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(HTTP_METHODS))}, not {method!r}")
    path = as_text(path, "path")
    if path_params:
        try:
            path = path.format(**as_mapping(path_params, "path_params"))
        except (KeyError, IndexError) as missing:
            raise ValueError(f"path_params has no value for {missing} in {path!r}") from None
    response = yield client._build_request(method=method.upper(), url=path, **request)
    if is_route_missing(response):
        version = yield from server_version(client)
        raise UnsupportedByServer.for_operation(response, operation, version)
    raise_for_status(response)
    return response


class AdminOperations:
    """Server-level methods of PrefectClient and SyncPrefectClient."""

    _api_url: str

    @operation
    def request(
        self,
        /,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        path_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Op[httpx.Response]:
        """The response of `method path` on this client, as Prefect's `request`: `path`
        relative to the API URL, its `{name}` parts filled from `path_params`, `params` the
        query, any other keyword (`json=`, `content=`, `headers=`) for httpx's `build_request`.
        Retries and per-call options apply; a non-2xx answer raises the matching
        PrefectHTTPStatusError (UnsupportedByServer for a route the server does not have)."""
        request = dict(kwargs)
        if params is not None:
            request["params"] = params
        return (yield from send_path(self, "request", method, path, path_params, **request))

    @operation
    def read_server_default_result_storage(self) -> Op[ServerDefaultResultStorage]:
        """The block the server stores results in by default (`default_result_storage_block_id`
        None when none is set)."""
        from prefect_api.api.admin import read_server_default_result_storage
        from prefect_api.models import ServerDefaultResultStorage

        return (
            yield from call(self, read_server_default_result_storage, ServerDefaultResultStorage)
        )

    @operation
    def update_server_default_result_storage(
        self, default_result_storage_block_id: uuid.UUID | str
    ) -> Op[ServerDefaultResultStorage]:
        """Make the block document the server's default result storage; return the setting."""
        from prefect_api.api.admin import update_server_default_result_storage
        from prefect_api.models import (
            ServerDefaultResultStorage,
            ServerDefaultResultStorageUpdate,
        )

        block_id = as_uuid(default_result_storage_block_id, "default_result_storage_block_id")
        body = ServerDefaultResultStorageUpdate(default_result_storage_block_id=block_id)
        return (
            yield from call(
                self, update_server_default_result_storage, ServerDefaultResultStorage, body=body
            )
        )

    @operation
    def clear_server_default_result_storage(self) -> Op[None]:
        """Unset the server's default result storage."""
        from prefect_api.api.admin import clear_server_default_result_storage

        yield from send(self, clear_server_default_result_storage)
        return None

    @operation
    def raise_for_api_version_mismatch_once(self) -> Op[None]:
        """`raise_for_api_version_mismatch`, asked once per process for this API URL and SDK
        version (a check that raised is asked again next time)."""
        from .._version import __version__

        key = (self._api_url, __version__)
        if key in _VERSIONS_CHECKED:
            return None
        yield from type(self).raise_for_api_version_mismatch.fn(self)  # type: ignore[attr-defined]
        _VERSIONS_CHECKED.add(key)
        return None

    @operation
    def read_worker_metadata(self) -> Op[dict[str, Any]]:
        """The metadata of the worker types the server knows (its collections registry view
        `aggregate-worker-metadata`), as the JSON dict the server sends."""
        from prefect_api.api.collections import read_view_content

        response = yield from send(self, read_view_content, view="aggregate-worker-metadata")
        body = response.json()
        if not isinstance(body, dict):
            raise unexpected_body(response, "worker metadata object")
        return body
