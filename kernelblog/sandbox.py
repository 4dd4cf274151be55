"""Run first in every kernel: Python's sockets refuse anything but loopback, so a snippet that
reaches for the network (keras.datasets, pretrained weights) fails at once instead of waiting."""

from __future__ import annotations

import ipaddress
import socket

MESSAGE = "network access is unavailable during builds"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkUnavailable(ConnectionRefusedError):
    """A connection to a host other than this machine, refused by the build."""


def _is_local(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in LOCAL_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(host, port=None) -> NetworkUnavailable:
    where = f"{host}:{port}" if port is not None else f"{host}"
    return NetworkUnavailable(f"{MESSAGE} (tried to reach {where})")


def install() -> None:
    """Patch the socket module: name lookups and connections refuse non-loopback hosts."""
    getaddrinfo, gethostbyname, gethostbyname_ex = (
        socket.getaddrinfo,
        socket.gethostbyname,
        socket.gethostbyname_ex,
    )
    connect, connect_ex, sendto = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.socket.sendto,
    )

    def guarded_getaddrinfo(host, port, *args, **kwargs):
        if not _is_local(host):
            raise _refuse(host, port)
        return getaddrinfo(host, port, *args, **kwargs)

    def check(sock, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise _refuse(*address[:2])

    def guarded_connect(self, address):
        check(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        check(self, address)
        return connect_ex(self, address)

    def guarded_sendto(self, data, *args):
        check(self, args[-1])
        return sendto(self, data, *args)

    def guarded_gethostbyname(host):
        if not _is_local(host):
            raise _refuse(host)
        return gethostbyname(host)

    def guarded_gethostbyname_ex(host):
        if not _is_local(host):
            raise _refuse(host)
        return gethostbyname_ex(host)

    socket.getaddrinfo = guarded_getaddrinfo
    socket.gethostbyname = guarded_gethostbyname
    socket.gethostbyname_ex = guarded_gethostbyname_ex
    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.socket.sendto = guarded_sendto
