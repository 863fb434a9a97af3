"""Deployments, their schedules, and runs created from them."""

from __future__ import annotations


class DeploymentOperations:
    """Deployments, their schedules, and runs created from them: methods of PrefectClient and SyncPrefectClient."""
