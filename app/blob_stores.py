"""Pick the blob store named by the storage settings, refusing incomplete S3 settings at start."""

from __future__ import annotations

from pathlib import Path

from app.settings import StorageSettings
from registry.storage import BlobStore
from registry.storage.filesystem import FilesystemBlobStore
from registry.storage.s3 import S3BlobStore, S3Options

DELIVERIES = ("redirect", "stream")


def build_blob_store(storage: StorageSettings, filesystem_root: Path) -> BlobStore:
    if storage.backend == "filesystem":
        return FilesystemBlobStore(filesystem_root)
    if storage.backend != "s3":
        raise ValueError(f"unknown WHARF_STORAGE {storage.backend!r}; supported: filesystem, s3")
    if not storage.s3_bucket:
        raise ValueError("WHARF_STORAGE=s3 needs WHARF_S3_BUCKET")
    if storage.s3_blob_delivery not in DELIVERIES:
        raise ValueError(f"unknown WHARF_S3_BLOB_DELIVERY {storage.s3_blob_delivery!r}; supported: redirect, stream")
    if bool(storage.s3_access_key_id) != bool(storage.s3_secret_access_key):
        raise ValueError("set both WHARF_S3_ACCESS_KEY_ID and WHARF_S3_SECRET_ACCESS_KEY, or neither")
    prefix = storage.s3_prefix.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3BlobStore(
        S3Options(
            bucket=storage.s3_bucket,
            prefix=prefix,
            endpoint_url=storage.s3_endpoint_url or None,
            region=storage.s3_region,
            access_key_id=storage.s3_access_key_id or None,
            secret_access_key=storage.s3_secret_access_key or None,
            path_style=storage.s3_path_style,
            redirect=storage.s3_blob_delivery == "redirect",
        )
    )
