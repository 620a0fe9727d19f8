"""Real programs (curl, python3) socksified through real SOCKS servers.

Every test proves the traffic went through the proxy: the target answers
"peer <source-ip>" and each proxy binds its outgoing connections to its own
loopback address (microsocks 127.0.0.2, danted 127.0.0.3, project server
127.0.0.4), or the project server's request log shows the request.
"""

import pytest

from conftest import (DANTED_OUT, MICROSOCKS_OUT, PROJECT_OUT, PYTHON, PROBE, assert_via)


def ok_entries(srv):
    return [e for e in srv.entries() if e.get("result") == "ok"]


# ---------------------------------------------------------------- curl -----

def test_curl_microsocks(socksify, microsocks, target):
    r = socksify.curl(target.url, microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_curl_microsocks_socks5h_scheme(socksify, microsocks, target):
    r = socksify.curl(target.url, microsocks.url(scheme="socks5h"))
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_curl_microsocks_userpass(socksify, microsocks_auth, target):
    r = socksify.curl(target.url, microsocks_auth.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_curl_microsocks_wrong_password(socksify, microsocks_auth, target):
    r = socksify.curl(target.url, microsocks_auth.url(password="wrong"))
    assert r.returncode != 0, r
    assert "failed" in r.stderr, r
    assert microsocks_auth.address in r.stderr, r
    assert "peer" not in r.stdout, r


def test_curl_danted_socks5(socksify, danted, target):
    r = socksify.curl(target.url, danted.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT, r


def test_curl_danted_socks4(socksify, danted, target):
    r = socksify.curl(target.url, danted.url(scheme="socks4"))
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT, r


def test_curl_danted_listening_on_ipv6(socksify, danted, target):
    if not danted.ipv6:
        pytest.skip("danted could not listen on ::1")
    r = socksify.curl(target.url, danted.url6())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT, r


def test_curl_danted_ipv6_target(socksify, danted, target6):
    if not danted.ipv6:
        pytest.skip("danted without an IPv6 external address")
    r = socksify.curl(target6.url, danted.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer ::1\n", r
    # danted logs "... -> ::1.<srcport> ::1.<targetport>"
    assert "::1.%d" % target6.port in danted.log_text(), danted.log_text()


@pytest.mark.parametrize("scheme,version", [("socks5", 5), ("socks5h", 5), ("socks4", 4)])
def test_curl_project_server(socksify, socks_server, target, scheme, version):
    srv = socks_server()
    r = socksify.curl(target.url, srv.url(scheme=scheme))
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT, r
    e = ok_entries(srv)
    assert len(e) == 1, srv.entries()
    assert e[0]["version"] == version
    assert e[0]["cmd"] == 1
    assert e[0]["host"] == "127.0.0.1"
    assert e[0]["port"] == target.port


def test_curl_project_server_socks4a(socksify, socks_server, target):
    # curl resolves "localhost" itself, so socksify only sees an address; the
    # point is that the socks4a scheme works end to end.
    srv = socks_server()
    url = "http://localhost:%d/" % target.port
    r = socksify.curl(url, srv.url(scheme="socks4a"))
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT, r
    e = ok_entries(srv)
    assert e, srv.entries()
    assert all(x["version"] == 4 for x in e), e
    assert e[-1]["port"] == target.port


def test_curl_project_server_userpass_plain(socksify, socks_server, target):
    srv = socks_server(user="bob", password="hunter2")
    r = socksify.curl(target.url, srv.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT, r
    assert [e["user"] for e in ok_entries(srv)] == ["bob"]


def test_curl_project_server_wrong_password(socksify, socks_server, target):
    srv = socks_server(user="bob", password="hunter2")
    r = socksify.curl(target.url, srv.url(password="hunter3"))
    assert r.returncode != 0, r
    assert "failed" in r.stderr, r
    assert srv.address in r.stderr, r
    assert [e["result"] for e in srv.entries()] == ["auth_failed"]


def test_verbose_line(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.curl(target.url, srv.url(), verbose=True)
    assert r.returncode == 0, r
    lines = [l for l in r.stderr.splitlines() if l.startswith("socksify")]
    assert lines, r
    # curl's socket is non-blocking: "…: in progress" when connect returns, "… ok 2ms" when
    # its wait finds the tunnel up.
    line = [l for l in lines if "127.0.0.1:%d" % target.port in l and " ok" in l]
    assert line, r
    assert srv.address in line[0], r
    assert "failed" not in r.stderr, r


def test_not_verbose_is_silent_on_success(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.curl(target.url, srv.url())
    assert r.returncode == 0, r
    assert r.stderr == "", r


# ---------------------------------------------------------------- IPv6 -----

def test_curl_ipv6_target_via_ipv4_proxy(socksify, socks_server, target6):
    srv = socks_server()
    r = socksify.curl(target6.url, srv.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer ::1\n", r
    e = ok_entries(srv)
    assert len(e) == 1, srv.entries()
    assert e[0]["atyp"] == 4 and e[0]["host"] == "::1" and e[0]["port"] == target6.port


def test_curl_ipv6_target_via_ipv6_proxy(socksify, socks_server, target6):
    srv = socks_server(host="::1")
    assert srv.url().startswith("socks5://[::1]:")
    r = socksify.curl(target6.url, srv.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer ::1\n", r
    e = ok_entries(srv)
    assert len(e) == 1 and e[0]["atyp"] == 4 and e[0]["host"] == "::1", srv.entries()


def test_curl_ipv4_target_via_ipv6_proxy(socksify, socks_server, target):
    srv = socks_server(host="::1")
    r = socksify.curl(target.url, srv.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT, r
    e = ok_entries(srv)
    assert len(e) == 1 and e[0]["atyp"] == 1, srv.entries()


def test_curl_ipv6_target_via_microsocks_on_ipv6(socksify, microsocks6, target6):
    r = socksify.curl(target6.url, microsocks6.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer ::1\n", r


def test_ipv6_target_socks4_fails_cleanly(socksify, socks_server, target6):
    """SOCKS4 cannot carry an IPv6 address: connect must fail, not hang or go direct."""
    srv = socks_server()
    r = socksify.probe("connect", "::1", target6.port, srv.url(scheme="socks4"), timeout=20)
    assert r.returncode == 1, r
    res = r.json()
    assert res["ok"] is False, r
    assert ok_entries(srv) == []


# -------------------------------------------------------------- python -----

@pytest.mark.parametrize("sub", ["connect", "create", "asyncio"])
def test_python_via_microsocks(socksify, microsocks, target, sub):
    r = socksify.probe(sub, target.host, target.port, microsocks.url())
    assert r.returncode == 0, r
    res = r.json()
    assert res["ok"], r
    assert res["peer"] == "peer %s" % MICROSOCKS_OUT, r
    assert res["echo"] == "hello", r
    # getpeername() reports the target, not the proxy
    assert res["peername"] == ["127.0.0.1", target.port], r


@pytest.mark.parametrize("sub", ["connect", "create", "asyncio"])
def test_python_via_project_server(socksify, socks_server, target, sub):
    srv = socks_server()
    r = socksify.probe(sub, target.host, target.port, srv.url())
    assert r.returncode == 0, r
    res = r.json()
    assert res["peer"] == "peer %s" % PROJECT_OUT, r
    assert res["echo"] == "hello", r
    assert res["peername"] == ["127.0.0.1", target.port], r
    if sub == "asyncio":
        assert res["nonblocking"] is True, r
    assert len(ok_entries(srv)) == 1, srv.entries()


@pytest.mark.parametrize("sub", ["connect", "asyncio"])
def test_python_ipv6_target(socksify, socks_server, target6, sub):
    srv = socks_server()
    r = socksify.probe(sub, "::1", target6.port, srv.url())
    assert r.returncode == 0, r
    res = r.json()
    assert res["peer"] == "peer ::1", r
    assert res["peername"][0] == "::1" and res["peername"][1] == target6.port, r
    e = ok_entries(srv)
    assert len(e) == 1 and e[0]["atyp"] == 4, srv.entries()


def test_python_via_danted(socksify, danted, target):
    r = socksify.probe("create", target.host, target.port, danted.url())
    assert r.returncode == 0, r
    assert r.json()["peer"] == "peer %s" % DANTED_OUT, r


def test_python_many_sequential_connections(socksify, microsocks, target):
    """Several connections in one process, through one proxy."""
    code = (
        "import socket\n"
        "peers = set()\n"
        "for i in range(20):\n"
        "    s = socket.create_connection(('127.0.0.1', %d), timeout=10)\n"
        "    s.sendall(b'x\\n')\n"
        "    buf = b''\n"
        "    while not buf.endswith(b'x\\n'):\n"
        "        c = s.recv(100)\n"
        "        if not c: break\n"
        "        buf += c\n"
        "    peers.add(buf.split(b'\\n')[0].decode())\n"
        "    s.close()\n"
        "print(sorted(peers))\n" % target.port)
    r = socksify.run([PYTHON, "-c", code], proxy=microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout.strip() == "['peer %s']" % MICROSOCKS_OUT, r
