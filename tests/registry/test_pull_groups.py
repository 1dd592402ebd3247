"""The memory of which platform manifests belong to a pull stays bounded whatever an index lists."""

from __future__ import annotations

import json
import sys

from registry.pull_groups import CHILDREN_KEPT, PullGroups


def _index(digests: list[str]) -> bytes:
    entries = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": 1} for d in digests]
    return json.dumps({"schemaVersion": 2, "manifests": entries}).encode()


def _digest(n: int) -> str:
    return f"sha256:{n:064x}"


def test_a_child_listed_many_times_is_kept_once():
    """A 4 MiB index can list one digest 40,000 times: kept as one child, not 40,000 strings."""
    groups = PullGroups(clock=lambda: 0.0)
    groups.index_fetched("token:1", "acme/app", "sha256:" + "f" * 64, _index([_digest(1)] * 40_000))
    [children] = groups._children._data.values()
    assert children == (_digest(1),)
    assert groups.part_of_pull("token:1", "acme/app", _digest(1))
    assert sys.getsizeof(children) < 100


def test_an_index_listing_more_children_than_kept_keeps_the_first_ones():
    groups = PullGroups(clock=lambda: 0.0)
    listed = [_digest(n) for n in range(CHILDREN_KEPT + 50)]
    groups.index_fetched("token:1", "acme/app", "sha256:" + "e" * 64, _index(listed))
    assert len(groups._listed._data) == CHILDREN_KEPT
    assert groups.part_of_pull("token:1", "acme/app", listed[0])
    assert groups.part_of_pull("token:1", "acme/app", listed[CHILDREN_KEPT - 1])
    assert not groups.part_of_pull("token:1", "acme/app", listed[CHILDREN_KEPT])  # a pull of its own
    assert not groups.part_of_pull("token:2", "acme/app", listed[0])  # another caller's pull


def test_a_child_fetched_after_the_window_is_a_pull_of_its_own():
    now = [0.0]
    groups = PullGroups(clock=lambda: now[0])
    groups.index_fetched("token:1", "acme/app", "sha256:" + "d" * 64, _index([_digest(7)]))
    now[0] = 61.0
    assert not groups.part_of_pull("token:1", "acme/app", _digest(7))
