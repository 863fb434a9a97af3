"""What the resource modules share: argument checks, model coercion, and paging.

Paging: Prefect's list routes take `limit` and `offset` and refuse a `limit` above the server's
cap (200 unless the server sets PREFECT_SERVER_API_DEFAULT_LIMIT). `read_all` and `iterate`
ask for pages of `client.page_size` rows until a short page, so a caller is never cut off at
the cap. `body_pages` reads one page of such a route, `filter_fields` and `with_sort` build the
rest of its body.

Model bodies built from keyword arguments go through the model's JSON form (`model_from_fields`):
every value is made JSON-ready (`jsonable`) and the generated model is built with `from_dict`,
so a field that was not given stays UNSET and is not sent.

Creates that are retried: `create_once` returns the object a lost earlier attempt made when the
retry is refused as a duplicate (409); `idempotency_key_for_call` makes the key a flow run
create sends.
"""

from __future__ import annotations

import datetime
import enum
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._operations import Item, Listing, Op, call_list
from .._policy import MAYBE_APPLIED_EXTENSION
from ..errors import ObjectAlreadyExists, ObjectNotFound, safe_url

if TYPE_CHECKING:
    from prefect_api.models import StateCreate

T = TypeVar("T")
M = TypeVar("M")

logger = logging.getLogger("prefect_sdk")

# The largest page the server accepts by default.
PAGE_SIZE = 200

# What a generated model's `from_dict` raises for a dict that does not fit the model.
FROM_DICT_ERRORS: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError)

# ------------------------------------------------------------------ argument checks


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


def as_text(value: object, name: str) -> str:
    """`value` if it is a non-empty string (a name, slug or path segment); ValueError otherwise."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    return value


def as_tags(tags: Iterable[str], name: str = "tags") -> list[str]:
    """`tags` as a list of strings; a lone string is refused rather than split into letters."""
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"{name} must be an iterable of strings, not {tags!r}")
    return list(tags)


def as_mapping(value: Any, name: str) -> Mapping[str, Any]:
    """`value` if it is a dict (any Mapping); ValueError naming `name` otherwise."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a dict, not {type(value).__name__}")
    return value


def as_enum(value: Any, enum_type: type[M], name: str) -> M:
    """`value` as a member of the generated `enum_type` (a member or its string value)."""
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)  # type: ignore[attr-defined]
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}") from None


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None), for a model's constructor."""
    return {key: value for key, value in fields.items() if value is not None}


# ------------------------------------------------------------------- model coercion


class _FromDict(Protocol[M]):  # type: ignore[misc]
    def from_dict(self, src_dict: Mapping[str, Any]) -> M: ...


def build(
    model: type[M],
    data: Mapping[str, Any],
    what: str,
    errors: tuple[type[Exception], ...] = (*FROM_DICT_ERRORS, AttributeError),
) -> M:
    """The generated `model` from its JSON form `data`; ValueError naming `what` if `from_dict`
    raises one of `errors` (any other error is let through)."""
    try:
        return model.from_dict(data)  # type: ignore[attr-defined, no-any-return]
    except errors as error:
        raise ValueError(f"{what} is not a valid {model.__name__}: {error!r}") from None


def as_model(value: Any, model: type[M], name: str) -> M:
    """`value` as the generated `model`: the model itself, or a dict in its JSON form.

    A dict key the model has no field for, at any depth, is a ValueError: the generated models
    drop such keys, so `{"nmae": {"any_": [...]}}` would otherwise be sent as if it were not
    there, and a filter would match everything (Prefect's own pydantic models forbid them too).
    """
    if isinstance(value, model):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a {model.__name__} or a dict, not {type(value).__name__}")
    parsed = build(model, value, name, FROM_DICT_ERRORS)
    dropped = _dropped_keys(value, parsed.to_dict(), name)  # type: ignore[attr-defined]
    if dropped:
        raise ValueError(f"{name} has fields {model.__name__} does not know: {', '.join(dropped)}")
    return parsed


def _dropped_keys(given: Any, kept: Any, path: str) -> list[str]:
    """The paths of the dict keys in `given` that are missing from `kept` (its round trip)."""
    if isinstance(given, Mapping) and isinstance(kept, Mapping):
        found: list[str] = []
        for key, value in given.items():
            if key not in kept:
                found.append(f"{path}.{key}")
            else:
                found.extend(_dropped_keys(value, kept[key], f"{path}.{key}"))
        return found
    if isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        return [
            dropped
            for index, (item, kept_item) in enumerate(zip(given, kept, strict=True))
            for dropped in _dropped_keys(item, kept_item, f"{path}[{index}]")
        ]
    return []


def jsonable(value: Any) -> Any:
    """`value` in JSON form: generated models via `to_dict`, pydantic models via `model_dump`,
    UUIDs and datetimes as strings, timedeltas as seconds, containers recursively."""
    if hasattr(value, "to_dict") and hasattr(type(value), "from_dict"):
        return jsonable(value.to_dict())
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    return value


def json_keys(model: type) -> set[str]:
    """The JSON field names of a generated model (`type_` is sent as `type`)."""
    import attrs

    return {
        field.name.rstrip("_")
        for field in attrs.fields(model)
        if field.name != "additional_properties"
    }


def model_from_fields(model: type[M], fields: Mapping[str, Any], what: str, **fixed: Any) -> M:
    """The generated `model` holding exactly `fields` (plus `fixed`); unknown names are an error."""
    unknown = sorted(set(fields) - json_keys(model))
    if unknown:
        raise ValueError(
            f"{what}: unknown field(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(json_keys(model) - set(fixed)))})"
        )
    data = {key: jsonable(value) for key, value in {**fields, **fixed}.items()}
    return build(model, data, what)


def state_body(state: Any, **details: uuid.UUID) -> StateCreate:
    """A copy of `state` (a StateCreate or its dict) with these `state_details` fields set.

    The caller's object is left alone, so one StateCreate can be sent to several runs.
    """
    from prefect_api.models import StateCreate, StateDetails

    body = StateCreate.from_dict(as_model(state, StateCreate, "state").to_dict())
    if not isinstance(body.state_details, StateDetails):
        body.state_details = StateDetails()
    for field, value in details.items():
        setattr(body.state_details, field, value)
    return body


# ------------------------------------------------------------------ retried creates

# What a generated idempotency key starts with, so a run's key says who chose it.
IDEMPOTENCY_KEY_PREFIX = "prefect-sdk-"


def idempotency_key_for_call(given_key: str | None) -> str:
    """The caller's key, or a new one for this call: made once per call, so every retry of the
    call's request (the transport resends the same body) carries the same key."""
    if given_key is not None:
        return as_text(given_key, "idempotency_key")
    return IDEMPOTENCY_KEY_PREFIX + uuid.uuid4().hex


def create_once(create: Op[T], read_existing: Callable[[], Op[T]]) -> Op[T]:
    """The result of `create`, a create the server refuses with 409 when the name is taken.

    When the 409 answers a retry whose earlier attempt may have reached the server (its answer
    was lost: a timeout, a dropped connection after sending, a gateway's 502/504), the name was
    most likely taken by that attempt: return what `read_existing()` reads, the object it made,
    rather than ObjectAlreadyExists for the call's own work. A 409 on a first attempt, or after
    retries that cannot have been carried out (429, 503, a refused connection), is raised as
    it is; so is the 409 if the object cannot be read back.
    """
    try:
        return (yield from create)
    except ObjectAlreadyExists as conflict:
        if not conflict.response.extensions.get(MAYBE_APPLIED_EXTENSION):
            raise
        request = conflict.request
        logger.debug(
            "%s %s: 409 after a retry whose earlier attempt may have been carried out: "
            "reading the object it made",
            request.method,
            safe_url(request.url),
        )
        try:
            return (yield from read_existing())
        except ObjectNotFound:
            raise conflict from None


# -------------------------------------------------------------------------- paging


def check_limit(limit: int | None, offset: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a whole number >= 0 or None, not {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number >= 0, not {offset!r}")


PageReader = Callable[[int, int], Op[list[T]]]


def body_pages(
    client: Any,
    endpoint: Any,
    item: type[T],
    body_model: Callable[..., Any],
    fields: Mapping[str, Any],
    /,
    **arguments: Any,
) -> PageReader[T]:
    """The `PageReader` of a list route of `item`s: a page's body is
    `body_model(offset=..., limit=..., **fields)`, and `arguments` (path parameters, ...) go to
    the endpoint as they are."""

    def read_page(offset: int, limit: int) -> Op[list[T]]:
        body = body_model(offset=offset, limit=limit, **fields)
        return call_list(client, endpoint, item, body=body, **arguments)

    return read_page


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


# Filter argument names -> (body field of the list routes, generated filter model).
FILTER_FIELDS = {
    "flow_filter": ("flows", "FlowFilter"),
    "flow_run_filter": ("flow_runs", "FlowRunFilter"),
    "task_run_filter": ("task_runs", "TaskRunFilter"),
    "deployment_filter": ("deployments", "DeploymentFilter"),
    "work_pool_filter": ("work_pools", "WorkPoolFilter"),
    "work_queue_filter": ("work_pool_queues", "WorkQueueFilter"),
    "block_document_filter": ("block_documents", "BlockDocumentFilter"),
    "block_type_filter": ("block_types", "BlockTypeFilter"),
    "block_schema_filter": ("block_schemas", "BlockSchemaFilter"),
    "automations": ("automations", "AutomationFilter"),
    "log_filter": ("logs", "LogFilter"),
    "variable_filter": ("variables", "VariableFilter"),
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


def with_sort(fields: Mapping[str, Any], sort: Any, sort_type: type) -> dict[str, Any]:
    """`fields` and, if `sort` is given, the `sort` field: a member of the generated
    `sort_type` (the member or its string value)."""
    if sort is None:
        return dict(fields)
    return {**fields, "sort": as_enum(sort, sort_type, "sort")}
