"""Build OCI content in memory and push it over HTTP, or write it as an OCI layout for skopeo."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip'd tar layer and its diff id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0), sha256(raw.getvalue())


@dataclass
class Image:
    config: bytes
    layers: list[bytes]
    manifest: bytes
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def image(label: str, arch: str = "amd64", layer_files: dict[str, bytes] | None = None) -> Image:
    data, diff_id = layer(layer_files or {f"{label}.txt": f"{label} {arch}\n".encode()})
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "config": {"Labels": {"label": label}},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [descriptor(OCI_LAYER, data)],
        }
    ).encode()
    return Image(config, [data], manifest, {sha256(config): config, sha256(data): data})


def index(images: list[tuple[Image, str]]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                descriptor(OCI_MANIFEST, img.manifest, platform={"os": "linux", "architecture": arch})
                for img, arch in images
            ],
        }
    ).encode()


def write_layout(root: Path, tagged: dict[str, bytes], blobs: dict[str, bytes]) -> Path:
    """An OCI image layout holding `blobs` and refs `tag -> top-level manifest or index bytes`."""
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    entries = []
    for tag, top in tagged.items():
        blobs = {**blobs, sha256(top): top}
        media_type = json.loads(top).get("mediaType", OCI_MANIFEST)
        entries.append(descriptor(media_type, top, annotations={"org.opencontainers.image.ref.name": tag}))
    for digest, data in blobs.items():
        (root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"


def chart_package(chart: dict[str, Any], values: bytes = b"replicaCount: 1\n") -> bytes:
    """A packaged Helm chart (`helm package`'s .tgz): <name>/Chart.yaml, values.yaml and a template."""
    import yaml  # a dev dependency

    name = chart["name"]
    files = {
        f"{name}/Chart.yaml": yaml.safe_dump(chart, sort_keys=False).encode(),
        f"{name}/values.yaml": values,
        f"{name}/templates/configmap.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    }
    return layer(files)[0]


def helm_chart(name: str, version: str, **fields: Any) -> Image:
    """A chart as `helm push` stores it: Chart.yaml as the JSON config, the .tgz as the one layer."""
    chart = {"apiVersion": "v2", "name": name, "version": version, **fields}
    package = chart_package(chart)
    config = json.dumps(chart).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(HELM_CONFIG, config),
            "layers": [descriptor(HELM_CHART, package)],
            "annotations": {"org.opencontainers.image.title": name, "org.opencontainers.image.version": version},
        }
    ).encode()
    return Image(config, [package], manifest, {sha256(config): config, sha256(package): package})


def artifact(
    layer_type: str,
    content: bytes,
    artifact_type: str | None = None,
    subject: Image | None = None,
    config_type: str = OCI_EMPTY,
    annotations: dict[str, str] | None = None,
) -> Image:
    """An OCI artifact (oras, cosign, notation, SBOM tools): an empty or typed config and one layer."""
    config = b"{}"
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config_type, config),
        "layers": [descriptor(layer_type, content)],
    }
    if artifact_type:
        doc["artifactType"] = artifact_type
    if subject is not None:
        doc["subject"] = descriptor(OCI_MANIFEST, subject.manifest)
    if annotations:
        doc["annotations"] = annotations
    manifest = json.dumps(doc).encode()
    return Image(config, [content], manifest, {sha256(config): config, sha256(content): content})


def cosign_signature(payload: bytes = b'{"critical": {}}') -> Image:
    """What `cosign sign` pushes as `sha256-<hex>.sig` (no subject: cosign's tag scheme)."""
    return artifact(
        "application/vnd.dev.cosign.simplesigning.v1+json",
        payload,
        config_type=OCI_CONFIG,
        annotations=None,
    )
