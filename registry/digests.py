"""Content digests: parsing, validation and incremental hashing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from registry.errors import RegistryError

ALGORITHMS = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)\Z")
_HEX = re.compile(r"^[a-f0-9]+\Z")


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def looks_like_digest(value: str) -> bool:
    return _DIGEST.match(value) is not None


def parse_digest(value: str, *, code: str = "DIGEST_INVALID") -> Digest:
    """Parse `algorithm:hex`, accepting only the algorithms this registry can verify."""
    match = _DIGEST.match(value)
    if match is None:
        raise RegistryError(code, f"invalid digest {value!r}")
    algorithm, encoded = match.groups()
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise RegistryError(code, f"unsupported digest algorithm {algorithm!r}")
    if len(encoded) != length or not _HEX.match(encoded):
        raise RegistryError(code, f"invalid {algorithm} digest {value!r}")
    return Digest(algorithm, encoded)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
