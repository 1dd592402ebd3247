"""`wharf gc` helpers: parse a grace period, render a collection as text or JSON."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from app.sizes import human_size
from registry.gc import Collection

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_GRACE = re.compile(r"^(\d+)([smhd])\Z")


def parse_grace(value: str) -> timedelta:
    """`30m`, `24h`, `7d`, `90s` or `0`."""
    text = value.strip().lower()
    if text == "0":
        return timedelta(0)
    match = _GRACE.match(text)
    if match is None:
        raise ValueError(f"grace period {value!r} is not a number followed by s, m, h or d (e.g. 24h, 30m, 7d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def as_text(result: Collection, grace: timedelta, seconds: float, verbose: bool) -> str:
    verb = "would remove" if result.dry_run else "removed"
    lines = [
        f"{'dry run: nothing deleted (add --delete to collect)' if result.dry_run else 'garbage collected'}; "
        f"grace {grace}, content pushed before {result.cutoff:%Y-%m-%d %H:%M:%S} UTC is eligible",
        f"{verb} {len(result.manifests)} manifests ({human_size(result.manifest_bytes)})",
        f"{verb} {len(result.links)} repository blob links",
        f"{verb} {len(result.blobs)} blobs ({human_size(result.blob_bytes)})",
        f"took {seconds:.2f} s",
    ]
    if verbose:
        lines += [f"manifest {m.repository}@{m.digest} ({m.size} B)" for m in result.manifests]
        lines += [f"link {link.repository} -> {link.digest}" for link in result.links]
        lines += [f"blob {b.digest} ({b.size} B)" for b in result.blobs]
    return "\n".join(lines)


def as_json(result: Collection, grace: timedelta, seconds: float, verbose: bool) -> str:
    document: dict[str, object] = {
        "dry_run": result.dry_run,
        "grace_seconds": int(grace.total_seconds()),
        "cutoff": result.cutoff.isoformat(),
        "seconds": round(seconds, 3),
        "manifests": {"count": len(result.manifests), "bytes": result.manifest_bytes},
        "links": {"count": len(result.links)},
        "blobs": {"count": len(result.blobs), "bytes": result.blob_bytes},
    }
    if verbose:
        document["manifests"] = {
            **document["manifests"],  # type: ignore[dict-item]
            "items": [{"repository": m.repository, "digest": m.digest, "size": m.size} for m in result.manifests],
        }
        document["links"] = {
            **document["links"],  # type: ignore[dict-item]
            "items": [{"repository": link.repository, "digest": link.digest} for link in result.links],
        }
        document["blobs"] = {
            **document["blobs"],  # type: ignore[dict-item]
            "items": [{"digest": b.digest, "size": b.size} for b in result.blobs],
        }
    return json.dumps(document, indent=2)
