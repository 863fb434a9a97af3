"""Variables: create, read by name, filter, page, update and delete by name."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, listing, operation, send
from ._common import (
    PageReader,
    as_model,
    as_text,
    as_uuid,
    body_pages,
    create_once,
    filter_fields,
    iterate,
    read_all,
    read_by_name,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import Variable, VariableSort


class VariableOperations:
    """Variables: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_variable(self, variable: Any) -> Op[Variable]:
        """Create a variable from a `VariableCreate` (or its dict) and return it; ObjectAlreadyExists
        if the name is taken (but not by this call's own earlier attempt, whose answer was lost:
        then the variable it made is returned)."""
        from prefect_api.api.variables import create_variable
        from prefect_api.models import Variable, VariableCreate

        body = as_model(variable, VariableCreate, "variable")
        return (
            yield from create_once(
                call(self, create_variable, Variable, body=body),
                lambda: VariableOperations.read_variable_by_name.fn(self, body.name),
            )
        )

    @operation
    def read_variable_by_name(self, name: str) -> Op[Variable]:
        """The variable called `name`; ObjectNotFound if there is none (Prefect's client returns
        None instead)."""
        from prefect_api.api.variables import read_variable_by_name
        from prefect_api.models import Variable

        read = call(self, read_variable_by_name, Variable, name=as_text(name, "name"))
        return (yield from read_by_name(read, ("variable", name)))

    @operation
    def read_variables(
        self,
        limit: int | None = None,
        *,
        offset: int = 0,
        variable_filter: Any = None,
        sort: VariableSort | str | None = None,
    ) -> Op[list[Variable]]:
        """Variables matching `variable_filter`: all of them (limit=None) or the first `limit`,
        paging past the server's 200-row cap."""
        read_page = self._variable_pages(variable_filter, sort)
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_variables(
        self,
        *,
        variable_filter: Any = None,
        sort: VariableSort | str | None = None,
        offset: int = 0,
    ) -> Listing[Variable]:
        """Every variable matching `variable_filter`, one page at a time."""
        read_page = self._variable_pages(variable_filter, sort)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _variable_pages(self, variable_filter: Any, sort: Any) -> PageReader[Variable]:
        from prefect_api.api.variables import read_variables
        from prefect_api.models import ReadVariablesBody, Variable, VariableSort

        fields = filter_fields(ReadVariablesBody, variable_filter=variable_filter)
        fields = with_sort(fields, sort, VariableSort)
        return body_pages(self, read_variables, Variable, ReadVariablesBody, fields)

    @operation
    def update_variable(self, variable: Any) -> Op[None]:
        """Update the variable named by `variable.name` (a `VariableUpdate` or its dict), sending
        only the fields given; ObjectNotFound if there is none."""
        from prefect_api.api.variables import update_variable_by_name
        from prefect_api.models import VariableUpdate

        body = as_model(variable, VariableUpdate, "variable")
        name = as_text(body.name, "name")
        yield from send(self, update_variable_by_name, name=name, body=body)
        return None

    @operation
    def delete_variable_by_name(self, name: str) -> Op[None]:
        """Delete the variable called `name`; ObjectNotFound if there is none."""
        from prefect_api.api.variables import delete_variable_by_name

        yield from send(self, delete_variable_by_name, name=as_text(name, "name"))
        return None

    @operation
    def read_variable_by_id(self, variable_id: uuid.UUID | str) -> Op[Variable]:
        """The variable with this id; ObjectNotFound if there is none."""
        from prefect_api.api.variables import read_variable
        from prefect_api.models import Variable

        variable_uuid = as_uuid(variable_id, "variable_id")
        return (yield from call(self, read_variable, Variable, id=variable_uuid))

    @operation
    def update_variable_by_id(self, variable_id: uuid.UUID | str, variable: Any) -> Op[None]:
        """Update the variable with this id from a `VariableUpdate` (or its dict: a rename is
        `{"name": ...}`), sending only the fields given; ObjectNotFound if there is none."""
        from prefect_api.api.variables import update_variable
        from prefect_api.models import VariableUpdate

        variable_uuid = as_uuid(variable_id, "variable_id")
        body = as_model(variable, VariableUpdate, "variable")
        yield from send(self, update_variable, id=variable_uuid, body=body)
        return None

    @operation
    def delete_variable_by_id(self, variable_id: uuid.UUID | str) -> Op[None]:
        """Delete the variable with this id; ObjectNotFound if there is none."""
        from prefect_api.api.variables import delete_variable

        yield from send(self, delete_variable, id=as_uuid(variable_id, "variable_id"))
        return None

    @operation
    def count_variables(self, *, variable_filter: Any = None) -> Op[int]:
        """How many variables match `variable_filter` (all of them without one)."""
        from prefect_api.api.variables import count_variables
        from prefect_api.models import CountVariablesBody

        fields = filter_fields(CountVariablesBody, variable_filter=variable_filter)
        return (yield from call(self, count_variables, int, body=CountVariablesBody(**fields)))
