"""Events, with their next-page token."""

from __future__ import annotations


class EventOperations:
    """Events, with their next-page token: methods of PrefectClient and SyncPrefectClient."""
