"""httpx transports that carry out a `RequestPolicy` exchange: the only code that sends or sleeps.

Each transport wraps the real one (a connection pool, or the in-process app) and reads every
response before the policy looks at it, so a response that is retried never holds a connection.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from ._policy import Exchange, RequestPolicy, Sleep


class RetryingTransport(httpx.BaseTransport):
    """A sync transport that sends each request under `policy`."""

    def __init__(self, inner: httpx.BaseTransport, policy: RequestPolicy) -> None:
        self.inner = inner
        self.policy = policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange: Exchange = self.policy.exchange(request)
        step = next(exchange)
        while True:
            try:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = exchange.send(None)
                    continue
                try:
                    response = self.inner.handle_request(step)
                    response.read()
                except httpx.TransportError as error:
                    step = exchange.throw(error)
                    continue
                step = exchange.send(response)
            except StopIteration as done:
                final: httpx.Response = done.value
                return final

    def close(self) -> None:
        self.inner.close()


class AsyncRetryingTransport(httpx.AsyncBaseTransport):
    """An async transport that sends each request under `policy`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RequestPolicy) -> None:
        self.inner = inner
        self.policy = policy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange: Exchange = self.policy.exchange(request)
        step = next(exchange)
        while True:
            try:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = exchange.send(None)
                    continue
                try:
                    response = await self.inner.handle_async_request(step)
                    await response.aread()
                except httpx.TransportError as error:
                    step = exchange.throw(error)
                    continue
                step = exchange.send(response)
            except StopIteration as done:
                final: httpx.Response = done.value
                return final

    async def aclose(self) -> None:
        await self.inner.aclose()
