"""Every way a proxy can fail maps to the documented errno, fast, with a
stderr line naming the proxy.

The program under socksify is scripts/probe.py: a plain blocking
socket.connect() that prints the errno it got as JSON.
"""

import errno
import re

import pytest

from conftest import PYTHON, PROBE, dead_port

HANDSHAKE = ["--handshake-timeout", "1", "--connect-timeout", "2"]
MAX_ELAPSED = 5.0

# (mode, scheme, expected errno name)
CASES = [
    ("reply=1", "socks5", "ECONNREFUSED"),
    ("reply=2", "socks5", "EACCES"),
    ("reply=3", "socks5", "ENETUNREACH"),
    ("reply=4", "socks5", "EHOSTUNREACH"),
    ("reply=5", "socks5", "ECONNREFUSED"),
    ("reply=6", "socks5", "ETIMEDOUT"),
    ("reply=7", "socks5", "EOPNOTSUPP"),
    ("reply=8", "socks5", "EAFNOSUPPORT"),
    ("reply=91", "socks4", "ECONNREFUSED"),
    ("reply=92", "socks4", "ECONNREFUSED"),
    ("reply=93", "socks4", "EACCES"),
    ("noacceptable", "socks5", "EACCES"),
    ("silent", "socks5", "ETIMEDOUT"),
    ("silent", "socks4", "ETIMEDOUT"),
    ("slow=3", "socks5", "ETIMEDOUT"),
    ("slow=3", "socks4", "ETIMEDOUT"),
    ("garbage", "socks5", "EPROTO"),
    ("garbage", "socks4", "EPROTO"),
    ("badversion", "socks5", "EPROTO"),
    ("badversion", "socks4", "EPROTO"),
    # a length byte of 255 is legal (RFC 1928); the proxy then closes before the
    # 262 bytes arrive, so a client may report it as a bad reply or as a reset
    ("oversized", "socks5", ("EPROTO", "ECONNRESET")),
    ("badatyp", "socks5", "EPROTO"),
    ("badreply", "socks5", "EPROTO"),
    ("truncated", "socks5", "ECONNRESET"),
    ("truncated", "socks4", "ECONNRESET"),
    ("close", "socks5", "ECONNRESET"),
    ("close", "socks4", "ECONNRESET"),
]


def errno_names(n):
    """All names for an errno number (EOPNOTSUPP == ENOTSUP on Linux)."""
    return {name for name in dir(errno) if name.startswith("E") and getattr(errno, name) == n}


def check_failure(r, expected, proxy_address):
    assert r.returncode == 1, r
    res = r.json()
    assert res["ok"] is False, r
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    by_number = {getattr(errno, name): name for name in allowed}
    assert res["errno"] in by_number, "expected %s, got %s\n%s" % (
        "/".join(allowed), res.get("errname"), r)
    want = res["errno"]
    expected = by_number[want]
    assert r.elapsed < MAX_ELAPSED, r
    assert "failed" in r.stderr, r
    assert proxy_address in r.stderr, r
    assert errno_names(want) & set(re.findall(r"\bE[A-Z0-9]+\b", r.stderr)), \
        "errno name %s missing on stderr\n%s" % (expected, r)


@pytest.mark.parametrize("mode,scheme,expected", CASES,
                         ids=["%s-%s" % (m, s) for m, s, _ in CASES])
def test_fault_mode(socksify, socks_server, target, mode, scheme, expected):
    srv = socks_server(mode=mode)
    r = socksify.probe("connect", target.host, target.port, srv.url(scheme=scheme),
                       options=HANDSHAKE, timeout=20)
    check_failure(r, expected, srv.address)
    assert srv.proc.alive()


def test_wrong_password(socksify, socks_server, target):
    srv = socks_server(user="bob", password="right")
    r = socksify.probe("connect", target.host, target.port, srv.url(password="wrong"),
                       options=HANDSHAKE)
    check_failure(r, "EACCES", srv.address)
    assert [e["result"] for e in srv.entries()] == ["auth_failed"]


def test_missing_credentials(socksify, socks_server, target):
    """The server insists on user/pass, the URL has none: no acceptable method."""
    srv = socks_server(user="bob", password="right")
    url = "socks5://%s" % srv.address
    r = socksify.probe("connect", target.host, target.port, url, options=HANDSHAKE)
    check_failure(r, "EACCES", srv.address)


def test_microsocks_wrong_password(socksify, microsocks_auth, target):
    r = socksify.probe("connect", target.host, target.port,
                       microsocks_auth.url(password="nope"), options=HANDSHAKE)
    check_failure(r, "EACCES", microsocks_auth.address)


def test_target_refused_through_proxy(socksify, socks_server):
    """The proxy itself cannot reach the target: SOCKS5 reply 5 -> ECONNREFUSED."""
    srv = socks_server()
    port = dead_port()
    r = socksify.probe("connect", "127.0.0.1", port, srv.url(), options=HANDSHAKE)
    check_failure(r, "ECONNREFUSED", srv.address)
    e = srv.entries()
    assert len(e) == 1 and e[0]["result"].startswith("connect_failed"), e


@pytest.mark.parametrize("scheme", ["socks5", "socks4"])
def test_proxy_down(socksify, target, scheme):
    port = dead_port()
    proxy = "%s://127.0.0.1:%d" % (scheme, port)
    r = socksify.probe("connect", target.host, target.port, proxy, options=HANDSHAKE)
    check_failure(r, "ECONNREFUSED", "127.0.0.1:%d" % port)


def test_proxy_down_ipv6(socksify, target6):
    port = dead_port("::1")
    r = socksify.probe("connect", "::1", target6.port, "socks5://[::1]:%d" % port,
                       options=HANDSHAKE)
    check_failure(r, "ECONNREFUSED", "%d" % port)


def test_slow_but_within_timeout_succeeds(socksify, socks_server, target):
    srv = socks_server(mode="slow=0.2")
    r = socksify.probe("connect", target.host, target.port, srv.url(),
                       options=["--handshake-timeout", "3"])
    assert r.returncode == 0, r
    assert r.json()["peer"] == "peer 127.0.0.4", r


def test_quiet_suppresses_failure_line(socksify, target):
    port = dead_port()
    r = socksify.probe("connect", target.host, target.port, "socks5://127.0.0.1:%d" % port,
                       quiet=True)
    assert r.returncode == 1, r
    assert r.json()["errno"] == errno.ECONNREFUSED, r
    assert "socksify" not in r.stderr, r


def test_asyncio_sees_mapped_errno(socksify, socks_server, target):
    srv = socks_server(mode="reply=2")
    r = socksify.probe("asyncio", target.host, target.port, srv.url(), options=HANDSHAKE)
    assert r.returncode == 1, r
    assert r.json()["errno"] == errno.EACCES, r
    assert r.elapsed < MAX_ELAPSED, r


def test_silent_proxy_asyncio_times_out(socksify, socks_server, target):
    srv = socks_server(mode="silent")
    r = socksify.probe("asyncio", target.host, target.port, srv.url(), options=HANDSHAKE)
    assert r.returncode == 1, r
    assert r.json()["errno"] == errno.ETIMEDOUT, r
    assert r.elapsed < MAX_ELAPSED, r


def test_failure_then_success_in_one_process(socksify, socks_server, target):
    """A failed proxied connect does not poison later ones (fresh socket each time)."""
    good = socks_server()
    code = (
        "import socket, errno, sys\n"
        "s = socket.socket()\n"
        "rc = s.connect_ex(('127.0.0.1', %d))\n"
        "print(errno.errorcode.get(rc, rc))\n"
        "s.close()\n"
        "s = socket.create_connection(('127.0.0.1', %d), timeout=10)\n"
        "s.sendall(b'z\\n')\n"
        "print(s.recv(100).decode().split('\\n')[0])\n"
        % (dead_port(), target.port))
    # a dead destination is refused by the proxy, the next connect works
    r = socksify.run([PYTHON, "-c", code], proxy=good.url(), options=HANDSHAKE)
    assert r.returncode == 0, r
    out = r.stdout.split()
    assert out[0] == "ECONNREFUSED", r
    assert "127.0.0.4" in r.stdout, r
