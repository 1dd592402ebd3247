"""How pages name registry reads: an image as clients write it, an action in words."""

from __future__ import annotations

ACTION_WORDS = {
    "manifest.get": "pull",
    "manifest.head": "version check",
    "blob.get": "download",
    "manifest.put": "push",
    "blob.put": "upload",
    "blob.mount": "mount",
    "manifest.delete": "delete",
    "blob.delete": "delete",
    "denied": "denied",
}
DIGEST_SHOWN = 12  # hex characters of a digest shown on a page; the whole one goes in its title


def action_words(action: str) -> str:
    """`manifest.get` -> `pull`, `manifest.head` -> `version check`, …; an unknown action as it is."""
    return ACTION_WORDS.get(action, action)


def image_ref(repository: str, reference: str | None, *, whole: bool = False) -> str:
    """`repo:tag`, or `repo@sha256:0123456789ab…` for a digest (whole when asked, e.g. for a title)."""
    if not reference:
        return repository
    algorithm, colon, hex_part = reference.partition(":")
    if not colon:
        return f"{repository}:{reference}"
    if whole or len(hex_part) <= DIGEST_SHOWN:
        return f"{repository}@{reference}"
    return f"{repository}@{algorithm}:{hex_part[:DIGEST_SHOWN]}…"
