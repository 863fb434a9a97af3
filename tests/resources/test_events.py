"""Event methods on both clients, against the real server."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import pytest

from prefect_api import Client
from prefect_api.api.events import create_events, read_events
from prefect_api.models import Event, EventFilter, EventPage, ReadEventsBody, ReceivedEvent
from prefect_sdk import PrefectHTTPStatusError
from prefect_sdk._resources.events import page_token

EVENTS = 12


def emit(api_url: str, prefix: str, count: int) -> set[uuid.UUID]:
    """Post `count` events about resources `<prefix>.<i>`, one second apart; return their ids."""
    now = datetime.datetime.now(datetime.timezone.utc)
    events = [
        Event.from_dict(
            {
                "id": str(uuid.uuid4()),
                "occurred": (now - datetime.timedelta(seconds=i)).isoformat(),
                "event": f"{prefix}.happened",
                "resource": {"prefect.resource.id": f"{prefix}.{i}"},
                "payload": {"i": i},
            }
        )
        for i in range(count)
    ]
    response = create_events.sync_detailed(client=Client(base_url=api_url), body=events)
    assert response.status_code == 204
    return {event.id for event in events}


def about(prefix: str) -> dict[str, Any]:
    return {"resource": {"id_prefix": [f"{prefix}."]}}


@pytest.fixture(scope="module")
def emitted(api_url: str) -> tuple[str, set[uuid.UUID]]:
    """EVENTS events under a fresh prefix (plus decoys under another), once they are stored."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    ids = emit(api_url, prefix, EVENTS)
    emit(api_url, f"{prefix}x", 3)  # decoys: the same prefix without the dot
    # The server stores events asynchronously (its event persister flushes every few seconds,
    # and the two posts above can land in different flushes): wait until both sets are stored.
    expected = [(about(prefix), EVENTS), ({"event": {"name": [f"{prefix}x.happened"]}}, 3)]
    deadline = time.monotonic() + 60
    with Client(base_url=api_url) as plain:
        for filter_, count in expected:
            body = ReadEventsBody(filter_=EventFilter.from_dict(filter_), limit=1)
            while True:
                page = read_events.sync(client=plain, body=body)
                if isinstance(page, EventPage) and page.total >= count:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the server did not store the posted events within 60 s: {filter_}"
                    )
                time.sleep(0.5)
    return prefix, ids


def test_read_events_and_follow_pages(client: Any, emitted: tuple[str, set[uuid.UUID]]) -> None:
    prefix, ids = emitted
    first = client.read_events(filter=about(prefix), limit=5)
    assert isinstance(first, EventPage) and first.total == EVENTS
    assert len(first.events) == 5 and all(isinstance(e, ReceivedEvent) for e in first.events)
    assert first.next_page and "page-token=" in first.next_page
    second = client.read_events_page(first.next_page)
    assert len(second.events) == 5 and second.next_page
    third = client.read_events_page(page_token(second.next_page))  # a bare token works too
    assert len(third.events) == 2 and third.next_page is None
    seen = [e.id for page in (first, second, third) for e in page.events]
    assert len(seen) == EVENTS and set(seen) == ids
    # newest first by default: resource <prefix>.0 occurred last
    assert [e.resource.additional_properties["prefect.resource.id"] for e in first.events] == [
        f"{prefix}.{i}" for i in range(5)
    ]


def test_iter_events_follows_the_token(client: Any, emitted: tuple[str, set[uuid.UUID]]) -> None:
    prefix, ids = emitted
    events = list(client.iter_events(about(prefix), page_size=5))
    assert len(events) == EVENTS and {e.id for e in events} == ids
    ascending = list(client.iter_events({**about(prefix), "order": "ASC"}, page_size=4))
    assert [e.payload.additional_properties["i"] for e in ascending] == list(
        reversed(range(EVENTS))
    )
    assert [e.id for e in client.iter_events(about(prefix))] == [e.id for e in events]
    assert list(client.iter_events(about(f"{prefix}-nothing"))) == []


def test_filter_by_event_name(client: Any, emitted: tuple[str, set[uuid.UUID]]) -> None:
    prefix, _ = emitted
    page = client.read_events({"event": {"name": [f"{prefix}x.happened"]}})
    assert page.total == 3 and page.next_page is None
    assert {e.event for e in page.events} == {f"{prefix}x.happened"}


def test_bad_arguments(client: Any) -> None:
    with pytest.raises(ValueError, match="next_page_url has no page-token"):
        client.read_events_page("http://127.0.0.1/api/events/filter/next?other=1")
    with pytest.raises(ValueError, match="next_page_url must be a non-empty string"):
        client.read_events_page(None)
    with pytest.raises(ValueError, match="limit must be a whole number"):
        client.read_events(limit=-1)
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        list(client.iter_events(page_size=0))
    with pytest.raises(PrefectHTTPStatusError, match="403"):
        client.read_events_page("not-a-token")
    with pytest.raises(PrefectHTTPStatusError, match="422"):
        client.read_events(limit=51)


def test_page_token_keeps_plus_signs() -> None:
    url = "http://host/api/events/filter/next?page-token=ab+c/d%3D"
    assert page_token(url) == "ab+c/d="
    assert page_token("ab+c==") == "ab+c=="
