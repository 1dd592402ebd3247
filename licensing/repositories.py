"""Repository patterns: `*` and `?` stay inside one path component, a `**` component spans several."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from licensing.errors import InvalidRule
from licensing.globs import Wildcard, compile_wildcard

MAX_REPOSITORY_LENGTH = 255
_COMPONENT_GLOB_RE = re.compile(r"[a-z0-9._*?-]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class RepositoryPattern:
    """A glob over the whole repository name; a `**` component matches zero or more components in the
    middle or at the start, and one or more at the end (`acme/**` covers `acme/app`, not `acme`)."""

    text: str
    components: tuple[Wildcard | None, ...]  # None stands for a `**` component
    regex: re.Pattern[str] | None = None  # set when one regex matches it without risk of backtracking
    literal: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "literal", "*" not in self.text and "?" not in self.text)

    def matches(self, repository: str) -> bool:
        if self.literal:
            return self.text == repository
        if self.regex is not None:
            return self.regex.fullmatch(repository) is not None
        parts = repository.split("/")
        if "" in parts:  # not a repository name; `*` must not match an empty component
            return False
        positions = {0}  # how many name components the pattern read so far may have consumed
        last = len(self.components) - 1
        for index, component in enumerate(self.components):
            if component is None:
                first = min(positions) + (1 if index == last else 0)
                positions = set(range(first, len(parts) + 1))
            else:
                positions = {p + 1 for p in positions if p < len(parts) and component.matches(parts[p])}
            if not positions:
                return False
        return len(parts) in positions


def parse_repository_pattern(text: str) -> RepositoryPattern:
    """Parse a repository glob such as `acme/app`, `acme/*` or `acme/**`; raises InvalidRule when malformed."""
    components = text.split("/")
    if len(text) > MAX_REPOSITORY_LENGTH or not all(_COMPONENT_GLOB_RE.fullmatch(c) for c in components):
        raise InvalidRule(
            f"'{text}' is not a valid repository pattern: use lowercase letters, digits, '.', '_', '-', "
            "'/' between non-empty path components, and the wildcards '*', '?' and '**'"
        )
    if any("**" in c and c != "**" for c in components):
        raise InvalidRule(
            f"'{text}' is not a valid repository pattern: '**' must be a whole component, as in 'acme/**'"
        )
    wildcards = tuple(None if c == "**" else compile_wildcard(c) for c in components)
    return RepositoryPattern(text, wildcards, _linear_regex(components))


def _linear_regex(components: list[str]) -> re.Pattern[str] | None:
    """One regex for the usual patterns; None (use the component walk) past one `**` or one `*` per component,
    where a regex could backtrack for a very long time."""
    if components.count("**") > 1 or any(c.count("*") > 1 for c in components if c != "**"):
        return None
    pieces = []
    for index, component in enumerate(components):
        last = index == len(components) - 1
        if component == "**":
            pieces.append(r"[^/]+(?:/[^/]+)*" if last else r"(?:[^/]+/)*")
        elif component == "*":
            pieces.append(r"[^/]+" if last else r"[^/]+/")
        else:
            pattern = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in component)
            pieces.append(pattern if last else pattern + "/")
    return re.compile("".join(pieces))
