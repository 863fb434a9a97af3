"""prefect_sdk: the hand-written client over the generated `prefect_api` package."""

from ._version import __version__

__all__ = ["__version__"]
