"""Consume a client's stream (`subscribe_events`, `subscribe_logs`) in a thread, for tests.

`Subscriber` runs the stream on a SyncPrefectClient or a PrefectClient (on a loop of its own) and
collects what it yields until a caller-chosen item says stop, so a test can drive the server
while the stream is open and then look at what came through, in order.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from prefect_sdk import PrefectClient, SyncPrefectClient


class Subscriber:
    """`method(*args, **kwargs)` of a fresh client of `kind` on `api`, consumed in a thread."""

    def __init__(
        self,
        kind: str,
        api: Any,
        method: str,
        *args: Any,
        until: Callable[[Any], bool],
        client_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.kind, self.api, self.method = kind, api, method
        self.args, self.kwargs, self.until = args, kwargs, until
        self.client_options = client_options or {}
        self.items: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Subscriber:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(timeout=60)

    def _run(self) -> None:
        try:
            if self.kind == "sync":
                with SyncPrefectClient(self.api, **self.client_options) as client:
                    for item in getattr(client, self.method)(*self.args, **self.kwargs):
                        self.items.put(item)
                        if self.until(item):
                            return
            else:
                asyncio.run(self._consume())
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
            self.items.put(error)

    async def _consume(self) -> None:
        async with PrefectClient(self.api, **self.client_options) as client:
            async for item in getattr(client, self.method)(*self.args, **self.kwargs):
                self.items.put(item)
                if self.until(item):
                    return

    def take(self, count: int, timeout: float = 60.0) -> list[Any]:
        """The next `count` items (an error the stream raised is raised here)."""
        got: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(got)} of {count} items in {timeout} s: {got[-3:]}")
            try:
                item = self.items.get(timeout=left)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            got.append(item)
        return got

    def rest(self, timeout: float = 60.0) -> list[Any]:
        """Everything until the stream ends (its `until` item included)."""
        self.thread.join(timeout=timeout)
        assert not self.thread.is_alive(), "the stream did not end"
        if self.error is not None:
            raise self.error
        got = []
        while not self.items.empty():
            got.append(self.items.get_nowait())
        return got
