"""Artifacts: create, filter and page (every version, or the latest per key), update, delete."""

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
    filter_fields,
    iterate,
    read_all,
    with_sort,
)

if TYPE_CHECKING:
    from prefect_api.models import (
        Artifact,
        ArtifactCollection,
        ArtifactCollectionSort,
        ArtifactSort,
    )


class ArtifactOperations:
    """Artifacts: methods of PrefectClient and SyncPrefectClient."""

    page_size: int

    @operation
    def create_artifact(self, artifact: Any) -> Op[Artifact]:
        """Create an artifact from an `ArtifactCreate` (or its dict) and return it."""
        from prefect_api.api.artifacts import create_artifact
        from prefect_api.models import Artifact, ArtifactCreate

        body = as_model(artifact, ArtifactCreate, "artifact")
        return (yield from call(self, create_artifact, Artifact, body=body))

    @operation
    def update_artifact(self, artifact_id: uuid.UUID | str, artifact: Any) -> Op[None]:
        """Update the artifact with the fields given in `artifact` (an `ArtifactUpdate` or its
        dict); ObjectNotFound if there is none."""
        from prefect_api.api.artifacts import update_artifact
        from prefect_api.models import ArtifactUpdate

        artifact_uuid = as_uuid(artifact_id, "artifact_id")
        body = as_model(artifact, ArtifactUpdate, "artifact")
        yield from send(self, update_artifact, id=artifact_uuid, body=body)
        return None

    @operation
    def read_artifacts(
        self,
        *,
        artifact_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        flow_filter: Any = None,
        deployment_filter: Any = None,
        sort: ArtifactSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[Artifact]]:
        """Artifacts (every version) matching the filters: all of them (limit=None) or the first
        `limit`, paging past the server's 200-row cap."""
        read_page = self._artifact_pages(
            artifact_filter,
            sort,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_artifacts(
        self,
        *,
        artifact_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        flow_filter: Any = None,
        deployment_filter: Any = None,
        sort: ArtifactSort | str | None = None,
        offset: int = 0,
    ) -> Listing[Artifact]:
        """Every artifact (every version) matching the filters, one page at a time."""
        read_page = self._artifact_pages(
            artifact_filter,
            sort,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _artifact_pages(
        self, artifact_filter: Any, sort: Any, **filters: Any
    ) -> PageReader[Artifact]:
        from prefect_api.api.artifacts import read_artifacts
        from prefect_api.models import Artifact, ArtifactFilter, ArtifactSort, ReadArtifactsBody

        fields = filter_fields(ReadArtifactsBody, **filters)
        if artifact_filter is not None:
            fields["artifacts"] = as_model(artifact_filter, ArtifactFilter, "artifact_filter")
        fields = with_sort(fields, sort, ArtifactSort)
        return body_pages(self, read_artifacts, Artifact, ReadArtifactsBody, fields)

    @operation
    def read_latest_artifacts(
        self,
        *,
        artifact_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        flow_filter: Any = None,
        deployment_filter: Any = None,
        sort: ArtifactCollectionSort | str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Op[list[ArtifactCollection]]:
        """The latest artifact of each key matching the filters (`artifact_filter` is an
        `ArtifactCollectionFilter`): all (limit=None) or the first `limit`, paging past the cap."""
        read_page = self._latest_artifact_pages(
            artifact_filter,
            sort,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
        )
        return (
            yield from read_all(read_page, limit=limit, offset=offset, page_size=self.page_size)
        )

    @listing
    def iter_latest_artifacts(
        self,
        *,
        artifact_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        flow_filter: Any = None,
        deployment_filter: Any = None,
        sort: ArtifactCollectionSort | str | None = None,
        offset: int = 0,
    ) -> Listing[ArtifactCollection]:
        """The latest artifact of each key matching the filters, one page at a time."""
        read_page = self._latest_artifact_pages(
            artifact_filter,
            sort,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
        )
        yield from iterate(read_page, offset=offset, page_size=self.page_size)

    def _latest_artifact_pages(
        self, artifact_filter: Any, sort: Any, **filters: Any
    ) -> PageReader[ArtifactCollection]:
        from prefect_api.api.artifacts import read_latest_artifacts
        from prefect_api.models import (
            ArtifactCollection,
            ArtifactCollectionFilter,
            ArtifactCollectionSort,
            ReadLatestArtifactsBody,
        )

        fields = filter_fields(ReadLatestArtifactsBody, **filters)
        if artifact_filter is not None:
            fields["artifacts"] = as_model(
                artifact_filter, ArtifactCollectionFilter, "artifact_filter"
            )
        fields = with_sort(fields, sort, ArtifactCollectionSort)
        return body_pages(
            self, read_latest_artifacts, ArtifactCollection, ReadLatestArtifactsBody, fields
        )

    @operation
    def read_artifact(self, artifact_id: uuid.UUID | str) -> Op[Artifact]:
        """The artifact (one version) with this id; ObjectNotFound if there is none."""
        from prefect_api.api.artifacts import read_artifact
        from prefect_api.models import Artifact

        return (
            yield from call(self, read_artifact, Artifact, id=as_uuid(artifact_id, "artifact_id"))
        )

    @operation
    def read_latest_artifact(self, key: str) -> Op[Artifact]:
        """The latest version of the artifact with this key; ObjectNotFound if there is none.

        The server answers with its row for the key (an artifact collection): the `id` is that
        row's, not the version's (`read_latest_artifacts` gives both: `id`, `latest_id`)."""
        from prefect_api.api.artifacts import read_latest_artifact
        from prefect_api.models import Artifact

        return (yield from call(self, read_latest_artifact, Artifact, key=as_text(key, "key")))

    @operation
    def count_artifacts(
        self,
        *,
        artifact_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        flow_filter: Any = None,
        deployment_filter: Any = None,
    ) -> Op[int]:
        """How many artifacts (every version) match the filters."""
        from prefect_api.api.artifacts import count_artifacts
        from prefect_api.models import ArtifactFilter, CountArtifactsBody

        fields = filter_fields(
            CountArtifactsBody,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
        )
        if artifact_filter is not None:
            fields["artifacts"] = as_model(artifact_filter, ArtifactFilter, "artifact_filter")
        return (yield from call(self, count_artifacts, int, body=CountArtifactsBody(**fields)))

    @operation
    def count_latest_artifacts(
        self,
        *,
        artifact_filter: Any = None,
        flow_run_filter: Any = None,
        task_run_filter: Any = None,
        flow_filter: Any = None,
        deployment_filter: Any = None,
    ) -> Op[int]:
        """How many artifact keys (latest versions) match the filters (`artifact_filter`: an
        ArtifactCollectionFilter)."""
        from prefect_api.api.artifacts import count_latest_artifacts
        from prefect_api.models import ArtifactCollectionFilter, CountLatestArtifactsBody

        fields = filter_fields(
            CountLatestArtifactsBody,
            flow_run_filter=flow_run_filter,
            task_run_filter=task_run_filter,
            flow_filter=flow_filter,
            deployment_filter=deployment_filter,
        )
        if artifact_filter is not None:
            fields["artifacts"] = as_model(
                artifact_filter, ArtifactCollectionFilter, "artifact_filter"
            )
        body = CountLatestArtifactsBody(**fields)
        return (yield from call(self, count_latest_artifacts, int, body=body))

    @operation
    def delete_artifact(self, artifact_id: uuid.UUID | str) -> Op[None]:
        """Delete the artifact; ObjectNotFound if there is none."""
        from prefect_api.api.artifacts import delete_artifact

        yield from send(self, delete_artifact, id=as_uuid(artifact_id, "artifact_id"))
        return None
