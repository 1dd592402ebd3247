"""The pure parts: path routing, name/tag grammar, digests, scopes, Content-Range and byte ranges."""

from __future__ import annotations

import pytest

from registry.auth import Scope, parse_scopes
from registry.digests import digest_of, parse_digest
from registry.errors import RegistryError
from registry.http.blobs import byte_range as _byte_range
from registry.names import Route, parse_route, validate_name, validate_tag
from registry.uploads import parse_content_range

SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("rest", "route"),
    [
        ("acme/app/manifests/v1", Route("manifest", "acme/app", "v1")),
        (f"acme/deep/path/app/blobs/{SHA}", Route("blob", "acme/deep/path/app", SHA)),
        ("acme/app/blobs/uploads/", Route("upload", "acme/app", None)),
        ("acme/app/blobs/uploads", Route("upload", "acme/app", None)),
        ("acme/app/blobs/uploads/1234-abcd", Route("upload", "acme/app", "1234-abcd")),
        ("acme/app/tags/list", Route("tags", "acme/app")),
        (f"acme/app/referrers/{SHA}", Route("referrers", "acme/app", SHA)),
        # path components that look like endpoint words are still names
        ("acme/blobs/manifests/v1", Route("manifest", "acme/blobs", "v1")),
        ("acme/tags/tags/list", Route("tags", "acme/tags")),
        ("acme/manifests/blobs/uploads/", Route("upload", "acme/manifests", None)),
    ],
)
def test_parse_route(rest, route):
    assert parse_route(rest) == route


@pytest.mark.parametrize("rest", ["acme", "acme/app", "acme/app/unknown/x", "manifests/v1"])
def test_parse_route_without_a_match(rest):
    assert parse_route(rest) is None


@pytest.mark.parametrize("name", ["a", "acme/app", "a0/b-c/d.e/f__g", "x" * 255, "a/b---c"])
def test_valid_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "Acme/app", "acme//app", "acme/app/", "-acme", "a..b", "a" * 256, "a_.b"])
def test_invalid_names(name):
    with pytest.raises(RegistryError) as exc:
        validate_name(name)
    assert exc.value.code == "NAME_INVALID"


@pytest.mark.parametrize("tag", ["v1", "1.2.3-rc.1", "_x", "A" * 128, "latest"])
def test_valid_tags(tag):
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", "-v1", ".v1", "a" * 129, "v1/x", "v1:x"])
def test_invalid_tags(tag):
    with pytest.raises(RegistryError) as exc:
        validate_tag(tag)
    assert exc.value.code == "TAG_INVALID"


def test_digests():
    assert str(parse_digest(SHA)) == SHA
    sha512 = "sha512:" + "b" * 128
    assert parse_digest(sha512).algorithm == "sha512"
    assert digest_of(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for bad in ("sha256:" + "a" * 63, "sha256:" + "A" * 64, "md5:" + "a" * 32, "sha512:" + "b" * 64, "nocolon"):
        with pytest.raises(RegistryError) as exc:
            parse_digest(bad)
        assert exc.value.code == "DIGEST_INVALID"


def test_parse_scopes():
    assert parse_scopes(["repository:acme/app:pull,push", "registry:catalog:*"]) == [
        Scope("repository", "acme/app", frozenset({"pull", "push"})),
        Scope("registry", "catalog", frozenset({"*"})),
    ]
    # the OAuth2 form puts several scopes in one space-separated value; plugin classes are dropped
    assert parse_scopes(["repository:a/b:pull repository(plugin):c/d:push"]) == [
        Scope("repository", "a/b", frozenset({"pull"})),
        Scope("repository", "c/d", frozenset({"push"})),
    ]
    assert parse_scopes(["garbage", "repository::pull", ""]) == []


def test_content_range():
    assert parse_content_range("0-99") == (0, 99)
    assert parse_content_range("bytes 5-10") == (5, 10)
    for bad in ("10-5", "a-b", "5", "-5"):
        with pytest.raises(RegistryError) as exc:
            parse_content_range(bad)
        assert exc.value.status == 416


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=95-200", (95, 99)),
        ("bytes=100-", None),
        ("bytes=5-1", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=x-y", None),
        ("bytes=-0", None),
    ],
)
def test_byte_range(header, expected):
    assert _byte_range(header, 100) == expected


def test_a_trailing_newline_is_no_part_of_a_valid_name_or_tag():
    import pytest

    from registry.errors import RegistryError
    from registry.names import validate_name, validate_tag

    for bad in ("1.9.9\n", "latest\n"):
        with pytest.raises(RegistryError):
            validate_tag(bad)
    with pytest.raises(RegistryError):
        validate_name("acme/app\n")
