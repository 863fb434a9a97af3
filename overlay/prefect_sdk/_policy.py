"""What happens around one request: retries, waits, the maintenance header and CSRF tokens.

Written once, without I/O ("sans-IO"): `RequestPolicy.exchange(request)` is a generator that
yields what must be done next (an `httpx.Request` to send, or a `Sleep`) and is sent back the
result (the response, or the transport error thrown into it). The sync and async transports in
`_transport.py` are the only code that sends or sleeps; everything that decides lives here.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import random
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from .errors import describe_transport_error, safe_url

logger = logging.getLogger("prefect_sdk")

# Statuses that say "try again later": request timeout, too many requests, bad gateway, unavailable.
RETRY_STATUSES = frozenset({408, 429, 502, 503})
# Transport failures worth another try: timeouts and connections dropped or refused mid-way.
# A refused connection (`httpx.ConnectError`, a NetworkError) is retried only once the policy
# has had an answer from the server: then it is a server (or one process behind a load
# balancer) restarting, while a client that never reached it was most likely given a wrong URL.
RETRY_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
# Failures that happen before a request leaves the client: the server cannot have seen it.
UNSENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Retried statuses whose request cannot have been carried out: the server (or the proxy in
# front of it) declined it. Prefect answers 503 for a database error it rolled back, a load
# balancer 503 when it has no server to forward to. A 502 or 504 is a gateway that forwarded
# the request and lost the answer: the server may have done the work.
DECLINED_STATUSES = frozenset({408, 429, 503})
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BACKOFF_BASE = 2.0
BACKOFF_CAP = 30.0
# A Retry-After longer than this is not waited for: the error is raised at once instead.
MAX_RETRY_AFTER = 300.0
# A retry of a request that has taken this long (its wait included) is logged at WARNING.
LOUD_AFTER = 5.0
CSRF_TOKEN_HEADER = "Prefect-Csrf-Token"
CSRF_CLIENT_HEADER = "Prefect-Csrf-Client"
# The server's 403 details for a missing, invalid or expired token all name the token.
CSRF_403_DETAIL = "csrf token"
# Request extension: this request's own retry limit (set by `with_options(max_retries=...)`).
MAX_RETRIES_EXTENSION = "prefect_sdk.max_retries"
# Response extensions: how many retries the exchange spent before this final response, and how
# long the whole exchange took (a `datetime.timedelta`: every attempt and wait included).
RETRIES_EXTENSION = "prefect_sdk.retries"
ELAPSED_EXTENSION = "prefect_sdk.elapsed"
# Response extension: True when an earlier attempt of this request may have reached the server
# and been carried out, its answer lost (a timeout or a dropped connection after the request
# was sent, a gateway's 502/504): a 409 on the final answer of a create may then be the server
# recognising that attempt (`_resources._common.create_once`).
MAYBE_APPLIED_EXTENSION = "prefect_sdk.maybe_applied"


@dataclass(frozen=True)
class Sleep:
    """An instruction to the transport: wait this many seconds, then resume the exchange."""

    seconds: float


Step = httpx.Request | Sleep
Exchange = Generator[Step, httpx.Response | None, httpx.Response]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


def backoff_delay(retry_number: int, jitter_factor: float, rng: random.Random) -> float:
    """Exponential backoff, 2, 4, 8, ... seconds up to a cap, stretched by up to `jitter_factor`."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE ** (retry_number + 1))
    return delay * (1.0 + rng.uniform(0.0, jitter_factor))


@dataclass
class Attempts:
    """What the earlier attempts of one request may have done on the server."""

    maybe_applied: bool = False


class RetryBudget:
    """How many retries one exchange may still spend."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.started = time.monotonic()

    def take(self) -> bool:
        """Spend one retry if any is left."""
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


@dataclass
class RequestPolicy:
    """The retry and CSRF rules of one client, and the state they keep between requests."""

    base_url: httpx.URL
    max_retries: int = 5
    extra_retry_codes: frozenset[int] = frozenset()
    jitter_factor: float = 0.2
    csrf_enabled: bool = True
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    csrf_client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _csrf_token: str | None = field(default=None, init=False)
    _csrf_expires_at: float = field(default=0.0, init=False)
    _has_connected: bool = field(default=False, init=False)

    def exchange(self, request: httpx.Request) -> Exchange:
        """Send `request` until it succeeds, fails for good, or the retries are spent.

        The CSRF token fetch it may need goes through the same retries, from the same budget.
        """
        budget = RetryBudget(request.extensions.get(MAX_RETRIES_EXTENSION, self.max_retries))
        attempts = Attempts()
        started = time.monotonic()
        while True:
            if self.csrf_enabled and request.method in STATE_CHANGING_METHODS:
                yield from self._ensure_csrf_token(request, budget)
                if self._csrf_token is not None:
                    request.headers[CSRF_TOKEN_HEADER] = self._csrf_token
                    request.headers[CSRF_CLIENT_HEADER] = self.csrf_client_id
            response = yield from self._attempts(request, budget, attempts)
            if response.status_code == 403 and self._is_stale_csrf(response) and budget.take():
                self._csrf_token = None
                self._log_retry(request, "stale CSRF token", budget, 0.0)
                continue
            response.extensions[RETRIES_EXTENSION] = budget.used
            response.extensions[MAYBE_APPLIED_EXTENSION] = attempts.maybe_applied
            elapsed = datetime.timedelta(seconds=time.monotonic() - started)
            response.extensions[ELAPSED_EXTENSION] = elapsed
            return response

    def _attempts(
        self, request: httpx.Request, budget: RetryBudget, attempts: Attempts | None = None
    ) -> Exchange:
        """Send `request` until an answer that is not worth retrying, or the budget is spent;
        note in `attempts` whether an attempt whose answer was lost may have been carried out."""
        attempts = Attempts() if attempts is None else attempts
        while True:
            try:
                response = yield request
            except RETRY_ERRORS as error:
                if not isinstance(error, UNSENT_ERRORS):
                    attempts.maybe_applied = True
                refused_at_first = isinstance(error, httpx.ConnectError) and not self._has_connected
                if refused_at_first or not budget.take():
                    raise describe_transport_error(error, request, budget.used) from error
                delay = backoff_delay(budget.used - 1, self.jitter_factor, self.rng)
                self._log_retry(request, type(error).__name__, budget, delay)
                yield Sleep(delay)
                continue
            assert response is not None
            self._has_connected = True
            asked = parse_retry_after(response.headers.get("Retry-After"), self.clock())

            if response.headers.get("Prefect-Maintenance", "").lower() == "true":
                # The server is down for maintenance and says so: wait, without spending a retry.
                fallback = backoff_delay(0, self.jitter_factor, self.rng)
                delay = asked if asked is not None else fallback
                logger.debug(
                    "%s %s: server in maintenance, waiting %.2fs",
                    request.method,
                    safe_url(request.url),
                    delay,
                )
                yield Sleep(delay)
                continue

            status = response.status_code
            if status not in RETRY_STATUSES and status not in self.extra_retry_codes:
                return response
            if asked is not None and asked > MAX_RETRY_AFTER:
                return response
            if not budget.take():
                return response
            if status not in DECLINED_STATUSES:
                attempts.maybe_applied = True
            fallback = backoff_delay(budget.used - 1, self.jitter_factor, self.rng)
            delay = asked if asked is not None else fallback
            self._log_retry(request, str(status), budget, delay)
            yield Sleep(delay)

    def _ensure_csrf_token(
        self, request: httpx.Request, budget: RetryBudget
    ) -> Generator[Step, httpx.Response | None, None]:
        """Fetch a CSRF token if none is held or it expired; turn CSRF off if the server lacks it."""
        if self._csrf_token is not None and self.clock() < self._csrf_expires_at:
            return
        from prefect_api.api.default import create_csrf_token
        from prefect_api.types import parse_datetime

        call = create_csrf_token._get_kwargs(client_query=self.csrf_client_id)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length", CSRF_TOKEN_HEADER.lower())
        }
        token_request = httpx.Request(
            call["method"],
            self.base_url.join(call["url"].lstrip("/")),
            params=call["params"],
            headers=headers,
            # The request's own timeout (and any other per-request option) holds for the token
            # fetch made on its behalf: without one, a server that never answers hangs it.
            extensions=dict(request.extensions),
        )
        try:
            response = yield from self._attempts(token_request, budget)
        except httpx.TransportError as error:
            # Named as the caller's request, which is what failed (the token fetch is ours).
            met = error.__cause__ if isinstance(error.__cause__, httpx.TransportError) else error
            during = " (while fetching a CSRF token for it)"
            raise describe_transport_error(met, request, budget.used, during) from met
        if response.status_code == 404 or (
            response.status_code == 422 and "disabled" in response.text.lower()
        ):
            logger.debug("CSRF protection is off on this server: not sending tokens")
            self.csrf_enabled = False
            return
        if response.status_code != 200:
            return  # the request itself will meet the same trouble and report it
        body = response.json()
        self._csrf_token = body["token"]
        expiration = parse_datetime(str(body["expiration"]))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=datetime.timezone.utc)
        self._csrf_expires_at = expiration.timestamp()

    def _is_stale_csrf(self, response: httpx.Response) -> bool:
        return self.csrf_enabled and CSRF_403_DETAIL in response.text.lower()

    @staticmethod
    def _log_retry(request: httpx.Request, reason: str, budget: RetryBudget, delay: float) -> None:
        """Each retry at DEBUG, and at WARNING once the request has taken `LOUD_AFTER` seconds
        with this wait: a stuck server then shows in the logs long before the error comes."""
        waited = time.monotonic() - budget.started + delay
        logger.log(
            logging.WARNING if waited >= LOUD_AFTER else logging.DEBUG,
            "%s %s: %s, retry %d in %.2fs",
            request.method,
            safe_url(request.url),
            reason,
            budget.used,
            delay,
        )
