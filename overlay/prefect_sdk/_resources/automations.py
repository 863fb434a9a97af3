"""Automations: create, read, filter, page, update, pause/resume and delete."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .._operations import Listing, Op, call, call_list, listing, operation, send
from ._common import (
    PageReader,
    as_model,
    as_text,
    as_uuid,
    body_pages,
    filter_fields,
    iterate,
    read_all,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import Automation, AutomationSort


class AutomationOperations:
    """Automations: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_automation(self, automation: Any) -> Op[uuid.UUID]:
        """Create an automation from an `AutomationCreate` (or its dict); return its id."""
        from prefect_api.api.automations import create_automation
        from prefect_api.models import Automation, AutomationCreate

        body = as_model(automation, AutomationCreate, "automation")
        created = yield from call(self, create_automation, Automation, body=body)
        return created.id

    @operation
    def update_automation(self, automation_id: uuid.UUID | str, automation: Any) -> Op[None]:
        """Replace the automation with `automation` (an `AutomationUpdate` or its dict);
        ObjectNotFound if there is none."""
        from prefect_api.api.automations import update_automation
        from prefect_api.models import AutomationUpdate

        automation_uuid = as_uuid(automation_id, "automation_id")
        body = as_model(automation, AutomationUpdate, "automation")
        yield from send(self, update_automation, id=automation_uuid, body=body)
        return None

    @operation
    def read_automation(self, automation_id: uuid.UUID | str) -> Op[Automation]:
        """The automation with this id; ObjectNotFound if there is none (Prefect's client returns
        None instead)."""
        from prefect_api.api.automations import read_automation
        from prefect_api.models import Automation

        automation_uuid = as_uuid(automation_id, "automation_id")
        return (yield from call(self, read_automation, Automation, id=automation_uuid))

    @operation
    def read_automations(
        self,
        *,
        automations: Any = None,
        sort: AutomationSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[Automation]]:
        """Automations matching the `automations` filter (an `AutomationFilter` or its dict): all
        of them (limit=None) or the first `limit`, paging past the server's 200-row cap."""
        read_page = self._automation_pages(automations, sort)
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_automations(
        self,
        *,
        automations: Any = None,
        sort: AutomationSort | str | None = None,
        offset: int = 0,
    ) -> Listing[Automation]:
        """Every automation matching the `automations` filter, one page at a time."""
        read_page = self._automation_pages(automations, sort)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _automation_pages(self, automations: Any, sort: Any) -> PageReader[Automation]:
        from prefect_api.api.automations import read_automations
        from prefect_api.models import Automation, AutomationSort, ReadAutomationsBody

        fields = filter_fields(ReadAutomationsBody, automations=automations)
        fields = with_sort(fields, sort, AutomationSort)
        return body_pages(self, read_automations, Automation, ReadAutomationsBody, fields)

    @operation
    def read_automations_by_name(self, name: str) -> Op[list[Automation]]:
        """Every automation named exactly `name` (names need not be unique), newest update first."""
        from prefect_api.models import AutomationFilter, AutomationFilterName, AutomationSort

        by_name = AutomationFilter(name=AutomationFilterName(any_=[as_text(name, "name")]))
        read_page = self._automation_pages(by_name, AutomationSort.UPDATED_DESC)
        return (yield from read_all(read_page, limit=None, offset=0, page_size=self.page_size))

    @operation
    def pause_automation(self, automation_id: uuid.UUID | str) -> Op[None]:
        """Disable the automation; ObjectNotFound if there is none."""
        yield from self._set_automation_enabled(automation_id, False)
        return None

    @operation
    def resume_automation(self, automation_id: uuid.UUID | str) -> Op[None]:
        """Enable the automation again; ObjectNotFound if there is none."""
        yield from self._set_automation_enabled(automation_id, True)
        return None

    def _set_automation_enabled(self, automation_id: Any, enabled: bool) -> Op[None]:
        from prefect_api.api.automations import patch_automation
        from prefect_api.models import AutomationPartialUpdate

        automation_uuid = as_uuid(automation_id, "automation_id")
        body = AutomationPartialUpdate(enabled=enabled)
        yield from send(self, patch_automation, id=automation_uuid, body=body)
        return None

    @operation
    def delete_automation(self, automation_id: uuid.UUID | str) -> Op[None]:
        """Delete the automation; ObjectNotFound if there is none (Prefect's client ignores a
        missing one)."""
        from prefect_api.api.automations import delete_automation

        yield from send(self, delete_automation, id=as_uuid(automation_id, "automation_id"))
        return None

    @operation
    def count_automations(self, *, automations: Any = None) -> Op[int]:
        """How many automations match the `automations` filter (all of them without one)."""
        from prefect_api.api.automations import count_automations
        from prefect_api.models import CountAutomationsBody

        fields = filter_fields(CountAutomationsBody, automations=automations)
        return (yield from call(self, count_automations, int, body=CountAutomationsBody(**fields)))

    @operation
    def find_automation(self, id_or_name: uuid.UUID | str) -> Op[Automation | None]:
        """The automation with this id, else the one with this name (exactly, then ignoring
        case), else None, as Prefect's client looks it up. An id no automation has is
        ObjectNotFound, as there."""
        from prefect_api.models import AutomationSort

        if isinstance(id_or_name, uuid.UUID):
            return (yield from AutomationOperations.read_automation.fn(self, id_or_name))
        name = as_text(id_or_name, "id_or_name")
        try:
            automation_id = uuid.UUID(name)
        except ValueError:
            pass
        else:
            return (yield from AutomationOperations.read_automation.fn(self, automation_id))
        read_page = self._automation_pages(None, AutomationSort.UPDATED_DESC)
        rows = yield from read_all(read_page, limit=None, offset=0, page_size=self.page_size)
        exact = [row for row in rows if row.name == name]
        loose = [row for row in rows if row.name.lower() == name.lower()]
        found = exact or loose
        return found[0] if found else None

    @operation
    def read_resource_related_automations(self, resource_id: str) -> Op[list[Automation]]:
        """The automations related to an event resource (`prefect.deployment.<id>`, ...): those
        whose triggers or actions name it."""
        from prefect_api.api.automations import read_automations_related_to_resource
        from prefect_api.models import Automation

        resource = as_text(resource_id, "resource_id")
        return (
            yield from call_list(
                self, read_automations_related_to_resource, Automation, resource_id=resource
            )
        )

    @operation
    def delete_resource_owned_automations(self, resource_id: str) -> Op[None]:
        """Delete the automations an event resource owns (`prefect.deployment.<id>`: those made
        for the deployment's triggers)."""
        from prefect_api.api.automations import delete_automations_owned_by_resource

        resource = as_text(resource_id, "resource_id")
        yield from send(self, delete_automations_owned_by_resource, resource_id=resource)
        return None
