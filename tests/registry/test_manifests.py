"""Manifest validation without HTTP: what is accepted, what is refused and why."""

from __future__ import annotations

import json

import pytest

from registry.errors import RegistryError
from registry.manifests import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    HELM_CHART,
    HELM_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_manifest,
)
from tests.support.oci import descriptor, image, index


def test_oci_image():
    img = image("x")
    parsed = parse_manifest(img.manifest, OCI_MANIFEST)
    assert parsed.media_type == OCI_MANIFEST and not parsed.is_index
    assert set(parsed.blobs) == set(img.blobs)
    assert parsed.artifact_type == "application/vnd.oci.image.config.v1+json"


def test_media_type_from_content_type_when_the_document_has_none():
    doc = json.loads(image("x").manifest)
    del doc["mediaType"]
    assert parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST).media_type == OCI_MANIFEST


def test_index_children_and_platforms():
    amd, arm = image("a", "amd64"), image("a", "arm64")
    parsed = parse_manifest(index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX)
    assert parsed.is_index and parsed.blobs == ()
    assert [(d, str(p)) for d, p in parsed.children] == [(amd.digest, "linux/amd64"), (arm.digest, "linux/arm64")]


def test_helm_chart_artifact_type_comes_from_its_config():
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(HELM_CONFIG, b"{}"),
        "layers": [descriptor(HELM_CHART, b"chart")],
    }
    assert parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST).artifact_type == HELM_CONFIG


def test_subject_and_explicit_artifact_type():
    subject = descriptor(OCI_MANIFEST, b"subject")
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/x.sig",
        "config": descriptor("application/vnd.oci.empty.v1+json", b"{}"),
        "layers": [],
        "subject": subject,
    }
    parsed = parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST)
    assert parsed.subject == subject["digest"] and parsed.artifact_type == "application/x.sig"


def test_docker_types():
    doc = json.loads(image("x").manifest)
    doc["mediaType"] = DOCKER_MANIFEST
    assert parse_manifest(json.dumps(doc).encode(), DOCKER_MANIFEST).media_type == DOCKER_MANIFEST
    listing = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": []}
    assert parse_manifest(json.dumps(listing).encode(), DOCKER_LIST).is_index


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{", OCI_MANIFEST, "not valid JSON"),
        (b"[]", OCI_MANIFEST, "not a JSON object"),
        (b'{"schemaVersion": 1}', OCI_MANIFEST, "schemaVersion 2"),
        (
            b'{"schemaVersion": 2, "mediaType": "%s", "manifests": []}' % OCI_INDEX.encode(),
            OCI_MANIFEST,
            "does not match",
        ),
        (b'{"schemaVersion": 2, "mediaType": "text/plain"}', "text/plain", "unsupported manifest media type"),
        (b'{"schemaVersion": 2, "mediaType": "%s", "layers": []}' % OCI_MANIFEST.encode(), OCI_MANIFEST, "config"),
        (b'{"schemaVersion": 2, "mediaType": "%s"}' % OCI_INDEX.encode(), OCI_INDEX, "manifests array"),
        (
            b'{"schemaVersion": 2, "mediaType": "%s", "manifests": [{"digest": "sha256:xx", "size": 1, "mediaType": "a"}]}'
            % OCI_INDEX.encode(),
            OCI_INDEX,
            "manifests[0]: invalid sha256 digest",
        ),
        (
            b'{"schemaVersion": 2, "mediaType": "%s", "manifests": [{"digest": "sha256:%s", "size": -1, "mediaType": "a"}]}'
            % (OCI_INDEX.encode(), b"a" * 64),
            OCI_INDEX,
            "size",
        ),
    ],
)
def test_invalid(body, content_type, message):
    with pytest.raises(RegistryError) as exc:
        parse_manifest(body, content_type)
    assert exc.value.code == "MANIFEST_INVALID"
    assert message in exc.value.message


def test_too_large():
    with pytest.raises(RegistryError) as exc:
        parse_manifest(b" " * (4 * 1024 * 1024 + 1), OCI_MANIFEST)
    assert exc.value.status == 413


def test_non_distributable_layers_need_not_be_pushed():
    doc = json.loads(image("foreign").manifest)
    foreign = {
        "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "digest": "sha256:" + "f" * 64,
        "size": 10,
        "urls": ["https://example.com/layer"],
    }
    docker_foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": "sha256:" + "e" * 64,
        "size": 10,
    }
    doc["layers"] += [foreign, docker_foreign]
    parsed = parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST)
    assert foreign["digest"] not in parsed.blobs and docker_foreign["digest"] not in parsed.blobs
    assert len(parsed.blobs) == 2  # config and the ordinary layer still must exist


def test_duplicate_keys_are_refused_wherever_they_are():
    """Parsers disagree on which of two equal keys wins; a manifest that other tools may read differently is invalid."""
    img = image("dup")
    text = img.manifest.decode()
    top = text.replace('"schemaVersion": 2', '"schemaVersion": 2, "schemaVersion": 2', 1)
    nested = text.replace('"size": ', '"size": 1, "size": ', 1)
    for body in (top, nested):
        assert body != text
        with pytest.raises(RegistryError) as exc:
            parse_manifest(body.encode(), OCI_MANIFEST)
        assert exc.value.code == "MANIFEST_INVALID" and "duplicate key" in exc.value.message


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_is_invalid_not_a_crash(depth):
    doc = json.loads(image("deep").manifest)
    body = json.dumps(doc)[:-1] + ', "annotations": {"x": ' + "[" * depth + "]" * depth + "}}"
    with pytest.raises(RegistryError) as exc:
        parse_manifest(body.encode(), OCI_MANIFEST)
    assert exc.value.code == "MANIFEST_INVALID" and "nested deeper than" in exc.value.message


def test_ordinary_nesting_and_brackets_inside_strings_are_fine():
    doc = json.loads(image("brackets").manifest)
    doc["annotations"] = {"org.example.note": "[[[[{{{{" * 40 + '\\"]]'}
    parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST)
