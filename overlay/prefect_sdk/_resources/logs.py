"""Logs: create in batches, read."""

from __future__ import annotations


class LogOperations:
    """Logs: create in batches, read: methods of PrefectClient and SyncPrefectClient."""
