"""Tag concurrency limits and global concurrency limits.

Tag limits are the `/concurrency_limits` routes; the server keeps them as global limits named
`tag:<tag>`. Global limits are the `/v2/concurrency_limits` routes. Paging note: the server
builds a page of tag limits from the first `offset + limit` global limits (sorted by name), so a
tag-limit listing can come up short when many non-tag global limits sort before `tag:`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from .._operations import Listing, Op, call, call_list, listing, operation, send
from ..errors import ObjectNotFound
from ._common import (
    PageReader,
    as_enum,
    as_model,
    as_text,
    as_uuid,
    body_pages,
    create_once,
    iterate,
    read_all,
    read_by_name,
)

if TYPE_CHECKING:
    from prefect_api.models import (
        ConcurrencyLimit,
        ConcurrencyLimitWithLeaseResponse,
        GlobalConcurrencyLimitResponse,
        MinimalConcurrencyLimitResponse,
    )


def _names(names: object) -> list[str]:
    """`names` as a non-empty list of non-empty strings (a bare string is an error)."""
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ValueError(f"names must be a non-empty list of limit names, not {names!r}")
    return [as_text(name, "each of names") for name in names]


class ConcurrencyOperations:
    """Tag concurrency limits and global concurrency limits: methods of PrefectClient and
    SyncPrefectClient."""

    page_size: int

    # ----------------------------------------------------------------- tag limits

    @operation
    def create_concurrency_limit(self, tag: str, concurrency_limit: int) -> Op[uuid.UUID]:
        """Limit task runs tagged `tag` to `concurrency_limit` at a time (setting the limit if
        the tag has one already: the server upserts, so a retried create is harmless); return
        the limit's id."""
        from prefect_api.api.concurrency_limits import create_concurrency_limit
        from prefect_api.models import ConcurrencyLimit, ConcurrencyLimitCreate

        body = ConcurrencyLimitCreate(tag=as_text(tag, "tag"), concurrency_limit=concurrency_limit)
        created = yield from call(self, create_concurrency_limit, ConcurrencyLimit, body=body)
        return created.id

    @operation
    def read_concurrency_limit_by_tag(self, tag: str) -> Op[ConcurrencyLimit]:
        """The concurrency limit of the tag (with the task runs holding its slots);
        ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits import read_concurrency_limit_by_tag
        from prefect_api.models import ConcurrencyLimit

        tag = as_text(tag, "tag")
        read = call(self, read_concurrency_limit_by_tag, ConcurrencyLimit, tag=tag)
        return (yield from read_by_name(read, ("concurrency limit tag", tag)))

    @operation
    def read_concurrency_limits(
        self, limit: int | None = None, offset: int = 0
    ) -> Op[list[ConcurrencyLimit]]:
        """Tag concurrency limits: all of them (limit=None) or the first `limit`, paging past
        the server's 200-row cap."""
        read_page = self._concurrency_limit_pages()
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_concurrency_limits(self, offset: int = 0) -> Listing[ConcurrencyLimit]:
        """Every tag concurrency limit, one page at a time."""
        read_page = self._concurrency_limit_pages()
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _concurrency_limit_pages(self) -> PageReader[ConcurrencyLimit]:
        from prefect_api.api.concurrency_limits import read_concurrency_limits
        from prefect_api.models import ConcurrencyLimit, ReadConcurrencyLimitsBody

        return body_pages(
            self, read_concurrency_limits, ConcurrencyLimit, ReadConcurrencyLimitsBody, {}
        )

    @operation
    def reset_concurrency_limit_by_tag(
        self, tag: str, slot_override: Sequence[uuid.UUID | str] | None = None
    ) -> Op[None]:
        """Release every slot of the tag's limit, then give one to each task run id in
        `slot_override`; ObjectNotFound if the tag has no limit."""
        from prefect_api.api.concurrency_limits import reset_concurrency_limit_by_tag
        from prefect_api.models import ResetConcurrencyLimitByTagBody

        tag = as_text(tag, "tag")
        override = None
        if slot_override is not None:
            if isinstance(slot_override, str):
                raise ValueError("slot_override must be a list of task run ids, not a string")
            override = [as_uuid(slot, "each of slot_override") for slot in slot_override]
        body = ResetConcurrencyLimitByTagBody(slot_override=override)
        yield from send(self, reset_concurrency_limit_by_tag, tag=tag, body=body)
        return None

    @operation
    def delete_concurrency_limit_by_tag(self, tag: str) -> Op[None]:
        """Delete the tag's concurrency limit; ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits import delete_concurrency_limit_by_tag

        yield from send(self, delete_concurrency_limit_by_tag, tag=as_text(tag, "tag"))
        return None

    # -------------------------------------------------------------- global limits

    @operation
    def create_global_concurrency_limit(self, concurrency_limit: Any) -> Op[uuid.UUID]:
        """Create a global concurrency limit (a ConcurrencyLimitV2Create or dict); return its
        id. ObjectAlreadyExists if the name is taken (but not by this call's own earlier
        attempt, whose answer was lost: then that limit's id is returned)."""
        from prefect_api.api.concurrency_limits_v2 import create_concurrency_limit_v2
        from prefect_api.models import ConcurrencyLimitV2, ConcurrencyLimitV2Create

        body = as_model(concurrency_limit, ConcurrencyLimitV2Create, "concurrency_limit")

        def create() -> Op[uuid.UUID]:
            created = yield from call(
                self, create_concurrency_limit_v2, ConcurrencyLimitV2, body=body
            )
            return created.id

        def existing() -> Op[uuid.UUID]:
            limit = yield from ConcurrencyOperations.read_global_concurrency_limit_by_name.fn(
                self, body.name
            )
            return limit.id

        return (yield from create_once(create(), existing))

    @operation
    def read_global_concurrency_limit_by_name(
        self, name: str
    ) -> Op[GlobalConcurrencyLimitResponse]:
        """The global concurrency limit with this name (with its current active slots);
        ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits_v2 import read_concurrency_limit_v2
        from prefect_api.models import GlobalConcurrencyLimitResponse

        read = call(
            self,
            read_concurrency_limit_v2,
            GlobalConcurrencyLimitResponse,
            id_or_name=as_text(name, "name"),
        )
        return (yield from read_by_name(read, ("global concurrency limit", name)))

    @operation
    def read_global_concurrency_limits(
        self, limit: int | None = None, offset: int = 0
    ) -> Op[list[GlobalConcurrencyLimitResponse]]:
        """Global concurrency limits by name: all of them (limit=None) or the first `limit`,
        paging past the server's 200-row cap."""
        read_page = self._global_concurrency_limit_pages()
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_global_concurrency_limits(
        self, offset: int = 0
    ) -> Listing[GlobalConcurrencyLimitResponse]:
        """Every global concurrency limit by name, one page at a time."""
        read_page = self._global_concurrency_limit_pages()
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _global_concurrency_limit_pages(self) -> PageReader[GlobalConcurrencyLimitResponse]:
        from prefect_api.api.concurrency_limits_v2 import read_all_concurrency_limits_v2
        from prefect_api.models import (
            GlobalConcurrencyLimitResponse,
            ReadAllConcurrencyLimitsV2Body,
        )

        return body_pages(
            self,
            read_all_concurrency_limits_v2,
            GlobalConcurrencyLimitResponse,
            ReadAllConcurrencyLimitsV2Body,
            {},
        )

    @operation
    def update_global_concurrency_limit(self, name: str, concurrency_limit: Any) -> Op[None]:
        """Update the named global limit with the fields given in a ConcurrencyLimitV2Update
        or dict (only those are sent); ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits_v2 import update_concurrency_limit_v2
        from prefect_api.models import ConcurrencyLimitV2Update

        name = as_text(name, "name")
        body = as_model(concurrency_limit, ConcurrencyLimitV2Update, "concurrency_limit")
        yield from send(self, update_concurrency_limit_v2, id_or_name=name, body=body)
        return None

    @operation
    def upsert_global_concurrency_limit_by_name(
        self, name: str, limit: int, slot_decay_per_second: float | None = None
    ) -> Op[None]:
        """Create the named global limit, or set its limit (and slot decay, if given) when it
        exists with other values. Not atomic."""
        from prefect_api.models import ConcurrencyLimitV2Create, ConcurrencyLimitV2Update
        from prefect_api.types import UNSET, Unset

        name = as_text(name, "name")
        decay: float | Unset = UNSET if slot_decay_per_second is None else slot_decay_per_second
        try:
            existing = yield from ConcurrencyOperations.read_global_concurrency_limit_by_name.fn(
                self, name
            )
        except ObjectNotFound:
            create = ConcurrencyLimitV2Create(name=name, limit=limit, slot_decay_per_second=decay)
            yield from ConcurrencyOperations.create_global_concurrency_limit.fn(self, create)
            return None
        if existing.limit != limit or (
            slot_decay_per_second is not None
            and existing.slot_decay_per_second != slot_decay_per_second
        ):
            update = ConcurrencyLimitV2Update(limit=limit, slot_decay_per_second=decay)
            yield from ConcurrencyOperations.update_global_concurrency_limit.fn(self, name, update)
        return None

    @operation
    def delete_global_concurrency_limit_by_name(self, name: str) -> Op[None]:
        """Delete the named global concurrency limit; ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits_v2 import delete_concurrency_limit_v2

        yield from send(self, delete_concurrency_limit_v2, id_or_name=as_text(name, "name"))
        return None

    @operation
    def read_concurrency_limit(self, concurrency_limit_id: uuid.UUID | str) -> Op[ConcurrencyLimit]:
        """The tag limit with this id; ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits import read_concurrency_limit
        from prefect_api.models import ConcurrencyLimit

        limit_id = as_uuid(concurrency_limit_id, "concurrency_limit_id")
        return (yield from call(self, read_concurrency_limit, ConcurrencyLimit, id=limit_id))

    @operation
    def delete_concurrency_limit(self, concurrency_limit_id: uuid.UUID | str) -> Op[None]:
        """Delete the tag limit with this id; ObjectNotFound if there is none."""
        from prefect_api.api.concurrency_limits import delete_concurrency_limit

        limit_id = as_uuid(concurrency_limit_id, "concurrency_limit_id")
        yield from send(self, delete_concurrency_limit, id=limit_id)
        return None

    @operation
    def increment_v1_concurrency_slots(
        self, names: Sequence[str], task_run_id: uuid.UUID | str
    ) -> Op[httpx.Response]:
        """Take a slot of each named tag limit for the task run (HTTP 423 if one is full);
        the response, as Prefect's client returns it (its JSON: the limits taken)."""
        from prefect_api.api.concurrency_limits import increment_concurrency_limits_v1
        from prefect_api.models import IncrementConcurrencyLimitsV1Body

        body = IncrementConcurrencyLimitsV1Body(
            names=_names(names), task_run_id=as_uuid(task_run_id, "task_run_id")
        )
        return (yield from send(self, increment_concurrency_limits_v1, body=body))

    @operation
    def decrement_v1_concurrency_slots(
        self, names: Sequence[str], task_run_id: uuid.UUID | str, occupancy_seconds: float
    ) -> Op[httpx.Response]:
        """Give back the task run's slot of each named tag limit, held for
        `occupancy_seconds`; the response, as Prefect's client returns it."""
        from prefect_api.api.concurrency_limits import decrement_concurrency_limits_v1
        from prefect_api.models import DecrementConcurrencyLimitsV1Body

        if isinstance(occupancy_seconds, bool) or not isinstance(occupancy_seconds, (int, float)):
            raise ValueError(f"occupancy_seconds must be a number, not {occupancy_seconds!r}")
        body = DecrementConcurrencyLimitsV1Body(
            names=_names(names), task_run_id=as_uuid(task_run_id, "task_run_id")
        )
        # Prefect's client sends it; the document's body model does not name it.
        body.additional_properties["occupancy_seconds"] = float(occupancy_seconds)
        return (yield from send(self, decrement_concurrency_limits_v1, body=body))

    # ---------------------------------------------------------------------- slots

    @operation
    def increment_concurrency_slots(
        self, names: Sequence[str], slots: int, mode: str = "concurrency"
    ) -> Op[list[MinimalConcurrencyLimitResponse]]:
        """Occupy `slots` slots of each named global limit (mode "concurrency" or
        "rate_limit"); return the limits taken. HTTP 423 if they are not all free."""
        from prefect_api.api.concurrency_limits_v2 import bulk_increment_active_slots
        from prefect_api.models import (
            BulkIncrementActiveSlotsBody,
            BulkIncrementActiveSlotsBodyMode,
            MinimalConcurrencyLimitResponse,
        )

        body = BulkIncrementActiveSlotsBody(
            names=_names(names),
            slots=slots,
            mode=as_enum(mode, BulkIncrementActiveSlotsBodyMode, "mode"),
        )
        return (
            yield from call_list(
                self, bulk_increment_active_slots, MinimalConcurrencyLimitResponse, body=body
            )
        )

    @operation
    def release_concurrency_slots(
        self, names: Sequence[str], slots: int, occupancy_seconds: float
    ) -> Op[list[MinimalConcurrencyLimitResponse]]:
        """Free `slots` slots of each named global limit, held for `occupancy_seconds`;
        return the limits released."""
        from prefect_api.api.concurrency_limits_v2 import bulk_decrement_active_slots
        from prefect_api.models import BulkDecrementActiveSlotsBody, MinimalConcurrencyLimitResponse

        body = BulkDecrementActiveSlotsBody(
            names=_names(names), slots=slots, occupancy_seconds=occupancy_seconds
        )
        return (
            yield from call_list(
                self, bulk_decrement_active_slots, MinimalConcurrencyLimitResponse, body=body
            )
        )

    @operation
    def increment_concurrency_slots_with_lease(
        self,
        names: Sequence[str],
        slots: int,
        mode: str = "concurrency",
        lease_duration: float = 300.0,
        holder: Any = None,
    ) -> Op[ConcurrencyLimitWithLeaseResponse]:
        """Occupy `slots` slots of each named global limit under a lease of `lease_duration`
        seconds (optional `holder`: a ConcurrencyLeaseHolder or dict); return the lease id and
        limits. HTTP 423 if they are not all free."""
        from prefect_api.api.concurrency_limits_v2 import bulk_increment_active_slots_with_lease
        from prefect_api.models import (
            BulkIncrementActiveSlotsWithLeaseBody,
            BulkIncrementActiveSlotsWithLeaseBodyMode,
            ConcurrencyLeaseHolder,
            ConcurrencyLimitWithLeaseResponse,
        )

        body = BulkIncrementActiveSlotsWithLeaseBody(
            names=_names(names),
            slots=slots,
            mode=as_enum(mode, BulkIncrementActiveSlotsWithLeaseBodyMode, "mode"),
            lease_duration=lease_duration,
        )
        if holder is not None:
            body.holder = as_model(holder, ConcurrencyLeaseHolder, "holder")
        return (
            yield from call(
                self,
                bulk_increment_active_slots_with_lease,
                ConcurrencyLimitWithLeaseResponse,
                body=body,
            )
        )

    @operation
    def renew_concurrency_lease(self, lease_id: uuid.UUID | str, lease_duration: float) -> Op[None]:
        """Extend the lease to `lease_duration` seconds from now (HTTP 410 if it expired or
        does not exist)."""
        from prefect_api.api.concurrency_limits_v2 import renew_concurrency_lease
        from prefect_api.models import RenewConcurrencyLeaseBody

        lease_id = as_uuid(lease_id, "lease_id")
        body = RenewConcurrencyLeaseBody(lease_duration=lease_duration)
        yield from send(self, renew_concurrency_lease, lease_id=lease_id, body=body)
        return None

    @operation
    def release_concurrency_slots_with_lease(self, lease_id: uuid.UUID | str) -> Op[None]:
        """Free the slots held under the lease."""
        from prefect_api.api.concurrency_limits_v2 import bulk_decrement_active_slots_with_lease
        from prefect_api.models import BulkDecrementActiveSlotsWithLeaseBody

        body = BulkDecrementActiveSlotsWithLeaseBody(lease_id=as_uuid(lease_id, "lease_id"))
        yield from send(self, bulk_decrement_active_slots_with_lease, body=body)
        return None
