"""Known answers: subnet_calc for IPv4 and IPv6, including point-to-point prefixes."""

from __future__ import annotations

import pytest

from tests.unit.tools.helpers import call, fails


def test_ipv4_slash_24_from_a_host_address() -> None:
    result = call("subnet_calc", cidr="192.168.1.130/24")
    assert result["network"] == "192.168.1.0"
    assert result["netmask"] == "255.255.255.0"
    assert result["broadcast"] == "192.168.1.255"
    assert (result["first_host"], result["last_host"]) == ("192.168.1.1", "192.168.1.254")
    assert (result["total_addresses"], result["usable_hosts"]) == (256, 254)
    assert result["wildcard_mask"] == "0.0.0.255"


@pytest.mark.parametrize(
    ("cidr", "first", "last", "usable", "broadcast"),
    [
        ("10.0.0.4/30", "10.0.0.5", "10.0.0.6", 2, "10.0.0.7"),
        ("10.0.0.4/31", "10.0.0.4", "10.0.0.5", 2, None),  # RFC 3021
        ("10.0.0.4/32", "10.0.0.4", "10.0.0.4", 1, None),
        ("172.16.0.0/255.255.240.0", "172.16.0.1", "172.16.15.254", 4094, "172.16.15.255"),
    ],
)
def test_ipv4_edges(cidr: str, first: str, last: str, usable: int, broadcast: str | None) -> None:
    result = call("subnet_calc", cidr=cidr)
    assert (result["first_host"], result["last_host"]) == (first, last)
    assert (result["usable_hosts"], result["broadcast"]) == (usable, broadcast)


@pytest.mark.parametrize(
    ("cidr", "first", "last", "total", "usable"),
    [
        ("2001:db8::/64", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", 2**64, 2**64 - 1),
        ("2001:db8::/127", "2001:db8::", "2001:db8::1", 2, 2),  # RFC 6164
        ("2001:db8::5/128", "2001:db8::5", "2001:db8::5", 1, 1),
    ],
)
def test_ipv6(cidr: str, first: str, last: str, total: int, usable: int) -> None:
    result = call("subnet_calc", cidr=cidr)
    assert (result["version"], result["broadcast"]) == (6, None)
    assert (result["first_host"], result["last_host"]) == (first, last)
    assert (result["total_addresses"], result["usable_hosts"]) == (total, usable)


@pytest.mark.parametrize(
    "cidr", ["300.1.1.1/24", "10.0.0.0/33", "2001:db8::/129", "hello", "1.2.3/8"]
)
def test_invalid_networks(cidr: str) -> None:
    assert fails("subnet_calc", cidr=cidr).argument == "cidr"
