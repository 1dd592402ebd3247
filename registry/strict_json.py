"""JSON that every parser reads alike: nesting bounded before parsing, duplicate keys refused."""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

MAX_DEPTH = 32  # arrays and objects inside each other; manifests and API bodies need a handful
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# [ and { step one level in, ] and } one out (as signed bytes: 1 and -1)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def nesting_exceeds(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests deeper than `limit`: one linear pass, no recursion (json.loads recurses
    per level, so a deep document would otherwise end in RecursionError). Brackets in strings do not count."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets.translate(_STEPS))), default=0) > limit


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(key)
        obj[key] = value
    return obj


def loads_strict(data: bytes) -> Any:
    """json.loads refusing duplicate keys (DuplicateKey); call `nesting_exceeds` first."""
    return json.loads(data, object_pairs_hook=_unique_keys)
