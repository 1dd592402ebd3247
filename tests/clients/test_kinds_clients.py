"""The commands a customer's portal shows, run as shown against a live server with the customer's token:
podman, skopeo and containerd's ctr pull an image; the oras SDK pushes and pulls a real packaged Helm
chart (Helm's media types) and an arbitrary artifact through the same endpoints.

Docker (no daemon here) and Helm (not installable here) are checked with `bash -n` in the portal tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.conftest import unique
from tests.conftest import require_tool
from tests.support.live_portal import customer, push, vendor_api
from tests.support.oci import HELM_CHART, HELM_CONFIG, chart_package, image
from tests.support.server import stop_process

pytestmark = pytest.mark.clients
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def containerd() -> Iterator[str]:
    """containerd as root with its own root, state and socket (no CRI), for `ctr` to pull through."""
    binary = require_tool("containerd")
    require_tool("ctr")
    base = Path(tempfile.mkdtemp(prefix="wctr-"))  # the socket path must stay short
    socket = base / "containerd.sock"
    (base / "config.toml").write_text(
        "version = 2\n"
        f'root = "{base / "root"}"\n'
        f'state = "{base / "state"}"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{socket}"\n'
    )
    log = open(base / "containerd.log", "wb")  # noqa: SIM115 - open while the daemon runs
    daemon = subprocess.Popen([binary, "--config", str(base / "config.toml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            assert daemon.poll() is None, (base / "containerd.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd did not start within 30 s"
            time.sleep(0.1)
        yield str(socket)
    finally:
        stop_process(daemon)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def shell(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a snippet as a person pasting it into bash would (failing on the first failed command)."""
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + command], capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )


def test_shown_image_commands_pull_with_podman_skopeo_and_ctr(live_server, containerd, tmp_path):
    repo = unique("shown")
    img = image("shown", layer_files={"etc/shown": b"pulled as shown\n"})
    push(live_server, repo, img, "1.2.0")
    with vendor_api(live_server) as api:
        person = customer(live_server, api, [{"repository": repo, "tags": ["1.*"]}])
    shown = person.commands(repo)
    person.portal.close()
    assert set(shown) == {"docker", "podman", "containerd", "kubernetes", "skopeo"}

    runroot = tempfile.mkdtemp(prefix="wp-")  # podman wants a short runroot
    (tmp_path / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path / "graph"}"\nrunroot = "{runroot}"\n'
    )
    (tmp_path / "containers.conf").write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    env = {
        "PATH": PATH,
        "HOME": str(tmp_path),
        "WHARF_TOKEN": person.token,
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),  # where podman and skopeo keep their logins
        "CONTAINERS_STORAGE_CONF": str(tmp_path / "storage.conf"),
        "CONTAINERS_CONF": str(tmp_path / "containers.conf"),
        "CONTAINERD_ADDRESS": containerd,  # what ctr's -a would say
        "CONTAINERD_SNAPSHOTTER": "native",  # what ctr's --snapshotter would say (no overlayfs here)
    }
    try:
        require_tool("podman")
        pulled = shell(shown["podman"], env, tmp_path)
        assert pulled.returncode == 0, pulled.stderr
        inspected = shell(f"podman image inspect {live_server.host}/{repo}:1.2.0", env, tmp_path)
        assert inspected.returncode == 0, inspected.stderr
        assert json.loads(inspected.stdout)[0]["Digest"] == img.digest

        require_tool("skopeo")
        copied = shell(shown["skopeo"], env, tmp_path)
        assert copied.returncode == 0, copied.stderr
        archives = list(tmp_path.glob("*-1.2.0.tar"))
        assert len(archives) == 1 and archives[0].stat().st_size > 0

        fetched = shell(shown["containerd"], env, tmp_path)
        assert fetched.returncode == 0, fetched.stderr + fetched.stdout
        listed = shell("ctr images ls", env, tmp_path)
        assert f"{live_server.host}/{repo}:1.2.0" in listed.stdout and img.digest in listed.stdout

        bad = {**env, "WHARF_TOKEN": "wharf_pull_not-a-token"}
        refused = shell(shown["containerd"], bad, tmp_path)
        assert refused.returncode != 0
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


@pytest.fixture
def oras_registry():
    oras_provider = pytest.importorskip("oras.provider")
    made = []

    def connect(host: str, user: str, secret: str):
        # Basic auth on every request: oras-py keeps the first bearer token it gets (a pull-only one when
        # its first request is a blob check) and would present it for the push that follows.
        registry = oras_provider.Registry(hostname=host, insecure=True, auth_backend="basic")
        registry.auth.set_basic_auth(user, secret)
        made.append(registry)
        return registry

    yield connect
    for registry in made:
        registry.session.close()
        registry.auth.session.close()


def test_oras_pushes_and_pulls_a_packaged_chart_and_an_artifact(live_server, oras_registry, tmp_path, monkeypatch):
    host = live_server.host
    charts, docs = unique("charts/web"), unique("docs")
    chart = {"apiVersion": "v2", "name": "web", "version": "0.3.0", "appVersion": "5.2", "description": "Web tier"}
    package = chart_package(chart)
    work = tmp_path / "push"
    work.mkdir()
    (work / "web-0.3.0.tgz").write_bytes(package)
    (work / "config.json").write_text(json.dumps(chart))
    (work / "manual.txt").write_text("How to run the web tier.\n")
    monkeypatch.chdir(work)  # oras-py pushes files named relative to the working directory
    vendor = oras_registry(host, "ci", live_server.token)
    vendor.push(
        target=f"{host}/{charts}:0.3.0",
        files=[f"web-0.3.0.tgz:{HELM_CHART}"],
        manifest_config=f"config.json:{HELM_CONFIG}",
    )
    vendor.push(target=f"{host}/{docs}:2026.1", files=["manual.txt:text/plain"])

    with vendor_api(live_server) as api:
        [tag] = api.get(f"/repositories/{charts}/tags").json()["items"]
        assert tag["kind"] == "helm-chart"
        assert tag["chart"] == {
            "name": "web",
            "version": "0.3.0",
            "app_version": "5.2",
            "description": "Web tier",
            "icon": None,
        }
        [doc] = api.get(f"/repositories/{docs}/tags").json()["items"]
        assert doc["kind"] == "artifact"
        person = customer(
            live_server, api, [{"repository": charts, "tags": ["*"]}, {"repository": docs, "tags": ["*"]}]
        )

    shown = person.commands(charts)
    assert set(shown) == {"helm"}  # helm only for a chart (its four commands share the tool)
    assert f"helm install web oci://{host}/{charts} --version 0.3.0 --plain-http" in person.page()
    assert set(person.commands(docs)) == {"oras"}
    person.portal.close()

    out = tmp_path / "pulled"
    customer_client = oras_registry(host, "token", person.token)
    files = customer_client.pull(target=f"{host}/{charts}:0.3.0", outdir=str(out))
    assert [Path(f).name for f in files] == ["web-0.3.0.tgz"]
    assert (out / "web-0.3.0.tgz").read_bytes() == package
    files = customer_client.pull(target=f"{host}/{docs}:2026.1", outdir=str(out))
    assert (out / "manual.txt").read_text() == "How to run the web tier.\n"
    assert os.path.getsize(out / "manual.txt") > 0
