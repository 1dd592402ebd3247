"""What the portals show of a manifest beyond its kind, read once at push time from its config blob:
a Helm chart's Chart.yaml (Helm stores it as JSON), an image's platform and creation time.

Pure functions over bytes; values are trimmed and checked (an icon must be an https URL), since they
come from whoever pushed and end up on customers' pages.
"""

from __future__ import annotations

import json
from typing import Any

MAX_CONFIG_READ = 1024 * 1024  # a larger config is not read (its details stay unknown)
MAX_TEXT = 500
MAX_DEPENDENCIES = 50


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())
    return text[:limit] or None


def https_url(value: Any) -> str | None:
    """An https URL fit for an <img src>: no spaces, quotes or angle brackets, at most 500 characters."""
    text = _text(value)
    if text is None or not text.lower().startswith("https://") or len(text) <= len("https://"):
        return None
    if any(ch in text for ch in " \"'<>\\`"):
        return None
    return text


def chart_details(doc: dict[str, Any]) -> dict[str, Any]:
    """name, version, appVersion, description, icon, kubeVersion and dependencies of a Chart.yaml."""
    dependencies = []
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict) and _text(dep.get("name")):
            dependencies.append(
                {
                    "name": _text(dep.get("name"), 100),
                    "version": _text(dep.get("version"), 100),
                    "repository": _text(dep.get("repository")),
                }
            )
    return {
        "name": _text(doc.get("name"), 100),
        "version": _text(doc.get("version"), 100),
        "app_version": _text(doc.get("appVersion"), 100),
        "description": _text(doc.get("description")),
        "icon": https_url(doc.get("icon")),
        "kube_version": _text(doc.get("kubeVersion"), 100),
        "dependencies": dependencies[:MAX_DEPENDENCIES],
    }


def image_details(doc: dict[str, Any]) -> dict[str, Any]:
    parts = [_text(doc.get(key), 40) for key in ("os", "architecture", "variant")]
    platform = "/".join(p for p in parts if p) if parts[0] and parts[1] else None
    return {"platform": platform, "created": _text(doc.get("created"), 40)}


def describe(kind: str, config: bytes | None) -> dict[str, Any] | None:
    """The details worth keeping for a manifest of `kind` whose config blob holds `config`."""
    if config is None or kind not in ("image", "helm-chart"):
        return None
    try:
        doc = json.loads(config)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    return {"chart": chart_details(doc)} if kind == "helm-chart" else image_details(doc)
