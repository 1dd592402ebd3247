"""A serving process drops what its caches hold once another process deletes a tag (ChangeWatcher);
moved tags are covered end to end by tests/scenarios/test_two_nodes.py."""

from __future__ import annotations

from registry.changes import ChangeWatcher
from registry.metadata import Metadata
from tests.registry.helpers import push_image
from tests.support.oci import image


async def test_a_tag_deleted_by_another_process_stops_being_served_after_a_poll(wharf):
    repo, img = wharf.repo("watched"), image("watched")
    await push_image(wharf, repo, img, "1.0.0")
    metadata = wharf.app.state.registry.metadata
    watcher = ChangeWatcher(metadata)
    await watcher.poll()  # the first look only sets the starting point
    url = f"/v2/{repo}/manifests/1.0.0"
    assert (await wharf.client.get(url, headers=wharf.auth)).status_code == 200  # cached now

    other_process = Metadata(metadata.engine)  # its own caches, as another node or a CLI would have
    assert await other_process.delete_tag(repo, "1.0.0")
    assert (await wharf.client.get(url, headers=wharf.auth)).status_code == 200  # this process still remembers

    await watcher.poll()
    assert (await wharf.client.get(url, headers=wharf.auth)).status_code == 404
