"""Tag concurrency limits and global concurrency limits."""

from __future__ import annotations


class ConcurrencyOperations:
    """Tag concurrency limits and global concurrency limits: methods of PrefectClient and SyncPrefectClient."""
