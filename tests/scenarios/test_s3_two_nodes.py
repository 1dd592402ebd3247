"""Two app processes on one database and one S3 bucket: an upload started on one node finishes on the other."""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx

from tests.support.server import start_server

MiB = 1024 * 1024


def test_an_upload_moves_between_nodes_and_either_node_serves_the_blob(s3_server, tmp_path):
    data_dir = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}"
    env = s3_server.env(f"nodes-{uuid.uuid4().hex[:8]}/")
    node_a = start_server(data_dir, url, extra_env=env)
    node_b = start_server(data_dir, url, vendor=f"node{uuid.uuid4().hex[:4]}", extra_env=env)
    first, second = os.urandom(9 * MiB), os.urandom(3 * MiB)  # more than one 8 MiB part, then a tail
    digest = "sha256:" + hashlib.sha256(first + second).hexdigest()
    repo = f"acme/nodes-{uuid.uuid4().hex[:8]}"
    auth = ("ci", node_a.token)
    try:
        with httpx.Client(auth=auth, timeout=120) as client:
            r = client.post(f"{node_a.url}/v2/{repo}/blobs/uploads/")
            location = r.headers["location"]
            r = client.patch(f"{node_a.url}{location}", content=first, headers={"Content-Range": f"0-{len(first) - 1}"})
            assert r.status_code == 202 and r.headers["range"] == f"0-{len(first) - 1}"
            # node B has neither the hasher nor any bytes in memory: it resumes from what S3 and the database hold
            end = len(first) + len(second) - 1
            r = client.patch(
                f"{node_b.url}{location}", content=second, headers={"Content-Range": f"{len(first)}-{end}"}
            )
            assert r.status_code == 202 and r.headers["range"] == f"0-{end}"
            r = client.put(f"{node_b.url}{location}", params={"digest": digest})
            assert r.status_code == 201, r.text
            for node in (node_a, node_b):
                r = client.get(f"{node.url}/v2/{repo}/blobs/{digest}")
                assert r.status_code == 307
                assert httpx.get(r.headers["location"], timeout=120).content == first + second
    finally:
        node_b.stop()
        node_a.stop()
