"""Artifacts."""

from __future__ import annotations


class ArtifactOperations:
    """Artifacts: methods of PrefectClient and SyncPrefectClient."""
