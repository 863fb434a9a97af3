"""Work pools, work queues and workers."""

from __future__ import annotations


class WorkPoolOperations:
    """Work pools, work queues and workers: methods of PrefectClient and SyncPrefectClient."""
