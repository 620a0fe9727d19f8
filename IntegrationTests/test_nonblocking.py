"""Non-blocking connect semantics under socksify (python client).

setblocking(False); connect_ex -> 0 or EINPROGRESS; select() for
writability; SO_ERROR == 0; exchange data; O_NONBLOCK still set.
"""

import errno

import pytest

from conftest import MICROSOCKS_OUT, PROJECT_OUT, dead_port

HANDSHAKE = ["--handshake-timeout", "1", "--connect-timeout", "2"]


def check_success(r, expected_peer, host, port):
    assert r.returncode == 0, r
    res = r.json()
    assert res["ok"], r
    assert res["connect_ex"] in (0, errno.EINPROGRESS), r
    assert res["so_error"] == 0, r
    assert res["nonblocking_after_connect"] is True, r
    assert res["nonblocking_after_io"] is True, r
    assert res["peername"][0] == host and res["peername"][1] == port, r
    assert res["peer"] == "peer %s" % expected_peer, r
    assert res["echo"] == "hello", r


def test_nonblocking_via_microsocks(socksify, microsocks, target):
    r = socksify.probe("nonblocking", target.host, target.port, microsocks.url())
    check_success(r, MICROSOCKS_OUT, "127.0.0.1", target.port)


def test_nonblocking_via_project_server(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.probe("nonblocking", target.host, target.port, srv.url())
    check_success(r, PROJECT_OUT, "127.0.0.1", target.port)
    assert [e["result"] for e in srv.entries()] == ["ok"]


def test_nonblocking_socks4(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.probe("nonblocking", target.host, target.port, srv.url(scheme="socks4"))
    check_success(r, PROJECT_OUT, "127.0.0.1", target.port)
    assert [e["version"] for e in srv.entries()] == [4]


def test_nonblocking_slow_proxy(socksify, socks_server, target):
    """Each handshake reply is delayed: the program must still see a clean connect."""
    srv = socks_server(mode="slow=0.3")
    r = socksify.probe("nonblocking", target.host, target.port, srv.url(),
                       options=["--handshake-timeout", "5"])
    check_success(r, PROJECT_OUT, "127.0.0.1", target.port)


def test_nonblocking_ipv6_target(socksify, socks_server, target6):
    srv = socks_server(host="::1")
    r = socksify.probe("nonblocking", "::1", target6.port, srv.url())
    check_success(r, "::1", "::1", target6.port)
    e = srv.entries()
    assert len(e) == 1 and e[0]["atyp"] == 4, e


def failure_errno(r):
    assert r.returncode == 1, r
    res = r.json()
    assert res["ok"] is False, r
    # either connect_ex reported it directly, or SO_ERROR after select()
    assert res.get("stage") in ("connect_ex", "so_error"), r
    if res["stage"] == "so_error":
        assert res["connect_ex"] == errno.EINPROGRESS, r
    return res["errno"]


@pytest.mark.parametrize("mode,expected", [
    ("reply=2", "EACCES"),
    ("reply=4", "EHOSTUNREACH"),
    ("silent", "ETIMEDOUT"),
    ("garbage", "EPROTO"),
    ("truncated", "ECONNRESET"),
])
def test_nonblocking_failure(socksify, socks_server, target, mode, expected):
    srv = socks_server(mode=mode)
    r = socksify.probe("nonblocking", target.host, target.port, srv.url(), options=HANDSHAKE)
    assert failure_errno(r) == getattr(errno, expected), r
    assert r.elapsed < 5.0, r
    assert "failed" in r.stderr and srv.address in r.stderr, r


def test_nonblocking_proxy_down(socksify, target):
    port = dead_port()
    r = socksify.probe("nonblocking", target.host, target.port,
                       "socks5://127.0.0.1:%d" % port, options=HANDSHAKE)
    assert failure_errno(r) == errno.ECONNREFUSED, r
    assert r.elapsed < 5.0, r
