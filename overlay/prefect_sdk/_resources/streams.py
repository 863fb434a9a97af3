"""Event and log streams over the server's websockets, and emitting events.

The protocol, as Prefect's server serves it (`src/prefect/server/api/events.py`, `logs.py`,
`utilities/subscriptions.py`): connect with the `prefect` subprotocol; send
`{"type": "auth", "token": ...}` (the auth string of a server that sets
PREFECT_SERVER_API_AUTH_STRING, the API key on Cloud, else null) and wait for
`{"type": "auth_success"}` (a wrong token: the server closes with 1008); then on `/events/out`
send `{"type": "filter", "filter": <EventFilter>, "backfill": <bool>}` and receive
`{"type": "event", "event": {...}}`, on `/logs/out` send `{"type": "filter", "filter":
<LogFilter>}` and receive `{"type": "log", "log": {...}}`; on `/events/in` send events, one
JSON text each, with no answer.

A subscription reconnects when its socket drops (bounded attempts, backoff), resubscribes from
the last item it yielded (events: the server's backfill from that time; logs, which the server
does not backfill: a catch-up read of `/logs/filter`), and never yields the same id twice (a
bounded memory of recent ids). Written once; the drivers in client.py run the socket steps.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .._operations import PARSE_ERRORS, Flow, Item, Listing, Stream, listing, operation, send
from .._policy import Sleep
from .._socket import POLICY_VIOLATION, PROTOCOL_ERROR, Close, Connect, Receive, Send, SocketClosed
from ..errors import PrefectSDKError, StreamAuthenticationError, StreamError
from ._common import as_mapping, as_model
from .events import EVENTS_PAGE_SIZE

if TYPE_CHECKING:
    from prefect_api.models import Event, Log, ReceivedEvent

EVENTS_OUT = "/events/out"
EVENTS_IN = "/events/in"
LOGS_OUT = "/logs/out"
RECONNECTION_ATTEMPTS = 10
# Ids remembered to drop repeats (a backfill after a reconnect overlaps what was seen).
SEEN_IDS = 10_000
AUTH_TIMEOUT = 10.0
# How far back a first subscription with backfill asks for: the server clamps it to its own
# maximum (PREFECT_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL).
BACKFILL_WINDOW = datetime.timedelta(hours=1)
# How long after a reconnect the events sent meanwhile are read over REST: the server's event
# persister stores what it streams every few seconds (5 s by default), and a new socket's
# backfill holds only what is stored.
EVENTS_CATCH_UP_DELAY = 10.0
# Events are sent over POST /events in batches of this many when a socket is not used.
EMIT_BATCH = 200


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def reconnect_delay(failures: int) -> float:
    """0.25, 0.5, 1, 2, 4, 5, 5 ... seconds before reconnect attempt `failures`."""
    return float(min(5.0, 0.25 * 2 ** (failures - 1)))


class _Seen:
    """The ids recently yielded, at most `size` of them (the oldest forgotten first)."""

    def __init__(self, size: int = SEEN_IDS) -> None:
        self.size = size
        self.ids: OrderedDict[Any, None] = OrderedDict()

    def add(self, item_id: Any) -> bool:
        """Remember `item_id`; False if it was already there."""
        if item_id in self.ids:
            return False
        self.ids[item_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


def stream_token(client: Any) -> str | None:
    settings = client._settings
    return settings.auth_string or settings.api_key or None


def _message(text: str, route: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError:
        raise StreamError(
            f"{route}: the server sent a frame that is not JSON: {text[:80]!r}"
        ) from None
    if not isinstance(message, dict):
        raise StreamError(
            f"{route}: the server sent {type(message).__name__}, not a message object"
        )
    return message


def open_socket(client: Any, route: str) -> Generator[Any, Any, Any]:
    """Connect to `route` and authenticate; the socket handle. SocketClosed if that fails,
    StreamAuthenticationError if the server refuses the token."""
    socket = yield Connect(route)
    try:
        yield Send(socket, json.dumps({"type": "auth", "token": stream_token(client)}))
        text = yield Receive(socket, AUTH_TIMEOUT)
        if text is None:
            raise StreamError(f"{route}: no answer to the authentication in {AUTH_TIMEOUT:.0f} s")
        answer = _message(text, route)
        if answer.get("type") != "auth_success":
            raise StreamAuthenticationError(
                f"{route}: authentication refused: {answer.get('reason', answer)}"
            )
    except SocketClosed as closed:
        yield Close(socket)
        refused = _refused(closed, route)
        if refused is not None:
            raise refused from None
        raise
    return socket


def _refused(closed: SocketClosed, route: str) -> PrefectSDKError | None:
    """The error for a close the stream must not retry, or None when a reconnect may help."""
    if closed.code == POLICY_VIOLATION or closed.status in (401, 403):
        return StreamAuthenticationError(
            f"{route}: the server refused the stream's credentials "
            f"({closed.reason or 'no reason'}): check PREFECT_API_AUTH_STRING "
            "(or PREFECT_API_KEY on Prefect Cloud)"
        )
    if closed.code == PROTOCOL_ERROR:
        return StreamError(f"{route}: the server refused the subscription: {closed.reason}")
    return None


Parse = Callable[[dict[str, Any]], tuple[Any, Any, datetime.datetime] | None]
CatchUp = Callable[
    [datetime.datetime], Generator[Any, Any, list[tuple[Any, Any, datetime.datetime]]]
]


def subscription(
    client: Any,
    route: str,
    subscribe: Callable[[datetime.datetime | None, bool], dict[str, Any]],
    parse: Parse,
    catch_up: CatchUp,
    catch_up_delay: float,
    reconnection_attempts: int,
) -> Stream[Any]:
    """The reconnecting subscription both streams share.

    `subscribe(since, reconnecting)` is the filter message to send; `parse(message)` gives
    (item, id, time) for a message that carries an item, else None. After a reconnect,
    `catch_up(since)` reads over REST what was sent while the socket was down (what the server
    had not stored yet when it backfilled the new socket is not in its backfill), once
    `catch_up_delay` seconds have passed (the time the server takes to store what it streams).
    """
    if isinstance(reconnection_attempts, bool) or not isinstance(reconnection_attempts, int):
        raise ValueError(
            f"reconnection_attempts must be a whole number, not {reconnection_attempts!r}"
        )
    seen = _Seen()
    started = _now()
    last: datetime.datetime | None = None
    failures = 0
    gap: tuple[datetime.datetime, float] | None = None  # (since, when to read it) after a drop
    while True:
        socket = None
        try:
            socket = yield from open_socket(client, route)
            yield Send(socket, json.dumps(subscribe(last, failures > 0)))
            while True:
                wait = None if gap is None else max(0.0, gap[1] - time.monotonic())
                text = None if wait == 0 else (yield Receive(socket, wait))
                if text is None:
                    if gap is not None and time.monotonic() >= gap[1]:
                        for item, item_id, when in (yield from catch_up(gap[0])):
                            if seen.add(item_id):
                                last = when if last is None else max(last, when)
                                yield Item(item)
                        gap = None
                    continue
                parsed = parse(_message(text, route))
                failures = 0
                if parsed is None:
                    continue
                item, item_id, when = parsed
                if seen.add(item_id):
                    last = when if last is None else max(last, when)
                    yield Item(item)
        except SocketClosed as closed:
            if socket is not None:
                yield Close(socket)
            refused = _refused(closed, route)
            if refused is not None:
                raise refused from None
            failures += 1
            if failures > reconnection_attempts:
                raise StreamError(
                    f"{route}: gave up after {reconnection_attempts} reconnection attempts: {closed}"
                ) from None
            delay = reconnect_delay(failures)
            since = min(gap[0], last or started) if gap is not None else (last or started)
            gap = (since, time.monotonic() + delay + catch_up_delay)
            yield Sleep(delay)


def item_parser(route: str, kind: str, model: Any, time_field: str) -> Parse:
    """The parser of a stream's `{"type": kind, kind: {...}}` messages into (the generated
    `model`, its id, its `time_field`); None for other messages. An item that does not parse is
    a one-line StreamError naming the route."""

    def parse(message: dict[str, Any]) -> tuple[Any, Any, datetime.datetime] | None:
        if message.get("type") != kind:
            return None
        try:
            item = model.from_dict(message[kind])
        except PARSE_ERRORS as error:
            raise StreamError(
                f"{route}: {kind} that does not parse ({type(error).__name__}: {error})"
            ) from None
        return item, item.id, getattr(item, time_field)

    return parse


def event_json(event: Any, name: str) -> dict[str, Any]:
    """`event` (an `Event` or its dict) as JSON, `id` and `occurred` filled in when missing;
    ValueError when it has no `prefect.resource.id` or its payload is not JSON."""
    from prefect_api.models import Event

    data = event.to_dict() if isinstance(event, Event) else dict(as_mapping(event, name))
    data.setdefault("id", str(uuid.uuid4()))
    data.setdefault("occurred", _now().isoformat())
    resource = data.get("resource")
    if not isinstance(resource, Mapping) or not resource.get("prefect.resource.id"):
        raise ValueError(
            f"{name}.resource must be a dict with a 'prefect.resource.id', not {resource!r}"
        )
    try:
        text = json.dumps(data)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} is not JSON-serializable ({error}): payload and labels must be JSON"
        ) from None
    checked: dict[str, Any] = json.loads(text)
    as_model(checked, Event, name)  # every field known, every type right
    return checked


class StreamOperations:
    """Streams and emitting events: methods of PrefectClient and SyncPrefectClient."""

    @listing
    def subscribe_events(
        self,
        filter: Any = None,
        *,
        backfill: bool = True,
        reconnection_attempts: int = RECONNECTION_ATTEMPTS,
    ) -> Listing[ReceivedEvent]:
        """Events matching `filter` (an `EventFilter` or its dict) as they happen, over the
        `/events/out` websocket: first, with `backfill`, the recent ones the server still holds
        (from `filter.occurred.since`, or the last hour, as far back as the server allows).
        Reconnects when the socket drops and resumes from the last event, never yielding an event
        twice; StreamAuthenticationError if the server refuses the credentials."""
        from prefect_api.models import EventFilter, ReceivedEvent

        given = as_model(filter if filter is not None else {}, EventFilter, "filter").to_dict()
        if not isinstance(backfill, bool):
            raise ValueError(f"backfill must be True or False, not {backfill!r}")
        start = _now()

        def subscribe(since: datetime.datetime | None, reconnecting: bool) -> dict[str, Any]:
            occurred = dict(given.get("occurred") or {})
            if since is not None:
                occurred["since"] = since.isoformat()
            elif "since" not in occurred:
                occurred["since"] = (start - BACKFILL_WINDOW if backfill else start).isoformat()
            # The server drops events after `until` (its default: now), so a live stream
            # needs one far ahead.
            occurred.setdefault("until", (start + datetime.timedelta(days=3650)).isoformat())
            return {
                "type": "filter",
                "filter": {**given, "occurred": occurred},
                "backfill": backfill or reconnecting,
            }

        client: Any = self  # a client: it has the event pages of EventOperations too

        def catch_up(since: datetime.datetime) -> Generator[Any, Any, list[Any]]:
            occurred = {"since": since.isoformat(), "until": _now().isoformat()}
            page = yield from client._first_event_page(
                {**given, "occurred": occurred}, EVENTS_PAGE_SIZE
            )
            found = []
            while page.events:
                found += [(event, event.id, event.occurred) for event in page.events]
                if not page.next_page:
                    break
                page = yield from client._next_event_page(page.next_page)
            return found

        events = subscription(
            self,
            EVENTS_OUT,
            subscribe,
            item_parser(EVENTS_OUT, "event", ReceivedEvent, "occurred"),
            catch_up,
            EVENTS_CATCH_UP_DELAY,
            reconnection_attempts,
        )
        # Typed as the listing it is to callers; its socket steps go to the drivers.
        yield from cast("Listing[ReceivedEvent]", events)

    @listing
    def subscribe_logs(
        self, filter: Any = None, *, reconnection_attempts: int = RECONNECTION_ATTEMPTS
    ) -> Listing[Log]:
        """Logs matching `filter` (a `LogFilter` or its dict) as they are written, over the
        `/logs/out` websocket (no backfill: the server streams only new logs). After a dropped
        socket it reconnects and reads the logs written meanwhile from `/logs/filter`, so none
        is lost or yielded twice."""
        from prefect_api.models import Log, LogFilter

        given = as_model(filter if filter is not None else {}, LogFilter, "filter").to_dict()

        def subscribe(since: datetime.datetime | None, reconnecting: bool) -> dict[str, Any]:
            return {"type": "filter", "filter": given}

        def catch_up(since: datetime.datetime) -> Generator[Any, Any, list[Any]]:
            timestamp = dict(given.get("timestamp") or {})
            timestamp["after_"] = since.isoformat()
            from .logs import LogOperations

            read = LogOperations.read_logs.fn
            logs = yield from read(self, {**given, "timestamp": timestamp})
            return [(log, log.id, log.timestamp) for log in logs]

        yield from self._check_log_streaming()
        logs = subscription(
            self,
            LOGS_OUT,
            subscribe,
            item_parser(LOGS_OUT, "log", Log, "timestamp"),
            catch_up,
            0.0,
            reconnection_attempts,
        )
        yield from cast("Listing[Log]", logs)

    def _check_log_streaming(self) -> Generator[Any, Any, None]:
        """StreamError if the server says (in its settings) that it does not stream logs: its
        socket would accept the subscription and send nothing. Skipped where it does not say
        (Prefect Cloud, a server that hides its settings)."""
        from prefect_api.api.admin import read_settings

        try:
            response = yield from send(self, read_settings)
            logs = response.json().get("server", {}).get("logs", {})
        except (PrefectSDKError, ValueError, AttributeError):
            return
        off = [
            name
            for name in ("stream_out_enabled", "stream_publishing_enabled")
            if logs.get(name) is False
        ]
        if off:
            settings = " and ".join(f"PREFECT_SERVER_LOGS_{name.upper()}" for name in off)
            raise StreamError(
                f"{LOGS_OUT}: this server does not stream logs: start it with {settings}=true "
                "(read_logs/iter_logs read them without a stream)"
            )

    @operation
    def emit_events(self, events: Any, *, via: str = "socket") -> Flow[list[Event]]:
        """Send events (one or many `Event`s or their dicts; `id` and `occurred` filled in when
        missing) and return them as sent: over the `/events/in` websocket (`via="socket"`), or
        `POST /events` (`via="http"`). If the socket drops part way, the events are sent again
        over HTTP (the server stores an event id once)."""
        from prefect_api.api.events import create_events
        from prefect_api.models import Event

        if via not in ("socket", "http"):
            raise ValueError(f"via must be 'socket' or 'http', not {via!r}")
        many = isinstance(events, Iterable) and not isinstance(events, (Mapping, str, bytes))
        given = list(events) if many else [events]
        payloads = [event_json(event, f"events[{i}]") for i, event in enumerate(given)]
        if via == "socket" and payloads:
            socket = None
            try:
                socket = yield from open_socket(self, EVENTS_IN)
                for payload in payloads:
                    yield Send(socket, json.dumps(payload))
                yield Close(socket)  # the close handshake: the server has read every event
                return [Event.from_dict(payload) for payload in payloads]
            except SocketClosed:
                if socket is not None:
                    yield Close(socket)
        for start in range(0, len(payloads), EMIT_BATCH):
            batch = [Event.from_dict(payload) for payload in payloads[start : start + EMIT_BATCH]]
            yield from send(self, create_events, body=batch)
        return [Event.from_dict(payload) for payload in payloads]

    @operation
    def emit_event(
        self,
        event: str,
        resource: Mapping[str, str],
        occurred: datetime.datetime | None = None,
        related: Iterable[Mapping[str, str]] | None = None,
        payload: Mapping[str, Any] | None = None,
        id: uuid.UUID | str | None = None,
        follows: uuid.UUID | str | None = None,
        *,
        via: str = "socket",
    ) -> Flow[Event]:
        """Emit one event, with Prefect's argument names (`emit_event(event="x.y",
        resource={"prefect.resource.id": "..."})`); the Event as sent."""
        if not isinstance(event, str) or not event:
            raise ValueError(f"event must be a non-empty string (the event's name), not {event!r}")
        data: dict[str, Any] = {"event": event, "resource": dict(as_mapping(resource, "resource"))}
        if occurred is not None:
            data["occurred"] = occurred.isoformat()
        if related is not None:
            data["related"] = [dict(as_mapping(r, "related[]")) for r in related]
        if payload is not None:
            data["payload"] = dict(as_mapping(payload, "payload"))
        if id is not None:
            data["id"] = str(id)
        if follows is not None:
            data["follows"] = str(follows)
        sent = yield from StreamOperations.emit_events.fn(self, [data], via=via)
        return sent[0]
