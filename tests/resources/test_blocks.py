"""Block type, schema and document methods on both clients, against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from prefect_api.models import BlockDocument, BlockSchema, BlockType, BlockTypeCreate
from prefect_sdk import ObjectAlreadyExists, ObjectNotFound, SyncPrefectClient

HIDDEN = "********"


def _block_type(client: Any, unique: str, suffix: str = "creds") -> BlockType:
    return client.create_block_type(
        {"name": f"{unique} {suffix}", "slug": f"{unique}-{suffix}", "description": "a test type"}
    )


def _schema_fields(slug: str) -> dict[str, Any]:
    return {
        "title": "Credentials",
        "type": "object",
        "properties": {
            "user": {"title": "User", "type": "string"},
            "password": {
                "title": "Password",
                "type": "string",
                "format": "password",
                "writeOnly": True,
            },
        },
        "required": ["user"],
        "secret_fields": ["password"],
        "block_type_slug": slug,
        "block_schema_references": {},
    }


def _block_schema(client: Any, block_type: BlockType) -> BlockSchema:
    return client.create_block_schema(
        {
            "block_type_id": str(block_type.id),
            "fields": _schema_fields(block_type.slug),
            "capabilities": ["authenticate"],
            "version": "1.0",
        }
    )


def _document(client: Any, schema: BlockSchema, name: str, **data: Any) -> BlockDocument:
    return client.create_block_document(
        {
            "name": name,
            "block_schema_id": str(schema.id),
            "block_type_id": str(schema.block_type_id),
            "data": data,
        }
    )


def test_block_type_create_read_update_delete(client: Any, unique: str) -> None:
    created = client.create_block_type(
        BlockTypeCreate(
            name=f"{unique} type",
            slug=f"{unique}-type",
            description="before",
            documentation_url="https://example.com/docs",
        )
    )
    assert isinstance(created, BlockType) and created.slug == f"{unique}-type"
    assert client.read_block_type_by_slug(f"{unique}-type").id == created.id

    with pytest.raises(ObjectAlreadyExists, match="409"):
        client.create_block_type({"name": f"{unique} type", "slug": f"{unique}-type"})

    # only the given field is sent: documentation_url survives
    client.update_block_type(str(created.id), {"description": "after"})
    updated = client.read_block_type_by_slug(f"{unique}-type")
    assert updated.description == "after"
    assert updated.documentation_url == "https://example.com/docs"

    client.delete_block_type(created.id)
    with pytest.raises(ObjectNotFound, match="404"):
        client.read_block_type_by_slug(f"{unique}-type")
    with pytest.raises(ObjectNotFound):
        client.delete_block_type(created.id)
    with pytest.raises(ObjectNotFound):
        client.update_block_type(created.id, {"description": "gone"})


def test_unknown_fields_are_refused_before_any_request(client: Any) -> None:
    with pytest.raises(ValueError, match=r"does not know: block_type\.name$"):
        client.update_block_type(uuid.uuid4(), {"name": "renamed"})
    with pytest.raises(ValueError, match="block_type is not a valid BlockTypeCreate"):
        client.create_block_type({"name": "no slug"})
    with pytest.raises(ValueError, match=r"block_document must be a .*BlockDocumentUpdate, a dict"):
        client.update_block_document(uuid.uuid4(), 42)


def test_schema_and_document_chain_with_secrets(client: Any, unique: str) -> None:
    block_type = _block_type(client, unique)
    schema = _block_schema(client, block_type)
    assert isinstance(schema, BlockSchema) and schema.block_type_id == block_type.id
    # the same fields and version again: the server hands back the existing schema (HTTP 200)
    assert _block_schema(client, block_type).id == schema.id
    assert client.read_block_schema_by_checksum(schema.checksum).id == schema.id
    assert client.read_block_schema_by_checksum(schema.checksum, version="1.0").id == schema.id
    with pytest.raises(ObjectNotFound):
        client.read_block_schema_by_checksum(schema.checksum, version="2.0")
    mine = {"block_type_id": {"any_": [str(block_type.id)]}}
    assert [row.id for row in client.read_block_schemas(block_schema_filter=mine)] == [schema.id]
    assert [row.id for row in client.iter_block_schemas(block_schema_filter=mine)] == [schema.id]
    assert client.get_most_recent_block_schema_for_block_type(block_type.id).id == schema.id

    document = _document(client, schema, f"{unique}-prod", user="ann", password="s3cret")
    assert isinstance(document, BlockDocument) and document.name == f"{unique}-prod"

    shown = client.read_block_document(str(document.id))
    assert shown.data["password"] == "s3cret" and shown.data["user"] == "ann"
    hidden = client.read_block_document(document.id, include_secrets=False)
    assert hidden.data["password"] == HIDDEN and hidden.data["user"] == "ann"
    by_name = client.read_block_document_by_name(f"{unique}-prod", block_type.slug)
    assert by_name.id == document.id and by_name.data["password"] == "s3cret"
    assert (
        client.read_block_document_by_name(
            f"{unique}-prod", block_type.slug, include_secrets=False
        ).data["password"]
        == HIDDEN
    )

    with pytest.raises(ObjectAlreadyExists, match="409"):
        _document(client, schema, f"{unique}-prod", user="bob", password="other")

    # data is merged into what is stored: the password stays
    client.update_block_document(document.id, {"data": {"user": "bob"}})
    merged = client.read_block_document(document.id)
    assert (merged.data["user"], merged.data["password"]) == ("bob", "s3cret")
    client.update_block_document(
        document.id, {"data": {"user": "cy"}, "merge_existing_data": False}
    )
    replaced = client.read_block_document(document.id)
    assert replaced.data["user"] == "cy" and "password" not in replaced.data

    # include_secrets=False on create stores the secret obfuscated
    masked = client.create_block_document(
        {
            "name": f"{unique}-masked",
            "block_schema_id": str(schema.id),
            "block_type_id": str(block_type.id),
            "data": {"user": "dee", "password": "never-sent"},
        },
        include_secrets=False,
    )
    stored = client.read_block_document(masked.id, include_secrets=True)
    assert stored.data["password"] == HIDDEN and stored.data["user"] == "dee"

    client.delete_block_document(document.id)
    with pytest.raises(ObjectNotFound):
        client.read_block_document(document.id)
    with pytest.raises(ObjectNotFound):
        client.read_block_document_by_name(f"{unique}-prod", block_type.slug)
    with pytest.raises(ObjectNotFound):
        client.delete_block_document(document.id)
    with pytest.raises(ObjectNotFound):
        client.update_block_document(document.id, {"data": {"user": "x"}})


def test_list_filters_filter(client: Any, unique: str) -> None:
    wanted_type = _block_type(client, unique, "wanted")
    decoy_type = _block_type(client, unique, "decoy")
    wanted_schema = _block_schema(client, wanted_type)
    decoy_schema = _block_schema(client, decoy_type)
    wanted = {
        _document(client, wanted_schema, f"{unique}-w{i}", user="u", password="p").id
        for i in range(3)
    }
    _document(client, decoy_schema, f"{unique}-d0", user="u", password="p")

    by_type = client.read_block_documents(block_schema_type=wanted_type.slug)
    assert {row.id for row in by_type} == wanted
    assert all(row.data["password"] == "p" for row in by_type)
    hidden = client.read_block_documents(wanted_type.slug, include_secrets=False)
    assert {row.data["password"] for row in hidden} == {HIDDEN}
    assert {row.id for row in client.read_block_documents_by_type(wanted_type.slug)} == wanted
    assert client.read_block_documents_by_type(f"{unique}-nothing") == []
    iterated = client.iter_block_documents(block_schema_type=wanted_type.slug)
    assert {row.id for row in iterated} == wanted

    by_name = client.read_block_documents(
        block_document_filter={"name": {"any_": [f"{unique}-w1", f"{unique}-d0"]}}
    )
    assert sorted(row.name for row in by_name) == [f"{unique}-d0", f"{unique}-w1"]
    newest_names = client.read_block_documents(
        block_type_filter={"slug": {"any_": [wanted_type.slug]}}, sort="NAME_DESC", limit=2
    )
    assert [row.name for row in newest_names] == [f"{unique}-w2", f"{unique}-w1"]
    skipped = client.read_block_documents(wanted_type.slug, offset=1, sort="NAME_ASC")
    assert [row.name for row in skipped] == [f"{unique}-w1", f"{unique}-w2"]

    types = client.read_block_types(block_type_filter={"slug": {"any_": [decoy_type.slug]}})
    assert [row.id for row in types] == [decoy_type.id]
    named = client.iter_block_types(block_type_filter={"name": {"like_": unique}})
    assert {row.id for row in named} == {wanted_type.id, decoy_type.id}
    with_capability = client.read_block_types(
        block_type_filter={"name": {"like_": unique}},
        block_schema_filter={"block_capabilities": {"all_": ["authenticate"]}},
    )
    assert {row.id for row in with_capability} == {wanted_type.id, decoy_type.id}

    with pytest.raises(ValueError, match="not both"):
        client.read_block_documents(
            wanted_type.slug, block_type_filter={"slug": {"any_": [decoy_type.slug]}}
        )
    with pytest.raises(ValueError, match="sort must be one of"):
        client.read_block_documents(sort="SIDEWAYS")


@pytest.mark.parametrize("bad", ["nope", 42, None, "1234"])
def test_bad_ids_raise_before_any_request(client: Any, bad: object) -> None:
    with pytest.raises(ValueError, match="block_type_id must be a UUID"):
        client.delete_block_type(bad)
    with pytest.raises(ValueError, match="block_type_id must be a UUID"):
        client.update_block_type(bad, {"description": "x"})
    with pytest.raises(ValueError, match="block_document_id must be a UUID"):
        client.read_block_document(bad)
    with pytest.raises(ValueError, match="block_document_id must be a UUID"):
        client.update_block_document(bad, {"data": {}})
    with pytest.raises(ValueError, match="block_document_id must be a UUID"):
        client.delete_block_document(bad)
    with pytest.raises(ValueError, match="block_type_id must be a UUID"):
        client.get_most_recent_block_schema_for_block_type(bad)


@pytest.fixture(scope="module")
def many_documents(api_url: str) -> tuple[str, set[uuid.UUID]]:
    """205 block documents of one fresh block type, made once for both clients' paging test."""
    unique = f"t{uuid.uuid4().hex[:10]}"
    with SyncPrefectClient(api_url) as client:
        block_type = _block_type(client, unique, "many")
        schema = _block_schema(client, block_type)
        created = {_document(client, schema, f"{unique}-{i:03d}", n=i).id for i in range(205)}
    return block_type.slug, created


def test_paging_block_documents_past_the_server_cap(
    client: Any, many_documents: tuple[str, set[uuid.UUID]]
) -> None:
    slug, created = many_documents
    iterated = [row.id for row in client.iter_block_documents(slug)]
    assert len(iterated) == len(set(iterated)) == 205 and set(iterated) == created
    everything = client.read_block_documents(slug)
    assert {row.id for row in everything} == created
    limited = client.read_block_documents(slug, limit=203)
    assert len({row.id for row in limited}) == 203
    assert len(client.read_block_documents(slug, offset=200)) == 5
    assert len(client.read_block_documents_by_type(slug)) == 205
