"""Real registry clients (skopeo, podman) against a live `wharf serve`."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool


class Skopeo:
    def __init__(self, host: str, token: str) -> None:
        self.binary = require_tool("skopeo")
        self.host = host
        self.creds = f"ci:{token}"

    def run(self, *args: str, check: bool = True, debug: bool = False) -> subprocess.CompletedProcess[str]:
        command = [self.binary, "--insecure-policy", *(["--debug"] if debug else []), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"skopeo {' '.join(args)} failed:\n{result.stderr}")
        return result

    def push(
        self,
        layout: Path,
        tag: str,
        ref: str,
        *extra: str,
        creds: str | None = None,
        check: bool = True,
        debug: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "copy",
            *extra,
            "--dest-tls-verify=false",
            "--dest-creds",
            creds or self.creds,
            f"oci:{layout}:{tag}",
            f"docker://{self.host}/{ref}",
            check=check,
            debug=debug,
        )

    def pull(
        self, ref: str, layout: Path, tag: str, *extra: str, creds: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "copy",
            *extra,
            "--src-tls-verify=false",
            "--src-creds",
            creds or self.creds,
            f"docker://{self.host}/{ref}",
            f"oci:{layout}:{tag}",
            check=check,
        )

    def inspect(self, ref: str, *extra: str, creds: str | None = None) -> dict[str, Any]:
        out = self.run(
            "inspect", *extra, "--tls-verify=false", "--creds", creds or self.creds, f"docker://{self.host}/{ref}"
        ).stdout
        return json.loads(out)

    def inspect_raw(self, ref: str) -> bytes:
        return self.run(
            "inspect", "--raw", "--tls-verify=false", "--creds", self.creds, f"docker://{self.host}/{ref}"
        ).stdout.encode()

    def list_tags(self, repository: str) -> dict[str, Any]:
        out = self.run(
            "list-tags", "--tls-verify=false", "--creds", self.creds, f"docker://{self.host}/{repository}"
        ).stdout
        return json.loads(out)


@pytest.fixture(scope="session")
def skopeo(live_server) -> Skopeo:
    return Skopeo(live_server.host, live_server.token)


def unique(label: str) -> str:
    return f"acme/{label}-{uuid.uuid4().hex[:8]}"


def layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()


def layout_manifest(layout: Path, tag: str) -> bytes:
    """The top-level manifest bytes a layout holds for `tag`."""
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return layout_blob(layout, entry["digest"])
    raise AssertionError(f"no {tag} in {layout}")
