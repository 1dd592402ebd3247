"""Which address is recorded for a request: X-Forwarded-For counts only when the peer is a trusted proxy."""

from __future__ import annotations

from ipaddress import ip_network
from types import SimpleNamespace

from litestar.datastructures import Headers

from registry.http.common import client_ip

PROXIES = (ip_network("10.0.0.0/8"), ip_network("::1/128"))


def request(peer: str, *forwarded: str) -> SimpleNamespace:
    headers = Headers([(b"x-forwarded-for", value.encode()) for value in forwarded])
    return SimpleNamespace(client=SimpleNamespace(host=peer), headers=headers)


def test_untrusted_peers_cannot_choose_the_address():
    assert client_ip(request("203.0.113.9", "1.2.3.4"), PROXIES) == "203.0.113.9"
    assert client_ip(request("203.0.113.9"), ()) == "203.0.113.9"


def test_trusted_proxies_are_skipped_from_the_right():
    assert client_ip(request("10.1.1.1", "198.51.100.7"), PROXIES) == "198.51.100.7"
    # a client's own forged hop sits left of what the proxy appended, and is ignored
    assert client_ip(request("10.1.1.1", "6.6.6.6, 198.51.100.7, 10.2.2.2"), PROXIES) == "198.51.100.7"
    assert client_ip(request("::1", "6.6.6.6", "198.51.100.7"), PROXIES) == "198.51.100.7"


def test_only_proxies_in_the_chain_falls_back_to_the_last_hop():
    assert client_ip(request("10.1.1.1", "10.2.2.2"), PROXIES) == "10.2.2.2"
    assert client_ip(request("10.1.1.1", "not-an-ip"), PROXIES) == "not-an-ip"
