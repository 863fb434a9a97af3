"""Block types, schemas and documents."""

from __future__ import annotations


class BlockOperations:
    """Block types, schemas and documents: methods of PrefectClient and SyncPrefectClient."""
