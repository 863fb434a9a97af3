"""Variables."""

from __future__ import annotations


class VariableOperations:
    """Variables: methods of PrefectClient and SyncPrefectClient."""
