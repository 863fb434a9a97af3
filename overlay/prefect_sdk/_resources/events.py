"""Events, with their next-page token.

`POST /events/filter` answers one page of events and, when there are more, a `next_page` link
(`.../events/filter/next?page-token=...`); `GET /events/filter/next` answers the page after a
token. The token is taken out of the link and sent through the generated endpoint, so the next
page is asked of this client's API URL (not of whatever host the server thinks it is behind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .._operations import Item, Listing, Op, call, listing, operation
from ._common import as_model

if TYPE_CHECKING:
    from prefect_api.models import EventPage, ReceivedEvent

# The largest page `POST /events/filter` accepts.
EVENTS_PAGE_SIZE = 50
TOKEN_PARAMETER = "page-token"


def page_token(next_page: object) -> str:
    """The page token in a `next_page` link (or `next_page` itself when it is a bare token)."""
    if not isinstance(next_page, str) or not next_page:
        raise ValueError(f"next_page_url must be a non-empty string, not {next_page!r}")
    if "?" not in next_page and "://" not in next_page:
        return next_page
    # Split by hand rather than with parse_qs: the server puts the base64 token in the link
    # without escaping it, and parse_qs would turn its '+' into spaces.
    for pair in urlsplit(next_page).query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == TOKEN_PARAMETER and value:
            return unquote(value)
    raise ValueError(f"next_page_url has no {TOKEN_PARAMETER} parameter: {next_page!r}")


def _check_page_size(limit: object, name: str) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {limit!r}")
    return limit


class EventOperations:
    """Events, with their next-page token: methods of PrefectClient and SyncPrefectClient."""

    @operation
    def read_events(self, filter: Any = None, limit: int = EVENTS_PAGE_SIZE) -> Op[EventPage]:
        """The first page (at most `limit` <= 50 events) of events matching `filter` (an
        `EventFilter` or its dict), with the total and the `next_page` link."""
        return (yield from self._first_event_page(filter, limit))

    def _first_event_page(self, filter: Any, limit: int) -> Op[EventPage]:
        from prefect_api.api.events import read_events
        from prefect_api.models import EventFilter, EventPage, ReadEventsBody

        body = ReadEventsBody(limit=_check_page_size(limit, "limit"))
        if filter is not None:
            body.filter_ = as_model(filter, EventFilter, "filter")
        return (yield from call(self, read_events, EventPage, body=body))

    @operation
    def read_events_page(self, next_page_url: str) -> Op[EventPage]:
        """The page of events a previous page's `next_page` link (or its bare token) points at."""
        return (yield from self._next_event_page(next_page_url))

    def _next_event_page(self, next_page_url: str) -> Op[EventPage]:
        from prefect_api.api.events import read_account_events_page
        from prefect_api.models import EventPage

        token = page_token(next_page_url)
        return (yield from call(self, read_account_events_page, EventPage, page_token=token))

    @listing
    def iter_events(
        self, filter: Any = None, *, page_size: int = EVENTS_PAGE_SIZE
    ) -> Listing[ReceivedEvent]:
        """Every event matching `filter`, following the next-page links to the end."""
        if _check_page_size(page_size, "page_size") == 0:
            raise ValueError("page_size must be at least 1")
        page = yield from self._first_event_page(filter, page_size)
        while True:
            for event in page.events:
                yield Item(event)
            if not page.next_page or not page.events:
                return
            page = yield from self._next_event_page(page.next_page)
