"""What the resource modules share: argument checks, model coercion, and paging.

Paging: Prefect's list routes take `limit` and `offset` and refuse a `limit` above the server's
cap (200 unless the server sets PREFECT_SERVER_API_DEFAULT_LIMIT). `read_all` and `iterate`
ask for pages of `client.page_size` rows until a short page, so a caller is never cut off at
the cap. `body_pages` reads one page of such a route, `filter_fields` and `with_sort` build the
rest of its body.

Model bodies built from keyword arguments go through the model's JSON form (`model_from_fields`):
every value is made JSON-ready (`jsonable`) and the generated model is built with `from_dict`,
so a field that was not given stays UNSET and is not sent. `as_model` takes a generated model,
its dict, or a pydantic model (Prefect's own filters, states, creates and updates, recognised by
`model_dump`, never by importing `prefect`) and converts it once, refusing unknown fields.

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

from .._operations import Op, call_list

# The paging itself is in `_paging.py` (read-ahead, rows once each); the resource modules use
# these names from here.
from .._paging import DEFAULT_PAGE_SIZE
from .._paging import PageReader as PageReader
from .._paging import check_limit as check_limit
from .._paging import iterate as iterate
from .._paging import read_all as read_all
from .._policy import MAYBE_APPLIED_EXTENSION
from ..errors import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError, safe_url

if TYPE_CHECKING:
    from prefect_api.models import StateCreate

T = TypeVar("T")
M = TypeVar("M")

logger = logging.getLogger("prefect_sdk")

# The largest page the server accepts by default.
PAGE_SIZE = DEFAULT_PAGE_SIZE

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
    """`value` as a member of the generated `enum_type`: a member, its string value, or another
    enum's member with that value (Prefect's `StateType.COMPLETED`, `FlowRunSort.ID_DESC`)."""
    if isinstance(value, enum.Enum) and not isinstance(value, enum_type):
        value = value.value
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


# Prefect's class names for objects of a generated model's kind, where they differ from the
# generated name, and the fields taken from them (None: every field that was set). A Prefect
# `State` is sent as Prefect's `to_state_create` sends it: its kind, name, message and details
# (not its id, timestamp or local result data).
PREFECT_KINDS: dict[str, dict[str, frozenset[str] | None]] = {
    "StateCreate": {"State": frozenset({"type", "name", "message", "state_details"})},
    "ConcurrencyLimitV2Create": {"GlobalConcurrencyLimitCreate": None},
    "ConcurrencyLimitV2Update": {"GlobalConcurrencyLimitUpdate": None},
    "AutomationCreate": {"AutomationCore": None},
    "AutomationUpdate": {"AutomationCore": None},
    "BlockDocumentCreate": {
        "BlockDocument": frozenset(
            {"name", "data", "block_schema_id", "block_type_id", "is_anonymous"}
        )
    },
}

# How Prefect's client dumps its models, so that secrets are sent as they are (a block's
# SecretStr fields dump as "********" otherwise) and subclasses by their own fields.
PREFECT_DUMP_OPTIONS: dict[str, Any] = {
    "serialize_as_any": True,
    "context": {"include_secrets": True},
}


def type_path(kind: type) -> str:
    """A class by its full path (`prefect.client.schemas.filters.FlowRunFilter`), generated
    models by their public one (`prefect_api.models.FlowRunFilter`), builtins by name."""
    module = kind.__module__
    if module == "builtins":
        return kind.__qualname__
    if module.startswith("prefect_api.models"):
        module = "prefect_api.models"
    return f"{module}.{kind.__qualname__}"


def build(
    model: type[M],
    data: Mapping[str, Any],
    what: str,
    errors: tuple[type[Exception], ...] = (*FROM_DICT_ERRORS, AttributeError),
) -> M:
    """The generated `model` from its JSON form `data`; ValueError naming `what` (and, when it
    can be found, the field at fault) if `from_dict` raises one of `errors` (any other error is
    let through)."""
    try:
        return model.from_dict(data)  # type: ignore[attr-defined, no-any-return]
    except errors as error:
        field = _field_at_fault(model, data, errors)
        at = "" if field is None else f" (at {what}.{field})"
        raise ValueError(f"{what} is not a valid {model.__name__}{at}: {error!r}") from None


def _field_at_fault(
    model: type, data: Mapping[str, Any], errors: tuple[type[Exception], ...]
) -> str | None:
    """The key of `data` whose value `from_dict` refuses: the one without which it succeeds.
    None when there is no such key (a required field cannot be left out to tell). Only run on
    the error path: one parse per key."""
    if not isinstance(data, Mapping):
        return None
    for key in data:
        try:
            model.from_dict({name: value for name, value in data.items() if name != key})  # type: ignore[attr-defined]
        except errors:
            continue
        return str(key)
    return None


def as_model(value: Any, model: type[M], name: str) -> M:
    """`value` as the generated `model`: the model itself, a dict in its JSON form, or a pydantic
    model of the same kind (Prefect's own objects), converted once to the generated model.

    A dict's values are made JSON-ready first (`jsonable`: UUIDs, datetimes, enums). A pydantic
    model is taken as Prefect's client sends it, `model_dump(mode="json", exclude_unset=True)`:
    only the fields that were set, so an update changes just those and a filter's unset parts
    keep the server's defaults. A pydantic model of another kind (a DeploymentFilter for a
    FlowRunFilter) is refused by its class name.

    A key the model has no field for, at any depth, is a ValueError: the generated models
    drop such keys, so `{"nmae": {"any_": [...]}}` would otherwise be sent as if it were not
    there, and a filter would match everything (Prefect's own pydantic models forbid them too).
    """
    if isinstance(value, model):
        return value
    data = _json_form(value, model, name)
    _check_json_ready(data, name)
    parsed = build(model, data, name)
    dropped = _dropped_keys(data, parsed.to_dict(), name)  # type: ignore[attr-defined]
    if dropped:
        raise ValueError(f"{name} has fields {model.__name__} does not know: {', '.join(dropped)}")
    return parsed


def _json_form(value: Any, model: type, name: str) -> Any:
    """The JSON form of a dict or a pydantic model for `model`; ValueError for anything else."""
    if isinstance(value, Mapping):
        return jsonable(value)
    kind = type(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        prefect_kinds = PREFECT_KINDS.get(model.__name__, {})
        known = kind.__name__ == model.__name__ or kind.__name__ in prefect_kinds
        if not known and _is_generated_name(kind.__name__):  # an API object of another kind
            raise _wrong_type(value, model, name)
        include = prefect_kinds.get(kind.__name__)
        try:
            try:
                return _dump(dump, exclude_unset=True, include=include)
            except KeyError:
                # Some Prefect models' own model_dump fails with exclude_unset (LogCreate pops
                # `worker_id` unconditionally): take the full dump's top-level fields that were set.
                data = _dump(dump, include=include)
                set_fields = getattr(value, "model_fields_set", data.keys())
                return {key: item for key, item in data.items() if key in set_fields}
        except (TypeError, ValueError) as error:  # pydantic's serialization errors
            raise ValueError(f"{name} ({type_path(kind)}) has no JSON form: {error}") from None
    raise _wrong_type(value, model, name)


def _dump(dump: Callable[..., Any], **options: Any) -> Any:
    """`dump(mode="json", ...)` as Prefect's client calls it; without the pydantic-only options
    for a `model_dump` that does not take them."""
    try:
        return dump(mode="json", **options, **PREFECT_DUMP_OPTIONS)
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        return dump(mode="json", **options)


def _is_generated_name(name: str) -> bool:
    import prefect_api.models

    return isinstance(getattr(prefect_api.models, name, None), type)


def _wrong_type(value: Any, model: type, name: str) -> ValueError:
    return ValueError(
        f"{name} must be a {type_path(model)}, a dict or a pydantic model, "
        f"not {type_path(type(value))}"
    )


# The types a JSON document is made of.
JSON_TYPES = (str, int, float, bool, type(None))


def _check_json_ready(data: Any, path: str) -> None:
    """ValueError naming the first value in `data` that has no JSON form (after `jsonable`)."""
    if isinstance(data, Mapping):
        for key, item in data.items():
            _check_json_ready(item, f"{path}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _check_json_ready(item, f"{path}[{index}]")
    elif not isinstance(data, JSON_TYPES):
        raise ValueError(f"{path} has no JSON form: {type_path(type(data))} {data!r}")


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
    enums by value, UUIDs and datetimes as strings, timedeltas as seconds, containers
    recursively."""
    if hasattr(value, "to_dict") and hasattr(type(value), "from_dict"):
        return jsonable(value.to_dict())
    if hasattr(value, "model_dump") and not isinstance(value, type):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
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
    the endpoint as they are. It carries `client`, whose `page_concurrency` caps read-ahead."""
    from .._paging import ClientPages

    def read_page(offset: int, limit: int) -> Op[list[T]]:
        body = body_model(offset=offset, limit=limit, **fields)
        return call_list(client, endpoint, item, body=body, **arguments)

    return ClientPages(client, getattr(endpoint, "__name__", repr(endpoint)), read_page)


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


# ------------------------------------------------------------------ reads by name

# What the server answers a path one of whose segments held a "/" (it decodes %2F before
# routing): no route (404, 405), or a redirect to the path without a trailing slash (307, 308).
_UNROUTED = frozenset({307, 308, 404, 405})


def read_by_name(read: Op[T], *names: tuple[str, str]) -> Op[T]:
    """`read`, an operation that reads one object by the `(kind, name)`s in its path; for a name
    with "/", ObjectNotFound naming it and why, where the server could not route the request.

    No flow, deployment, work pool or queue, variable, block type or document, or concurrency
    limit can be named with "/" (the server refuses them), and a "/" cannot reach the route: the
    generated endpoint sends it as %2F, which the server decodes before routing, so the answer
    was a missing route ("not served by this server") or a redirect, not "no such object"."""
    slashed = [(kind, name) for kind, name in names if isinstance(name, str) and "/" in name]
    if not slashed:
        return (yield from read)
    try:
        return (yield from read)
    except PrefectHTTPStatusError as error:
        response = error.response
        if response.status_code not in _UNROUTED:
            raise
        kind, name = slashed[0]
        request = response.request
        raise ObjectNotFound(
            f"{request.method} {safe_url(request.url)} -> {response.status_code}: no {kind} is "
            f"named {name!r}: the server refuses '/' in {kind} names (and a '/' in a path is "
            "decoded before routing, so such a read cannot reach its route)",
            request=request,
            response=response,
        ) from error
