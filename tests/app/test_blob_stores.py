"""Choosing the blob store from settings: bad or incomplete S3 settings stop the start with a clear error."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.blob_stores import build_blob_store
from app.main import create_app
from app.settings import DatabaseSettings, ServerSettings, Settings, StorageSettings
from registry.storage.filesystem import FilesystemBlobStore
from registry.storage.s3 import S3BlobStore

S3 = StorageSettings(backend="s3", s3_bucket="blobs", s3_prefix="/wharf", s3_blob_delivery="stream")


def test_filesystem_is_the_default(tmp_path: Path):
    assert isinstance(build_blob_store(StorageSettings(backend="filesystem"), tmp_path), FilesystemBlobStore)


def test_s3_settings_become_store_options(tmp_path: Path):
    store = build_blob_store(replace(S3, s3_access_key_id="id", s3_secret_access_key="secret"), tmp_path)
    assert isinstance(store, S3BlobStore)
    assert store.options.prefix == "wharf/" and store.options.redirect is False
    assert store.options.endpoint_url is None and store.options.access_key_id == "id"


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        (replace(S3, backend="gcs"), "unknown WHARF_STORAGE 'gcs'"),
        (replace(S3, s3_bucket=""), "needs WHARF_S3_BUCKET"),
        (replace(S3, s3_blob_delivery="proxy"), "unknown WHARF_S3_BLOB_DELIVERY 'proxy'"),
        (replace(S3, s3_access_key_id="id"), "WHARF_S3_SECRET_ACCESS_KEY"),
    ],
)
def test_bad_storage_settings_are_explained(storage: StorageSettings, message: str, tmp_path: Path):
    settings = Settings(
        server=ServerSettings(data_dir=tmp_path),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"),
        storage=storage,
    )
    with pytest.raises(ValueError, match=message):
        create_app(settings)
