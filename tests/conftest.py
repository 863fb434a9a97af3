"""Shared pytest fixtures for the prefect-sdk test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.support.server import (
    TEST_DATABASE_URL_ENV,
    TEST_SERVER_PREFECT_ENV,
    PrefectServer,
    start_prefect_server,
)

# `make test-compat` runs the real-server tests against an older server line: the servers come
# from that environment's `prefect` (TEST_SERVER_PREFECT_ENV), and this names its version.
TEST_SERVER_VERSION_ENV = "PREFECT_SDK_TEST_SERVER_VERSION"
REAL_SERVER_FIXTURES = frozenset({"prefect_server", "api_url", "server_version"})

# Hypothesis profiles (tests/unit/test_generated_properties.py). `default`: a few examples per
# schema, the same ones every run (derandomized: CI is deterministic), in about 30 s;
# `soak` (`--hypothesis-profile=soak`, run by `make soak`): many more, drawn at random, and a
# failure prints the blob that replays it (`@reproduce_failure`). Neither keeps an example
# database (what Hypothesis still caches in `.hypothesis/` it git-ignores itself). Bodies drawn
# from the large schemas are large and slow to draw by design: those health checks would only
# flag that.
_BODY_HEALTH_CHECKS = [
    HealthCheck.too_slow,
    HealthCheck.large_base_example,
    HealthCheck.data_too_large,
]
settings.register_profile(
    "default",
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=_BODY_HEALTH_CHECKS,
)
settings.register_profile(
    "soak",
    max_examples=200,
    derandomize=False,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_BODY_HEALTH_CHECKS,
)


def compat_run() -> bool:
    """Whether the test servers come from another environment (an older server line)."""
    return bool(os.environ.get(TEST_SERVER_PREFECT_ENV))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a compatibility run, keep only the tests that talk to a real server: the rest do not
    depend on the server's version and ran in the main run."""
    if not compat_run():
        return
    kept = [item for item in items if REAL_SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))]
    deselected = [item for item in items if item not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


# --------------------------------------------------------------------------------------
# Real Prefect server (one per test session)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A ``prefect server start`` subprocess shared by the whole test session."""
    server = start_prefect_server(
        home=tmp_path_factory.mktemp("prefect-home"),
        database_url=os.environ.get(TEST_DATABASE_URL_ENV) or None,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api_url(prefect_server: PrefectServer) -> str:
    """``http://127.0.0.1:PORT/api`` of the session's Prefect server."""
    return prefect_server.api_url


@pytest.fixture(scope="session")
def server_version(prefect_server: PrefectServer) -> tuple[int, ...]:
    """The session server's Prefect version as numbers, e.g. (3, 9, 1): for tests of features
    an older server line lacks."""
    return tuple(int(part) for part in prefect_server.version.split(".")[:3])


@pytest.fixture(scope="session")
def expected_server_version() -> str:
    """The Prefect version the session's servers must report: the one the SDK was generated
    from, or in a compatibility run the older line's."""
    from prefect_api import PREFECT_VERSION

    if compat_run():
        return os.environ[TEST_SERVER_VERSION_ENV]
    return PREFECT_VERSION
