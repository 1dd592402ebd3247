"""Globs over tags: `*` any run of characters, `?` one character, and no regex syntax leaks through.

Pieces between stars have a fixed length and are found leftmost-first, so matching costs at most
O(len(text) * len(pattern)) whatever the pattern: a vendor cannot write a glob that backtracks for ever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from licensing.errors import InvalidRule

MAX_TAG_LENGTH = 128
_TAG_GLOB_RE = re.compile(r"[A-Za-z0-9_.*?-]+", re.ASCII)
_STARS_RE = re.compile(r"\*{2,}")


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A compiled glob for text without `/`: the pieces between stars, each of fixed length."""

    pattern: str
    pieces: tuple[re.Pattern[str], ...]
    lengths: tuple[int, ...]
    literal: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "literal", "*" not in self.pattern and "?" not in self.pattern)

    def matches(self, text: str) -> bool:
        if self.literal:
            return text == self.pattern
        if len(self.pieces) == 1:
            return len(text) == self.lengths[0] and self.pieces[0].match(text) is not None
        start, end = self.lengths[0], len(text) - self.lengths[-1]
        if start > end or self.pieces[0].match(text) is None or self.pieces[-1].match(text, end) is None:
            return False
        for piece in self.pieces[1:-1]:
            found = piece.search(text, start, end)
            if found is None:
                return False
            start = found.end()
        return True


def compile_wildcard(pattern: str) -> Wildcard:
    """Compile a glob whose only special characters are `*` and `?`; runs of stars count as one."""
    pieces = _STARS_RE.sub("*", pattern).split("*")
    compiled = tuple(re.compile(_piece_regex(piece), re.DOTALL) for piece in pieces)
    return Wildcard(pattern, compiled, tuple(len(piece) for piece in pieces))


def _piece_regex(piece: str) -> str:
    """A fixed-length regex: `?` is any one character, everything else stands for itself."""
    return "".join("." if character == "?" else re.escape(character) for character in piece)


@dataclass(frozen=True, slots=True)
class TagGlob:
    """A tag rule such as `1.*`, `*-lts`, `2.4.1` or `*`: it matches the whole tag, exactly as written."""

    text: str
    wildcard: Wildcard

    def matches(self, tag: str) -> bool:
        return self.wildcard.matches(tag)

    def matches_tag(self, tag: str, version: object = None) -> bool:
        """Same as `matches`; the version argument keeps the signature of VersionRange.matches_tag."""
        return self.wildcard.matches(tag)


def parse_tag_glob(text: str) -> TagGlob:
    """Parse a glob tag rule; raises InvalidRule if it holds characters a tag cannot."""
    if len(text) > MAX_TAG_LENGTH or not _TAG_GLOB_RE.fullmatch(text):
        raise InvalidRule(
            f"'{text}' is not a valid tag pattern: use at most {MAX_TAG_LENGTH} letters, digits, '_', '.', '-' "
            "and the wildcards '*' and '?' (or start with >=, <=, >, <, =, ^ or ~ for a version range)"
        )
    if text[0] in ".-":
        raise InvalidRule(f"'{text}' can never match: tags start with a letter, a digit or '_'")
    return TagGlob(text, compile_wildcard(text))
