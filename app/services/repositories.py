"""Repository content the vendor removes from the portal: a tag, or a manifest with every tag on it.

The registry's own DELETE (/v2) does the same for CI; here the change is also written to the admin log,
in the transaction that deletes it."""

from __future__ import annotations

from app.domain_events import DomainEvent
from app.identity import Actor
from app.roles import Permission
from app.services.base import Service, require
from app.services.errors import NotFound


class RepositoryService(Service):
    def _own(self, actor: Actor, repository: str) -> None:
        require(actor, Permission.DELETE)
        if not repository.startswith(actor.vendor_slug + "/"):
            raise NotFound(f"repository {repository} not found")

    async def delete_tag(self, actor: Actor, repository: str, tag: str) -> None:
        """The tag goes; the manifest stays (by digest, and for other tags) until garbage collection."""
        self._own(actor, repository)
        metadata = self.deps.metadata
        assert metadata is not None
        async with self.change(actor) as change:
            if not await metadata.delete_tag(repository, tag, await change.session.connection()):
                raise NotFound(f"tag {tag} not found in {repository}")
            change.record(DomainEvent.TAG_DELETED, "repository", repository, before={"tag": tag})

    async def delete_manifest(self, actor: Actor, repository: str, digest: str) -> None:
        """The manifest and every tag pointing to it go; its blobs wait for garbage collection."""
        self._own(actor, repository)
        metadata = self.deps.metadata
        assert metadata is not None
        async with self.change(actor) as change:
            if not await metadata.delete_manifest(repository, digest, await change.session.connection()):
                raise NotFound(f"manifest {digest} not found in {repository}")
            change.record(DomainEvent.MANIFEST_DELETED, "repository", repository, before={"digest": digest})
