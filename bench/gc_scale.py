"""Garbage collection at scale: `wharf gc` dry run and deletion over N manifests and 3N blobs in PostgreSQL.

Run: .venv/bin/python -m bench.gc_scale [--manifests 10000] [--server postgresql+asyncpg://postgres@127.0.0.1:5432]
Every manifest has a config and two layers of its own; half are tagged, all were pushed two days ago,
so the default 24h grace period lets the other half and their blobs go. A throwaway database and
filesystem store are created and removed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from app.db import upgrade
from registry.digests import parse_digest
from registry.storage.filesystem import FilesystemBlobStore

REPOSITORIES = 50


def digest() -> str:
    return f"sha256:{uuid.uuid4().hex}{uuid.uuid4().hex}"


async def load(dsn: str, store: FilesystemBlobStore, count: int) -> None:
    then = datetime.now(UTC) - timedelta(days=2)
    repos = [(i + 1, f"acme/product-{i}", then) for i in range(REPOSITORIES)]
    blobs, links, manifests, refs, tags, history = [], [], [], [], [], []
    for m in range(1, count + 1):
        repo_id = m % REPOSITORIES + 1
        manifest = digest()
        manifests.append((m, repo_id, manifest, "application/vnd.oci.image.manifest.v1+json", b"{}", 2, then))
        for _ in range(3):
            blob = digest()
            blobs.append((blob, 1000, then))
            links.append((repo_id, blob, then))
            refs.append((m, blob, False))
        history.append((repo_id, f"1.0.{m}", manifest, then))
        if m % 2:
            tags.append((repo_id, f"1.0.{m}", m, then))
    conn = await asyncpg.connect(dsn)
    try:
        copies = (
            ("repositories", repos, ["id", "name", "created_at"]),
            ("blobs", blobs, ["digest", "size", "created_at"]),
            ("repository_blobs", links, ["repository_id", "digest", "created_at"]),
            ("manifests", manifests, ["id", "repository_id", "digest", "media_type", "content", "size", "created_at"]),
            ("manifest_references", refs, ["manifest_id", "digest", "is_manifest"]),
            ("tags", tags, ["repository_id", "name", "manifest_id", "updated_at"]),
            ("tag_history", history, ["repository_id", "tag", "digest", "pushed_at"]),
        )
        for table, records, columns in copies:
            await conn.copy_records_to_table(table, records=records, columns=columns)
        await conn.execute("SELECT setval('manifests_id_seq', $1)", count)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    for blob, _size, _at in blobs:
        path = store.blob_path(parse_digest(blob))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def wharf_gc(url: str, storage: Path, *args: str) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_STORAGE_PATH": str(storage)}
    command = [str(Path(sys.executable).parent / "wharf"), "gc", "--json", *args]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--manifests", type=int, default=10_000)
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    name = f"wharf_gc_scale_{uuid.uuid4().hex[:6]}"
    admin = args.server.replace("postgresql+asyncpg", "postgresql") + "/postgres"
    url = f"{args.server}/{name}"

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(create())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            storage = Path(tmp)
            upgrade(url)
            asyncio.run(
                load(url.replace("postgresql+asyncpg", "postgresql"), FilesystemBlobStore(storage), args.manifests)
            )
            print(
                f"{args.manifests:,} manifests, {3 * args.manifests:,} blobs, {REPOSITORIES} repositories, half tagged"
            )
            for label, extra in (("dry run", ()), ("delete", ("--delete",))):
                seconds, result = wharf_gc(url, storage, *extra)
                counts = {k: result[k]["count"] for k in ("manifests", "links", "blobs")}  # type: ignore[index]
                print(
                    f"  {label:<8} {seconds:6.2f} s wall (command included), {result['seconds']} s collecting: {counts}"
                )
            files = sum(len(files) for _, _, files in os.walk(storage / "blobs"))
            print(f"  blob files left: {files:,}")
    finally:
        asyncio.run(drop())


if __name__ == "__main__":
    main()
