"""Automations."""

from __future__ import annotations


class AutomationOperations:
    """Automations: methods of PrefectClient and SyncPrefectClient."""
