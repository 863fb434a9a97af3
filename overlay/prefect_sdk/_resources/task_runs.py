"""Task runs and their states."""

from __future__ import annotations


class TaskRunOperations:
    """Task runs and their states: methods of PrefectClient and SyncPrefectClient."""
