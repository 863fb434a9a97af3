"""Flow runs, their states, inputs and labels."""

from __future__ import annotations


class FlowRunOperations:
    """Flow runs, their states, inputs and labels: methods of PrefectClient and SyncPrefectClient."""
