"""prefect_sdk: a typed client for the Prefect REST API, over the generated `prefect_api` package.

async with get_client() as client:
    flow_id = await client.create_flow_from_name("etl")
"""

from . import states
from ._resources.concurrency_slots import ConcurrencyLease
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
    ConcurrencyLeaseLost,
    ConcurrencyLimitMissing,
    ConcurrencySlotAcquisitionTimeout,
    FlowRunWaitTimeout,
    NotPrefectAPI,
    ObjectAlreadyExists,
    ObjectNotFound,
    PermissionDeniedError,
    PrefectHTTPStatusError,
    PrefectSDKError,
    PrefectTransportError,
    RateLimitError,
    SettingsError,
    StreamAuthenticationError,
    StreamError,
    UnexpectedBody,
    UnprocessableEntity,
    UnsupportedByServer,
)

__all__ = [
    "AuthenticationError",
    "ClientNotOpenError",
    "ConcurrencyLease",
    "ConcurrencyLeaseLost",
    "ConcurrencyLimitMissing",
    "ConcurrencySlotAcquisitionTimeout",
    "FlowRunWaitTimeout",
    "NotPrefectAPI",
    "ObjectAlreadyExists",
    "ObjectNotFound",
    "PermissionDeniedError",
    "PrefectClient",
    "PrefectHTTPStatusError",
    "PrefectSDKError",
    "PrefectTransportError",
    "RateLimitError",
    "ServerType",
    "SettingsError",
    "StreamAuthenticationError",
    "StreamError",
    "SyncPrefectClient",
    "UnexpectedBody",
    "UnprocessableEntity",
    "UnsupportedByServer",
    "__version__",
    "determine_server_type",
    "get_client",
    "states",
]
