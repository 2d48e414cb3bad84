"""subnet_calc for IPv4 and IPv6. Point-to-point prefixes follow their RFCs: an IPv4 /31
has two usable hosts (RFC 3021) and an IPv6 /127 two (RFC 6164); IPv6 has no broadcast."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field

from services.tools.registry import Result, Tool, ToolArgs, ToolError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SubnetArgs(ToolArgs):
    cidr: str = Field(
        min_length=2,
        max_length=100,
        description="Address with prefix length or netmask: '192.168.1.10/24', "
        "'10.0.0.0/255.255.0.0', '2001:db8::/64'. Host bits are allowed and ignored.",
    )


def _host_range(net: Network) -> tuple[Any, Any, int]:
    """First and last usable address and the usable count."""
    size = net.num_addresses
    if size <= 2:  # /31 /32 and /127 /128: every address is usable
        return net[0], net[-1], size
    if net.version == 4:
        return net[1], net[-2], size - 2
    # IPv6 reserves only the Subnet-Router anycast address (the network address itself).
    return net[1], net[-1], size - 1


def subnet_calc(args: SubnetArgs) -> Result:
    try:
        net = ipaddress.ip_network(args.cidr.strip(), strict=False)
    except ValueError as exc:
        raise ToolError(f"not an IPv4/IPv6 network: {exc}", "cidr") from None
    first, last, usable = _host_range(net)
    result: Result = {
        "version": net.version,
        "network": str(net.network_address),
        "prefix_length": net.prefixlen,
        "cidr": str(net),
        "netmask": str(net.netmask),
        "first_host": str(first),
        "last_host": str(last),
        "total_addresses": net.num_addresses,
        "usable_hosts": usable,
        "is_private": net.is_private,
    }
    if net.version == 4:
        result["broadcast"] = str(net.broadcast_address) if net.prefixlen < 31 else None
        result["wildcard_mask"] = str(net.hostmask)
    else:
        result["broadcast"] = None  # IPv6 has multicast instead of broadcast
    return result


TOOLS: tuple[Tool[Any], ...] = (
    Tool(
        "subnet_calc",
        "IPv4/IPv6 subnet facts from CIDR notation: network address, netmask, broadcast, "
        "first and last usable host, address and host counts.",
        SubnetArgs,
        subnet_calc,
        returns={
            "version": (int, ...),
            "network": (str, ...),
            "prefix_length": (int, ...),
            "cidr": (str, ...),
            "netmask": (str, ...),
            "first_host": (str, ...),
            "last_host": (str, ...),
            "total_addresses": (int, ...),
            "usable_hosts": (int, ...),
            "is_private": (bool, ...),
            "broadcast": (str | None, ...),
            "wildcard_mask": (str | None, None),
        },
        exact=("network", "netmask", "broadcast", "first_host", "last_host", "usable_hosts"),
    ),
)
