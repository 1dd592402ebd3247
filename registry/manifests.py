"""Parsing and validation of image manifests, indexes and artifacts (OCI and Docker v2.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from registry.digests import parse_digest
from registry.errors import RegistryError
from registry.strict_json import MAX_DEPTH, DuplicateKey, loads_strict, nesting_exceeds

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = IMAGE_TYPES | INDEX_TYPES
MAX_MANIFEST_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """What the registry needs to know about a manifest beyond its bytes."""

    media_type: str
    blobs: tuple[str, ...] = ()  # config and layers: must exist in the repository
    children: tuple[tuple[str, Platform | None], ...] = ()  # index entries: manifests
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    config: str | None = None  # the config blob's digest (image manifests)
    config_media_type: str | None = None
    layer_media_types: tuple[str, ...] = ()

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def _invalid(message: str) -> RegistryError:
    return RegistryError("MANIFEST_INVALID", message)


def _descriptor_digest(descriptor: Any, where: str) -> str:
    if not isinstance(descriptor, dict):
        raise _invalid(f"{where} is not a descriptor object")
    digest = descriptor.get("digest")
    if not isinstance(digest, str):
        raise _invalid(f"{where} has no digest")
    size = descriptor.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where} has no valid size")
    if not isinstance(descriptor.get("mediaType"), str):
        raise _invalid(f"{where} has no mediaType")
    try:
        return str(parse_digest(digest, code="MANIFEST_INVALID"))
    except RegistryError as exc:
        raise _invalid(f"{where}: {exc.message}") from None


def _platform(descriptor: dict[str, Any]) -> Platform | None:
    raw = descriptor.get("platform")
    if not isinstance(raw, dict):
        return None
    os_, arch = raw.get("os"), raw.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        return None
    variant = raw.get("variant")
    return Platform(os_, arch, variant if isinstance(variant, str) else None)


def parse_manifest(content: bytes, content_type: str | None) -> ParsedManifest:
    """Validate manifest bytes against their declared media type; raise MANIFEST_INVALID if wrong."""
    if len(content) > MAX_MANIFEST_SIZE:
        raise RegistryError("MANIFEST_TOO_LARGE", f"manifest exceeds {MAX_MANIFEST_SIZE} bytes", status=413)
    if nesting_exceeds(content):
        raise _invalid(f"manifest is nested deeper than {MAX_DEPTH} levels")
    try:
        doc = loads_strict(content)
    except DuplicateKey as exc:  # readers disagree on which one wins: no manifest may mean two things
        raise _invalid(f"manifest has a {exc}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _invalid(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _invalid("manifest is not a JSON object")
    if doc.get("schemaVersion") != 2:
        raise _invalid("only schemaVersion 2 manifests are supported")

    declared = doc.get("mediaType")
    content_type = (content_type or "").split(";")[0].strip() or None
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string")
    if declared and content_type and declared != content_type:
        raise _invalid(f"Content-Type {content_type} does not match the manifest's mediaType {declared}")
    media_type = declared or content_type or _guess_media_type(doc)
    if media_type not in MANIFEST_TYPES:
        raise _invalid(f"unsupported manifest media type {media_type!r}")

    subject = None
    if "subject" in doc:
        subject = _descriptor_digest(doc["subject"], "subject")
    artifact_type = doc.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise _invalid("artifactType must be a string")
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise _invalid("annotations must be an object")

    if media_type in INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise _invalid("an index needs a manifests array")
        children = tuple(
            (_descriptor_digest(entry, f"manifests[{i}]"), _platform(entry)) for i, entry in enumerate(entries)
        )
        return ParsedManifest(media_type, (), children, subject, artifact_type, annotations)

    config = doc.get("config")
    layers = doc.get("layers", [] if media_type == OCI_MANIFEST else None)
    if not isinstance(layers, list):
        raise _invalid("an image manifest needs a layers array")
    if "manifests" in doc:
        raise _invalid("an image manifest cannot carry a manifests array")
    blobs = [_descriptor_digest(config, "config")]
    for i, layer in enumerate(layers):
        digest = _descriptor_digest(layer, f"layers[{i}]")
        if not _is_foreign(layer):
            blobs.append(digest)
    config_media_type = str(cast(dict[str, Any], config)["mediaType"])  # a valid descriptor (checked above)
    if artifact_type is None:
        # The referrers API reports config.mediaType when artifactType is absent (image-spec 1.1).
        artifact_type = config_media_type
    return ParsedManifest(
        media_type,
        tuple(dict.fromkeys(blobs)),
        (),
        subject,
        artifact_type,
        annotations,
        config=blobs[0],
        config_media_type=config_media_type,
        layer_media_types=tuple(str(layer["mediaType"]) for layer in layers),
    )


def _is_foreign(descriptor: dict[str, Any]) -> bool:
    """Non-distributable (foreign) layers live elsewhere: they need not, and often cannot, be pushed."""
    media_type = str(descriptor.get("mediaType", ""))
    return "nondistributable" in media_type or "foreign" in media_type or bool(descriptor.get("urls"))


def _guess_media_type(doc: dict[str, Any]) -> str:
    if "manifests" in doc:
        return OCI_INDEX
    return OCI_MANIFEST
