"""What the resource modules share: argument checks, model coercion, and paging.

Paging: Prefect's list routes take `limit` and `offset` and refuse a `limit` above the server's
cap (200 unless the server sets PREFECT_SERVER_API_DEFAULT_LIMIT). `read_all` and `iterate`
ask for pages of `client.page_size` rows until a short page, so a caller is never cut off at
the cap.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from .._operations import Item, Listing, Op

T = TypeVar("T")
M = TypeVar("M")

# The largest page the server accepts by default.
PAGE_SIZE = 200


def as_uuid(value: object, name: str) -> uuid.UUID:
    """`value` as a UUID (a UUID, or a string holding one); ValueError naming `name` otherwise."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be a UUID or a UUID string, not {value!r}")


class _FromDict(Protocol[M]):  # type: ignore[misc]
    def from_dict(self, src_dict: Mapping[str, Any]) -> M: ...


def as_model(value: Any, model: type[M], name: str) -> M:
    """`value` as the generated `model`: the model itself, or a dict in its JSON form."""
    if isinstance(value, model):
        return value
    if isinstance(value, Mapping):
        try:
            return model.from_dict(value)  # type: ignore[attr-defined, no-any-return]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{name} is not a valid {model.__name__}: {error!r}") from None
    raise ValueError(f"{name} must be a {model.__name__} or a dict, not {type(value).__name__}")


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None), for a model's constructor."""
    return {key: value for key, value in fields.items() if value is not None}


def check_limit(limit: int | None, offset: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a whole number >= 0 or None, not {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number >= 0, not {offset!r}")


PageReader = Callable[[int, int], Op[list[T]]]


def read_all(
    read_page: PageReader[T], *, limit: int | None, offset: int, page_size: int = PAGE_SIZE
) -> Op[list[T]]:
    """Every row from `offset` on, or the first `limit` of them, page after page."""
    check_limit(limit, offset)
    rows: list[T] = []
    while limit is None or len(rows) < limit:
        size = page_size if limit is None else min(page_size, limit - len(rows))
        page = yield from read_page(offset, size)
        rows.extend(page)
        if len(page) < size:
            break
        offset += len(page)
    return rows


def iterate(read_page: PageReader[T], *, offset: int = 0, page_size: int = PAGE_SIZE) -> Listing[T]:
    """Yield every row from `offset` on, fetching the next page only when it is needed."""
    check_limit(None, offset)
    while True:
        page = yield from read_page(offset, page_size)
        for row in page:
            yield Item(row)
        if len(page) < page_size:
            return
        offset += len(page)


# Prefect's filter argument names -> (body field of the list routes, generated filter model).
FILTER_FIELDS = {
    "flow_filter": ("flows", "FlowFilter"),
    "flow_run_filter": ("flow_runs", "FlowRunFilter"),
    "task_run_filter": ("task_runs", "TaskRunFilter"),
    "deployment_filter": ("deployments", "DeploymentFilter"),
    "work_pool_filter": ("work_pools", "WorkPoolFilter"),
    "work_queue_filter": ("work_pool_queues", "WorkQueueFilter"),
}


def filter_fields(body_model: type, **filters: Any) -> dict[str, Any]:
    """The body fields of a list route for Prefect-style filter arguments (models or dicts).

    A filter the route has no field for is an error, rather than silently matching everything.
    """
    import attrs

    import prefect_api.models

    known = {field.name for field in attrs.fields(body_model)}
    fields: dict[str, Any] = {}
    for argument, value in filters.items():
        if value is None:
            continue
        field, model_name = FILTER_FIELDS[argument]
        if field not in known:
            raise ValueError(f"{argument} is not supported by this route ({body_model.__name__})")
        fields[field] = as_model(value, getattr(prefect_api.models, model_name), argument)
    return fields


def as_enum(value: Any, enum_type: type[M], name: str) -> M:
    """`value` as a member of the generated `enum_type` (a member or its string value)."""
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)  # type: ignore[attr-defined]
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}") from None
