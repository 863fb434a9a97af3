"""Links into the server's UI."""

from __future__ import annotations


class UIOperations:
    """Links into the server's UI: methods of PrefectClient and SyncPrefectClient."""
