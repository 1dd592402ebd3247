"""Migration 0011 gives every manifest stored before it its kind, on SQLite and on PostgreSQL; the app then
describes the charts and images among them from their config blobs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from app.db import upgrade
from registry.details import describe_stored
from registry.digests import parse_digest
from registry.metadata import Metadata
from registry.sql import create_engine
from registry.storage.filesystem import FilesystemBlobStore
from tests.conftest import in_thread
from tests.support import postgres
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, artifact, cosign_signature, helm_chart, image, index, sha256

CHART = helm_chart("legacy", "0.1.0", appVersion="9")
STORED = {
    "image": (image("old-image").manifest, OCI_MANIFEST),
    "index": (index([(image("old-a", "amd64"), "amd64"), (image("old-b", "arm64"), "arm64")]), OCI_INDEX),
    "helm-chart": (CHART.manifest, OCI_MANIFEST),
    "signature": (cosign_signature().manifest, OCI_MANIFEST),
    "sbom": (
        artifact("application/vnd.cyclonedx+json", b"{}", "application/vnd.cyclonedx+json").manifest,
        OCI_MANIFEST,
    ),
    "artifact": (artifact("application/pdf", b"%PDF", "application/vnd.acme.manual").manifest, OCI_MANIFEST),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_before_kinds(request, tmp_path):
    """A database migrated to 0009, the head before kinds."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
        in_thread(upgrade, url, "0009")
        yield url
        return
    base = request.getfixturevalue("postgres_base")
    name = f"wharf_kinds_{uuid.uuid4().hex[:8]}"
    url = in_thread(asyncio.run, postgres.create_database(base, name))
    in_thread(upgrade, url, "0009")
    yield url
    in_thread(asyncio.run, postgres.drop_database(base, name))


async def _store(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO repositories (name) VALUES ('acme/old')"))
        repo_id = (await conn.execute(text("SELECT id FROM repositories WHERE name = 'acme/old'"))).scalar_one()
        for content, media_type in STORED.values():
            await conn.execute(
                text(
                    "INSERT INTO manifests (repository_id, digest, media_type, content, size) "
                    "VALUES (:repo, :digest, :media_type, :content, :size)"
                ),
                {
                    "repo": repo_id,
                    "digest": sha256(content),
                    "media_type": media_type,
                    "content": content,
                    "size": len(content),
                },
            )
    await engine.dispose()


async def _kinds(url: str) -> dict[str, str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT digest, kind FROM manifests"))).all()
    await engine.dispose()
    return {digest: kind for digest, kind in rows}


def test_the_migration_classifies_stored_manifests(database_before_kinds):
    in_thread(asyncio.run, _store(database_before_kinds))
    in_thread(upgrade, database_before_kinds)
    found = in_thread(asyncio.run, _kinds(database_before_kinds))
    assert found == {sha256(content): kind for kind, (content, _) in STORED.items()}


async def test_stored_charts_and_images_are_described_from_their_config(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'described.db'}"
    in_thread(upgrade, url, "0009")
    await _store(url)
    in_thread(upgrade, url)
    store = FilesystemBlobStore(tmp_path / "blobs")
    config = CHART.config  # the chart's config is in the store; the image's is not
    await store.append("u-config", 0, _chunks(config), None)
    await store.commit("u-config", parse_digest(sha256(config)))
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO blobs (digest, size) VALUES (:d, :s)"), {"d": sha256(config), "s": len(config)}
        )
    metadata = Metadata(engine)
    assert await describe_stored(metadata, store) == 2  # the chart and the image (other kinds have no details)
    assert await describe_stored(metadata, store) == 0  # each looked at once
    async with engine.connect() as conn:
        details = dict(
            (await conn.execute(text("SELECT kind, details FROM manifests WHERE details IS NOT NULL"))).all()
        )
    await engine.dispose()
    assert '"app_version": "9"' in details["helm-chart"] and details["image"] == "{}"


async def _chunks(data: bytes):
    yield data
