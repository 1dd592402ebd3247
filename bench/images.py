"""OCI image layouts for the benchmark: one 100 MiB layer, and twenty 1 MiB layers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

LAYER = "application/vnd.oci.image.layer.v1.tar"  # uncompressed: random data does not compress anyway


def _tar(name: str, size: int) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    return raw.getvalue()


def _put(root: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def write_image(root: Path, layer_sizes: list[int], tag: str = "v1") -> int:
    """Write an OCI layout with one image of the given layers; returns the total bytes."""
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    layers, diff_ids = [], []
    for i, size in enumerate(layer_sizes):
        data = _tar(f"file-{i}", size)
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
        layers.append({"mediaType": LAYER, **_put(root, data)})
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_put(root, config)},
            "layers": layers,
        }
    ).encode()
    top = _put(root, manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **top,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return sum(int(layer["size"]) for layer in layers) + len(config) + len(manifest)
