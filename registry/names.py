"""The spec grammar for repository names and tags, and the parser of `/v2/<rest>` paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from registry.errors import RegistryError

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*\Z")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")
MAX_NAME_LENGTH = 255

Kind = Literal["blob", "upload", "manifest", "tags", "referrers"]


@dataclass(frozen=True, slots=True)
class Route:
    """A parsed registry path: which resource of which repository."""

    kind: Kind
    name: str
    ref: str | None = None  # digest, tag or upload id


def validate_name(name: str) -> str:
    if len(name) > MAX_NAME_LENGTH or not NAME_RE.match(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name {name!r}")
    return name


def validate_tag(tag: str) -> str:
    if not TAG_RE.match(tag):
        raise RegistryError("TAG_INVALID", f"invalid tag {tag!r}")
    return tag


def parse_route(rest: str) -> Route | None:
    """Split `<name>/(blobs|manifests|tags|referrers|blobs/uploads)/...`; None when no route fits.

    The name is validated; the reference is returned raw for the handler to interpret.
    """
    parts = rest.strip("/").split("/")
    if len(parts) >= 3 and parts[-2] == "uploads" and parts[-3] == "blobs":
        return Route("upload", validate_name("/".join(parts[:-3])), parts[-1] or None)
    if len(parts) >= 3 and parts[-1] == "uploads" and parts[-2] == "blobs":
        return Route("upload", validate_name("/".join(parts[:-2])), None)
    if len(parts) >= 3 and parts[-2] in ("blobs", "manifests", "referrers"):
        kind: Kind = {"blobs": "blob", "manifests": "manifest", "referrers": "referrers"}[parts[-2]]  # type: ignore[assignment]
        return Route(kind, validate_name("/".join(parts[:-2])), parts[-1])
    if len(parts) >= 3 and parts[-2:] == ["tags", "list"]:
        return Route("tags", validate_name("/".join(parts[:-2])))
    return None
