"""Saved searches: the named filter sets of the UI's run views, kept by the server."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, listing, operation, send
from ._common import PageReader, as_model, as_text, as_uuid, body_pages, iterate, read_all

if TYPE_CHECKING:
    from prefect_api.models import SavedSearch


class SavedSearchOperations:
    """Saved searches: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_saved_search(self, name: str, filters: Iterable[Any] = ()) -> Op[SavedSearch]:
        """Save the search `name` with `filters` (SavedSearchFilter models or their dicts:
        `object`, `property`, `type`, `operation`, `value`); a search of that name is replaced
        (the route is a PUT, so a retried save is harmless). Return the saved search."""
        from prefect_api.api.saved_searches import create_saved_search
        from prefect_api.models import SavedSearch, SavedSearchCreate, SavedSearchFilter

        if isinstance(filters, (str, bytes, Mapping)):
            raise ValueError(f"filters must be a list of filters, not {type(filters).__name__}")
        body = SavedSearchCreate(
            name=as_text(name, "name"),
            filters=[as_model(item, SavedSearchFilter, "each of filters") for item in filters],
        )
        return (yield from call(self, create_saved_search, SavedSearch, body=body))

    @operation
    def read_saved_search(self, saved_search_id: uuid.UUID | str) -> Op[SavedSearch]:
        """The saved search with this id; ObjectNotFound if there is none."""
        from prefect_api.api.saved_searches import read_saved_search
        from prefect_api.models import SavedSearch

        search_id = as_uuid(saved_search_id, "saved_search_id")
        return (yield from call(self, read_saved_search, SavedSearch, id=search_id))

    @operation
    def read_saved_searches(
        self, *, limit: int | None = None, offset: int = 0
    ) -> Op[list[SavedSearch]]:
        """Saved searches: all of them (limit=None) or the first `limit`, paging past the
        server's 200-row cap."""
        return (
            yield from read_all(
                self._saved_search_pages(), limit=limit, offset=offset, page_size=self.page_size
            )
        )

    @listing
    def iter_saved_searches(self, *, offset: int = 0) -> Listing[SavedSearch]:
        """Every saved search, one page at a time."""
        yield from iterate(self._saved_search_pages(), offset=offset, page_size=self.page_size)

    def _saved_search_pages(self) -> PageReader[SavedSearch]:
        from prefect_api.api.saved_searches import read_saved_searches
        from prefect_api.models import ReadSavedSearchesBody, SavedSearch

        return body_pages(self, read_saved_searches, SavedSearch, ReadSavedSearchesBody, {})

    @operation
    def delete_saved_search(self, saved_search_id: uuid.UUID | str) -> Op[None]:
        """Delete the saved search; ObjectNotFound if there is none."""
        from prefect_api.api.saved_searches import delete_saved_search

        search_id = as_uuid(saved_search_id, "saved_search_id")
        yield from send(self, delete_saved_search, id=search_id)
        return None
