"""What a pushed manifest is: its kind, decided once at push time from its media types and `artifactType`.

image (one platform), index (several), helm-chart, signature (cosign, notation), sbom (SPDX, CycloneDX,
in-toto attestations) or artifact (anything else). Pure functions: the registry stores the answer with
the manifest, the migration that introduced kinds ran the same function over what was already stored.
"""

from __future__ import annotations

import re
from typing import Literal

from registry.manifests import HELM_CONFIG, ParsedManifest

Kind = Literal["image", "index", "helm-chart", "signature", "sbom", "artifact"]
KINDS: tuple[Kind, ...] = ("image", "index", "helm-chart", "signature", "sbom", "artifact")
# Kinds that describe another manifest rather than being something to install.
ATTACHMENTS: frozenset[str] = frozenset({"signature", "sbom"})

IMAGE_CONFIGS = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
SIGNATURE_TYPES = frozenset(
    {
        "application/vnd.dev.cosign.simplesigning.v1+json",  # cosign's signature layers
        "application/vnd.dev.cosign.artifact.sig.v1+json",  # cosign with the referrers API
        "application/vnd.cncf.notary.signature",  # notation
        "application/vnd.cncf.notary.v2.signature",
    }
)
SBOM_TYPES = frozenset(
    {
        "application/spdx+json",
        "application/vnd.spdx+json",
        "text/spdx",
        "text/spdx+json",
        "text/spdx+xml",
        "application/vnd.cyclonedx",
        "application/vnd.cyclonedx+json",
        "application/vnd.cyclonedx+xml",
        "application/vnd.in-toto+json",  # in-toto statements (buildx provenance and SBOM attestations)
        "application/vnd.dsse.envelope.v1+json",  # cosign attestations
        "application/vnd.dev.cosign.artifact.sbom.v1+json",
        "application/vnd.dev.cosign.artifact.att.v1+json",
        "application/vnd.docker.attestation.manifest.v1+json",
    }
)
# cosign's tag scheme: the signature, attestation or SBOM of sha256:<hex> is tagged sha256-<hex>.<suffix>.
COSIGN_TAG_RE = re.compile(r"^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})\.(sig|att|sbom)\Z")
COSIGN_SUFFIX_KINDS: dict[str, Kind] = {"sig": "signature", "att": "sbom", "sbom": "sbom"}


def _plain(media_type: str | None) -> str:
    return (media_type or "").split(";")[0].strip().lower()


def classify(parsed: ParsedManifest) -> Kind:
    """The kind of a validated manifest."""
    types = {_plain(parsed.artifact_type), _plain(parsed.config_media_type), *map(_plain, parsed.layer_media_types)}
    if types & SIGNATURE_TYPES:
        return "signature"
    if types & SBOM_TYPES:
        return "sbom"
    if parsed.is_index:
        return "index"
    if _plain(parsed.config_media_type) == HELM_CONFIG:
        return "helm-chart"
    artifact_type = _plain(parsed.artifact_type)
    if _plain(parsed.config_media_type) in IMAGE_CONFIGS and artifact_type in ("", *IMAGE_CONFIGS):
        return "image"
    return "artifact"


def cosign_subject(tag: str) -> tuple[str, Kind] | None:
    """For a tag of cosign's scheme (`sha256-<hex>.sig`), the digest it describes and what it holds."""
    match = COSIGN_TAG_RE.match(tag)
    if match is None:
        return None
    algorithm, hexdigest, suffix = match.groups()
    return f"{algorithm}:{hexdigest}", COSIGN_SUFFIX_KINDS[suffix]


def shown_platforms(platforms: list[str]) -> list[str]:
    """The platforms worth naming: buildx's attestation entries (`unknown/unknown`) are not platforms."""
    return sorted({p for p in platforms if p and not p.startswith("unknown/")})
