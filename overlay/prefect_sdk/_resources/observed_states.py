"""Observed states (Prefect 3.9+): the exact state type/name pairs the server's run histories hold.

The route takes a prefix `query`, an order and a `limit` of at most 200, and has no offset: it
cannot be paged, so a read returns at most 200 pairs (a server holds one per state name in use,
which is rarely near that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._operations import Item, Listing, Op, call_list, listing, operation
from ._common import PAGE_SIZE, as_enum

if TYPE_CHECKING:
    from prefect_api.models import ObservedState, ObservedStateSort


class ObservedStateOperations:
    """Observed states: methods of PrefectClient and SyncPrefectClient."""

    @operation
    def read_observed_states(
        self,
        query: str | None = None,
        *,
        sort: ObservedStateSort | str | None = None,
        limit: int | None = None,
    ) -> Op[list[ObservedState]]:
        """The state type/name pairs seen in retained flow and task run histories, with when each
        was first and last seen; `query` keeps those whose type or name starts with it (any
        case); `sort` is LAST_SEEN_DESC (the server's default) or NAME_ASC. At most 200 (the
        route cannot page); `limit` asks for fewer. UnsupportedByServer on servers before 3.9."""
        return (yield from self._observed_states(query, sort, limit))

    @listing
    def iter_observed_states(
        self, query: str | None = None, *, sort: ObservedStateSort | str | None = None
    ) -> Listing[ObservedState]:
        """`read_observed_states(query, sort=sort)`, one pair at a time (one request: the route
        cannot page)."""
        for state in (yield from self._observed_states(query, sort, None)):
            yield Item(state)

    def _observed_states(
        self, query: str | None, sort: ObservedStateSort | str | None, limit: int | None
    ) -> Op[list[ObservedState]]:
        from prefect_api.api.observed_states import read_observed_states
        from prefect_api.models import ObservedState, ObservedStateSort
        from prefect_api.types import UNSET

        if query is not None and not isinstance(query, str):
            raise ValueError(f"query must be a string, not {query!r}")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_SIZE
        ):
            raise ValueError(
                f"limit must be an integer from 1 to {PAGE_SIZE} (the route cannot page past "
                f"{PAGE_SIZE}), not {limit!r}"
            )
        return (
            yield from call_list(
                self,
                read_observed_states,
                ObservedState,
                query=UNSET if query is None else query,
                order_by=UNSET if sort is None else as_enum(sort, ObservedStateSort, "sort"),
                limit=PAGE_SIZE if limit is None else limit,
            )
        )
