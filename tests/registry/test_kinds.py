"""The kind of a manifest, decided from its media types and artifactType; what a config blob tells."""

from __future__ import annotations

import json

import pytest

from registry.describe import describe, https_url
from registry.kinds import classify, cosign_subject, shown_platforms
from registry.manifests import parse_manifest
from tests.support.oci import (
    HELM_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    artifact,
    cosign_signature,
    descriptor,
    helm_chart,
    image,
    index,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def kind(manifest: bytes, media_type: str = OCI_MANIFEST) -> str:
    return classify(parse_manifest(manifest, media_type))


def test_images_and_indexes():
    amd, arm = image("k", "amd64"), image("k", "arm64")
    assert kind(amd.manifest) == "image"
    assert kind(index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX) == "index"
    docker = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor("application/vnd.docker.container.image.v1+json", b"{}"),
            "layers": [descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", b"x")],
        }
    ).encode()
    assert kind(docker, DOCKER_MANIFEST) == "image"


def test_helm_charts_by_their_config():
    assert kind(helm_chart("web", "1.2.0").manifest) == "helm-chart"


@pytest.mark.parametrize(
    ("layer", "artifact_type", "expected"),
    [
        ("application/vnd.dev.cosign.simplesigning.v1+json", None, "signature"),
        ("application/vnd.cncf.notary.signature", "application/vnd.cncf.notary.signature", "signature"),
        ("application/octet-stream", "application/vnd.dev.cosign.artifact.sig.v1+json", "signature"),
        ("application/spdx+json", "application/spdx+json", "sbom"),
        ("text/spdx", None, "sbom"),
        ("application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json", "sbom"),
        ("application/vnd.in-toto+json", None, "sbom"),
        ("application/vnd.dsse.envelope.v1+json", None, "sbom"),
        ("application/vnd.acme.rocket.docs.layer.v1+tar", "application/vnd.acme.rocket.config", "artifact"),
        ("application/octet-stream", None, "artifact"),
    ],
)
def test_signatures_sboms_and_other_artifacts(layer, artifact_type, expected):
    assert kind(artifact(layer, b"payload", artifact_type).manifest) == expected


def test_a_cosign_signature_uses_an_image_config_and_still_is_a_signature():
    assert kind(cosign_signature().manifest) == "signature"


def test_an_image_with_an_unknown_artifact_type_is_an_artifact():
    doc = json.loads(image("typed").manifest)
    doc["artifactType"] = "application/vnd.example.thing"
    assert kind(json.dumps(doc).encode()) == "artifact"


def test_cosign_tag_scheme():
    hexdigest = "a" * 64
    assert cosign_subject(f"sha256-{hexdigest}.sig") == (f"sha256:{hexdigest}", "signature")
    assert cosign_subject(f"sha256-{hexdigest}.att") == (f"sha256:{hexdigest}", "sbom")
    assert cosign_subject(f"sha256-{hexdigest}.sbom") == (f"sha256:{hexdigest}", "sbom")
    for tag in ("1.0.0", f"sha256-{hexdigest}", f"sha256-{hexdigest[:10]}.sig", f"sha256-{hexdigest}.sig.old"):
        assert cosign_subject(tag) is None


def test_attestation_entries_are_not_platforms():
    assert shown_platforms(["linux/arm64", "unknown/unknown", "linux/amd64", "linux/amd64"]) == [
        "linux/amd64",
        "linux/arm64",
    ]


def test_chart_details_from_the_config():
    chart = {
        "apiVersion": "v2",
        "name": "web",
        "version": "1.2.0",
        "appVersion": "4.1",
        "description": "The   web\nfront end",
        "icon": "https://cdn.example.com/web.png",
        "kubeVersion": ">=1.25.0",
        "dependencies": [{"name": "redis", "version": "17.x", "repository": "oci://registry.example.com/charts"}],
    }
    details = describe("helm-chart", json.dumps(chart).encode())
    assert details == {
        "chart": {
            "name": "web",
            "version": "1.2.0",
            "app_version": "4.1",
            "description": "The web front end",
            "icon": "https://cdn.example.com/web.png",
            "kube_version": ">=1.25.0",
            "dependencies": [{"name": "redis", "version": "17.x", "repository": "oci://registry.example.com/charts"}],
        }
    }


def test_only_https_icons_are_kept():
    for bad in ("http://cdn.example.com/web.png", "javascript:alert(1)", 'https://x/"><script>', "//cdn/x.png", 7):
        assert https_url(bad) is None
    assert describe("helm-chart", json.dumps({"name": "x", "icon": "http://a/b.png"}).encode())["chart"]["icon"] is None


def test_image_details_and_what_is_not_described():
    config = json.loads(image("d", "arm64").config)
    config["variant"], config["created"] = "v8", "2026-11-01T10:00:00Z"
    assert describe("image", json.dumps(config).encode()) == {
        "platform": "linux/arm64/v8",
        "created": "2026-11-01T10:00:00Z",
    }
    assert describe("artifact", b"{}") is None
    assert describe("image", b"not json") is None
    assert describe("image", None) is None
    assert HELM_CONFIG == "application/vnd.cncf.helm.config.v1+json"
