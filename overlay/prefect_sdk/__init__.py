"""prefect_sdk: a typed client for the Prefect REST API, over the generated `prefect_api` package.

async with get_client() as client:
    flow_id = await client.create_flow_from_name("etl")
"""

from . import states
from ._version import __version__
from .client import (
    PrefectClient,
    ServerType,
    SyncPrefectClient,
    determine_server_type,
    get_client,
)
from .errors import (
    AuthenticationError,
    ClientNotOpenError,
    FlowRunWaitTimeout,
    ObjectAlreadyExists,
    ObjectNotFound,
    PermissionDeniedError,
    PrefectHTTPStatusError,
    PrefectSDKError,
    RateLimitError,
    SettingsError,
    StreamAuthenticationError,
    StreamError,
    UnprocessableEntity,
    UnsupportedByServer,
)

__all__ = [
    "AuthenticationError",
    "ClientNotOpenError",
    "FlowRunWaitTimeout",
    "ObjectAlreadyExists",
    "ObjectNotFound",
    "PermissionDeniedError",
    "PrefectClient",
    "PrefectHTTPStatusError",
    "PrefectSDKError",
    "RateLimitError",
    "ServerType",
    "SettingsError",
    "StreamAuthenticationError",
    "StreamError",
    "SyncPrefectClient",
    "UnprocessableEntity",
    "UnsupportedByServer",
    "__version__",
    "determine_server_type",
    "get_client",
    "states",
]
