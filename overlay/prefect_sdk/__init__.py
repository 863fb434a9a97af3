"""prefect_sdk: a typed client for the Prefect REST API, over the generated `prefect_api` package.

async with get_client() as client:
    flow_id = await client.create_flow_from_name("etl")
"""

from ._version import __version__
from .client import (
    PrefectClient,
    ServerType,
    SyncPrefectClient,
    determine_server_type,
    get_client,
)
from .errors import (
    ClientNotOpenError,
    ObjectAlreadyExists,
    ObjectNotFound,
    PrefectHTTPStatusError,
    PrefectSDKError,
    SettingsError,
    UnsupportedByServer,
)

__all__ = [
    "ClientNotOpenError",
    "ObjectAlreadyExists",
    "ObjectNotFound",
    "PrefectClient",
    "PrefectHTTPStatusError",
    "PrefectSDKError",
    "ServerType",
    "SettingsError",
    "SyncPrefectClient",
    "UnsupportedByServer",
    "__version__",
    "determine_server_type",
    "get_client",
]
