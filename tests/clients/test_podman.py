"""podman (vfs storage; it cannot run containers here, pulling works) pulls what skopeo pushed."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.clients.conftest import unique
from tests.conftest import require_tool
from tests.support.oci import image, write_layout

pytestmark = pytest.mark.clients


@pytest.fixture
def runroot():
    with tempfile.TemporaryDirectory(prefix="wp-") as path:  # podman wants a runroot under 50 characters
        yield Path(path)


def podman(tmp_path, runroot, *args: str) -> subprocess.CompletedProcess[str]:
    binary = require_tool("podman")
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    base = [binary, "--storage-driver", "vfs", "--root", str(tmp_path / "root"), "--runroot", str(runroot)]
    return subprocess.run(
        [*base, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"CONTAINERS_CONF": str(conf), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path)},
    )


def test_podman_pull(skopeo, live_server, tmp_path, runroot):
    img = image("podman", layer_files={"etc/hello": b"hello from wharf\n"})
    repo = unique("podman")
    skopeo.push(write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs), "v1", f"{repo}:v1")
    ref = f"{live_server.host}/{repo}:v1"
    result = podman(tmp_path, runroot, "pull", "--tls-verify=false", "--creds", f"ci:{live_server.token}", ref)
    assert result.returncode == 0, result.stderr
    inspected = json.loads(podman(tmp_path, runroot, "image", "inspect", ref).stdout)
    assert inspected[0]["Digest"] == img.digest
    denied = podman(tmp_path, runroot, "pull", "--tls-verify=false", "--creds", "ci:wharf_api_wrong", ref)
    assert denied.returncode != 0
