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


def podman(tmp_path: Path, runroot: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """podman as root with private storage, no cgroups manager, no events journal and no user config."""
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

    pulled = podman(tmp_path, runroot, "pull", "--tls-verify=false", "--creds", f"ci:{live_server.token}", ref)
    assert pulled.returncode == 0, pulled.stderr
    config_id = json.loads(img.manifest)["config"]["digest"].split(":")[1]
    assert pulled.stdout.strip() == config_id  # podman prints the image id: the config's digest

    inspected = podman(tmp_path, runroot, "image", "inspect", ref)
    assert inspected.returncode == 0, inspected.stderr
    [found] = json.loads(inspected.stdout)
    assert found["Digest"] == img.digest
    assert f"{live_server.host}/{repo}@{img.digest}" in found["RepoDigests"]
    assert found["Labels"] == {"label": "podman"}
    assert (found["Architecture"], found["Os"]) == ("amd64", "linux")

    listed = podman(tmp_path, runroot, "images", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [(i["Id"], i["Digest"]) for i in json.loads(listed.stdout)] == [(config_id, img.digest)]

    denied = podman(tmp_path, runroot, "pull", "--tls-verify=false", "--creds", "ci:wharf_api_wrong", ref)
    assert denied.returncode != 0
    assert "unauthorized" in denied.stderr.lower(), denied.stderr
