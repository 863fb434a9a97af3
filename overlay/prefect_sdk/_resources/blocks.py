"""Block types, schemas and documents: create, read, filter, page, update, delete."""

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
    from prefect_api.models import BlockDocument, BlockSchema, BlockType

# What the server (and Prefect's pydantic models) put in place of a secret value.
OBFUSCATED = "********"


def _obfuscate(data: Any, path: list[str]) -> Any:
    """`data` with the value at the dotted `path` (`*` matching any key) obfuscated."""
    if not path:
        return None if data is None else OBFUSCATED
    if not isinstance(data, dict):
        return data
    head, rest = path[0], path[1:]
    return {
        key: _obfuscate(value, rest) if head in ("*", key) else value for key, value in data.items()
    }


class BlockOperations:
    """Block types, schemas and documents: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    # ---------------------------------------------------------------- block types

    @operation
    def create_block_type(self, block_type: Any) -> Op[BlockType]:
        """Create a block type (a BlockTypeCreate or dict) and return it; ObjectAlreadyExists
        if its name or slug is taken (but not by this call's own earlier attempt, whose answer
        was lost: then the block type it made is returned)."""
        from prefect_api.api.block_types import create_block_type
        from prefect_api.models import BlockType, BlockTypeCreate

        body = as_model(block_type, BlockTypeCreate, "block_type")
        return (
            yield from create_once(
                call(self, create_block_type, BlockType, body=body),
                lambda: BlockOperations.read_block_type_by_slug.fn(self, body.slug),
            )
        )

    @operation
    def read_block_type_by_slug(self, slug: str) -> Op[BlockType]:
        """The block type with this slug; ObjectNotFound if there is none."""
        from prefect_api.api.block_types import read_block_type_by_slug
        from prefect_api.models import BlockType

        slug = as_text(slug, "slug")
        read = call(self, read_block_type_by_slug, BlockType, slug=slug)
        return (yield from read_by_name(read, ("block type", slug)))

    @operation
    def read_block_types(
        self,
        *,
        block_type_filter: Any = None,
        block_schema_filter: Any = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[BlockType]]:
        """Block types matching the filters: all of them (limit=None) or the first `limit`,
        paging past the server's 200-row cap."""
        read_page = self._block_type_pages(
            block_type_filter=block_type_filter, block_schema_filter=block_schema_filter
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_block_types(
        self, *, block_type_filter: Any = None, block_schema_filter: Any = None, offset: int = 0
    ) -> Listing[BlockType]:
        """Every block type matching the filters, one page at a time."""
        read_page = self._block_type_pages(
            block_type_filter=block_type_filter, block_schema_filter=block_schema_filter
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _block_type_pages(self, **filters: Any) -> PageReader[BlockType]:
        from prefect_api.api.block_types import read_block_types
        from prefect_api.models import BlockType, ReadBlockTypesBody

        fields = filter_fields(ReadBlockTypesBody, **filters)
        return body_pages(self, read_block_types, BlockType, ReadBlockTypesBody, fields)

    @operation
    def update_block_type(self, block_type_id: uuid.UUID | str, block_type: Any) -> Op[None]:
        """Update the block type with the fields given in a BlockTypeUpdate or dict (only
        those are sent); ObjectNotFound if there is none."""
        from prefect_api.api.block_types import update_block_type
        from prefect_api.models import BlockTypeUpdate

        block_type_id = as_uuid(block_type_id, "block_type_id")
        body = as_model(block_type, BlockTypeUpdate, "block_type")
        yield from send(self, update_block_type, id=block_type_id, body=body)
        return None

    @operation
    def delete_block_type(self, block_type_id: uuid.UUID | str) -> Op[None]:
        """Delete the block type; ObjectNotFound if there is none (protected types: HTTP 403)."""
        from prefect_api.api.block_types import delete_block_type

        yield from send(self, delete_block_type, id=as_uuid(block_type_id, "block_type_id"))
        return None

    # -------------------------------------------------------------- block schemas

    @operation
    def delete_block_schema(self, block_schema_id: uuid.UUID | str) -> Op[None]:
        """Delete the block schema; ObjectNotFound if there is none (a protected block type's
        schema: HTTP 403)."""
        from prefect_api.api.block_schemas import delete_block_schema

        yield from send(self, delete_block_schema, id=as_uuid(block_schema_id, "block_schema_id"))
        return None

    @operation
    def create_block_schema(self, block_schema: Any) -> Op[BlockSchema]:
        """Create a block schema (a BlockSchemaCreate or dict) and return it; if one with the
        same fields and version exists, return that one."""
        from prefect_api.api.block_schemas import create_block_schema
        from prefect_api.models import BlockSchema, BlockSchemaCreate

        body = as_model(block_schema, BlockSchemaCreate, "block_schema")
        # 201 when created, 200 with the existing schema: both parse (rule document_created_responses).
        return (yield from call(self, create_block_schema, BlockSchema, body=body))

    @operation
    def read_block_schema_by_checksum(
        self, checksum: str, version: str | None = None
    ) -> Op[BlockSchema]:
        """The block schema with this checksum (and version, if given); ObjectNotFound if
        there is none."""
        from prefect_api.api.block_schemas import read_block_schema_by_checksum
        from prefect_api.models import BlockSchema

        checksum = as_text(checksum, "checksum")
        return (
            yield from call(
                self, read_block_schema_by_checksum, BlockSchema, checksum=checksum, version=version
            )
        )

    @operation
    def read_block_schemas(
        self, *, block_schema_filter: Any = None, limit: int | None = None, offset: int = 0
    ) -> Op[list[BlockSchema]]:
        """Block schemas matching the filter, newest first: all of them (limit=None) or the
        first `limit`, paging past the server's 200-row cap."""
        read_page = self._block_schema_pages(block_schema_filter=block_schema_filter)
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_block_schemas(
        self, *, block_schema_filter: Any = None, offset: int = 0
    ) -> Listing[BlockSchema]:
        """Every block schema matching the filter, one page at a time."""
        read_page = self._block_schema_pages(block_schema_filter=block_schema_filter)
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _block_schema_pages(self, **filters: Any) -> PageReader[BlockSchema]:
        from prefect_api.api.block_schemas import read_block_schemas
        from prefect_api.models import BlockSchema, ReadBlockSchemasBody

        fields = filter_fields(ReadBlockSchemasBody, **filters)
        return body_pages(self, read_block_schemas, BlockSchema, ReadBlockSchemasBody, fields)

    @operation
    def get_most_recent_block_schema_for_block_type(
        self, block_type_id: uuid.UUID | str
    ) -> Op[BlockSchema | None]:
        """The newest block schema of the block type, or None if it has none."""
        block_type_id = as_uuid(block_type_id, "block_type_id")
        read_page = self._block_schema_pages(
            block_schema_filter={"block_type_id": {"any_": [str(block_type_id)]}}
        )
        rows = yield from read_page(0, 1)
        return rows[0] if rows else None

    # ------------------------------------------------------------ block documents

    @operation
    def create_block_document(
        self, block_document: Any, include_secrets: bool = True
    ) -> Op[BlockDocument]:
        """Create a block document (a BlockDocumentCreate, BlockDocument or dict) and return it;
        ObjectAlreadyExists if its block type has a document of that name (but not one this
        call's own earlier attempt made, whose answer was lost: that document is returned).

        With include_secrets=False the schema's secret fields are stored obfuscated.
        """
        from prefect_api.api.block_documents import create_block_document
        from prefect_api.models import BlockDocument, BlockDocumentCreate, BlockDocumentCreateData

        if isinstance(block_document, BlockDocument):
            body = BlockDocumentCreate.from_dict(block_document.to_dict())
        else:
            body = as_model(block_document, BlockDocumentCreate, "block_document")
        if not include_secrets and isinstance(body.data, BlockDocumentCreateData):
            schema = yield from self._read_block_schema(body.block_schema_id)
            schema_fields = schema.fields.to_dict() if schema.fields else {}
            secret_fields = schema_fields.get("secret_fields") or []
            data: Any = body.data.to_dict()
            for secret_field in secret_fields:
                data = _obfuscate(data, str(secret_field).split("."))
            body.data = BlockDocumentCreateData.from_dict(data)
        create = call(self, create_block_document, BlockDocument, body=body)
        name = body.name
        if not isinstance(name, str):  # unnamed (anonymous): the server names it, never a 409
            return (yield from create)
        return (
            yield from create_once(
                create, lambda: self._read_block_document_of_type(name, body.block_type_id)
            )
        )

    def _read_block_document_of_type(
        self, name: str, block_type_id: uuid.UUID
    ) -> Op[BlockDocument]:
        """The block document `name` of the block type with this id, as the create route
        returns it (secrets masked); ObjectNotFound if there is none."""
        from prefect_api.api.block_types import read_block_type_by_id
        from prefect_api.models import BlockType

        block_type = yield from call(self, read_block_type_by_id, BlockType, id=block_type_id)
        return (
            yield from BlockOperations.read_block_document_by_name.fn(
                self, name, block_type.slug, include_secrets=False
            )
        )

    def _read_block_schema(self, block_schema_id: uuid.UUID) -> Op[BlockSchema]:
        from prefect_api.api.block_schemas import read_block_schema_by_id
        from prefect_api.models import BlockSchema

        return call(self, read_block_schema_by_id, BlockSchema, id=block_schema_id)

    @operation
    def read_block_document(
        self, block_document_id: uuid.UUID | str, include_secrets: bool = True
    ) -> Op[BlockDocument]:
        """The block document with this id, secrets shown unless include_secrets=False;
        ObjectNotFound if there is none."""
        from prefect_api.api.block_documents import read_block_document_by_id
        from prefect_api.models import BlockDocument

        block_document_id = as_uuid(block_document_id, "block_document_id")
        return (
            yield from call(
                self,
                read_block_document_by_id,
                BlockDocument,
                id=block_document_id,
                include_secrets=include_secrets,
            )
        )

    @operation
    def read_block_document_by_name(
        self, name: str, block_type_slug: str, include_secrets: bool = True
    ) -> Op[BlockDocument]:
        """The block document `name` of the block type `block_type_slug`; ObjectNotFound if
        there is none."""
        from prefect_api.api.block_types import read_block_document_by_name_for_block_type
        from prefect_api.models import BlockDocument

        read = call(
            self,
            read_block_document_by_name_for_block_type,
            BlockDocument,
            slug=as_text(block_type_slug, "block_type_slug"),
            block_document_name=as_text(name, "name"),
            include_secrets=include_secrets,
        )
        return (
            yield from read_by_name(read, ("block document", name), ("block type", block_type_slug))
        )

    @operation
    def read_block_documents(
        self,
        block_schema_type: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        include_secrets: bool = True,
        *,
        block_document_filter: Any = None,
        block_type_filter: Any = None,
        block_schema_filter: Any = None,
        sort: Any = None,
    ) -> Op[list[BlockDocument]]:
        """Named block documents matching the filters (`block_schema_type`: a block type slug):
        all of them (limit=None) or the first `limit`, paging past the server's 200-row cap."""
        read_page = self._block_document_pages(
            block_schema_type,
            include_secrets,
            sort,
            block_document_filter=block_document_filter,
            block_type_filter=block_type_filter,
            block_schema_filter=block_schema_filter,
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @operation
    def count_block_documents(
        self,
        *,
        block_document_filter: Any = None,
        block_type_filter: Any = None,
        block_schema_filter: Any = None,
    ) -> Op[int]:
        """How many block documents match the filters (anonymous ones included unless the
        `block_document_filter` says `is_anonymous`)."""
        from prefect_api.api.block_documents import count_block_documents
        from prefect_api.models import CountBlockDocumentsBody

        fields = filter_fields(
            CountBlockDocumentsBody,
            block_document_filter=block_document_filter,
            block_type_filter=block_type_filter,
            block_schema_filter=block_schema_filter,
        )
        body = CountBlockDocumentsBody(**fields)
        return (yield from call(self, count_block_documents, int, body=body))

    @listing
    def iter_block_documents(
        self,
        block_schema_type: str | None = None,
        offset: int = 0,
        include_secrets: bool = True,
        *,
        block_document_filter: Any = None,
        block_type_filter: Any = None,
        block_schema_filter: Any = None,
        sort: Any = None,
    ) -> Listing[BlockDocument]:
        """Every named block document matching the filters, one page at a time."""
        read_page = self._block_document_pages(
            block_schema_type,
            include_secrets,
            sort,
            block_document_filter=block_document_filter,
            block_type_filter=block_type_filter,
            block_schema_filter=block_schema_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    @operation
    def read_block_documents_by_type(
        self,
        block_type_slug: str,
        offset: int = 0,
        limit: int | None = None,
        include_secrets: bool = True,
    ) -> Op[list[BlockDocument]]:
        """Named block documents of the block type `block_type_slug` (all of them, or the
        first `limit`), paging past the server's 200-row cap."""
        read_page = self._block_document_pages(
            as_text(block_type_slug, "block_type_slug"), include_secrets, None
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    def _block_document_pages(
        self, block_type_slug: str | None, include_secrets: bool, sort: Any, **filters: Any
    ) -> PageReader[BlockDocument]:
        from prefect_api.api.block_documents import read_block_documents
        from prefect_api.models import (
            BlockDocument,
            BlockDocumentSort,
            BlockTypeFilter,
            BlockTypeFilterSlug,
            ReadBlockDocumentsBody,
        )

        fields = filter_fields(ReadBlockDocumentsBody, **filters)
        if block_type_slug is not None:
            block_types = fields.get("block_types") or BlockTypeFilter()
            if block_types.slug:
                raise ValueError("give block_schema_type or block_type_filter's slug, not both")
            block_types.slug = BlockTypeFilterSlug(any_=[as_text(block_type_slug, "slug")])
            fields["block_types"] = block_types
        fields = with_sort(fields, sort, BlockDocumentSort)
        fields["include_secrets"] = include_secrets
        return body_pages(self, read_block_documents, BlockDocument, ReadBlockDocumentsBody, fields)

    @operation
    def update_block_document(
        self, block_document_id: uuid.UUID | str, block_document: Any
    ) -> Op[None]:
        """Update the block document with the fields given in a BlockDocumentUpdate or dict
        (`data` is merged into the stored data unless merge_existing_data=False);
        ObjectNotFound if there is none."""
        from prefect_api.api.block_documents import update_block_document_data
        from prefect_api.models import BlockDocumentUpdate

        block_document_id = as_uuid(block_document_id, "block_document_id")
        body = as_model(block_document, BlockDocumentUpdate, "block_document")
        yield from send(self, update_block_document_data, id=block_document_id, body=body)
        return None

    @operation
    def delete_block_document(self, block_document_id: uuid.UUID | str) -> Op[None]:
        """Delete the block document; ObjectNotFound if there is none."""
        from prefect_api.api.block_documents import delete_block_document

        block_document_id = as_uuid(block_document_id, "block_document_id")
        yield from send(self, delete_block_document, id=block_document_id)
        return None
