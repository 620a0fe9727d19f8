"""Sanity checks of the test infrastructure itself (no socksify involved).

curl's own SOCKS support talks to each proxy, so a failure here means the
fixture/server is broken, not socksify.
"""

import socket
import struct

import pytest

from conftest import (MICROSOCKS_OUT, DANTED_OUT, PROJECT_OUT, curl_argv, run, url_host)


def curl_via(url, socks_opt, proxy_hostport, extra=()):
    return run(curl_argv(url, ["--%s" % socks_opt, proxy_hostport] + list(extra)))


def test_target_direct(target):
    r = run(curl_argv(target.url))
    assert r.returncode == 0, r
    assert r.stdout == "peer 127.0.0.1\n", r


def test_target_echo(target):
    with socket.create_connection((target.host, target.port), timeout=5) as s:
        s.sendall(b"abc\n")
        buf = b""
        while buf.count(b"\n") < 2:
            chunk = s.recv(100)
            if not chunk:
                break
            buf += chunk
    assert buf == b"peer 127.0.0.1\nabc\n"


def test_raw_target_speaks_first(raw_target):
    with socket.create_connection((raw_target.host, raw_target.port), timeout=5) as s:
        assert s.recv(100) == b"peer 127.0.0.1\n"


@pytest.mark.parametrize("opt,url_name", [
    ("socks5", "ip"), ("socks5-hostname", "localhost"),
    ("socks4", "ip"), ("socks4a", "localhost")])
def test_project_server_with_curl(socks_server, target, opt, url_name):
    srv = socks_server()
    host = "127.0.0.1" if url_name == "ip" else "localhost"
    url = "http://%s:%d/" % (host, target.port)
    r = curl_via(url, opt, srv.address, ["-4"])
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT, r
    e = srv.entries()
    assert len(e) == 1, e
    assert e[0]["version"] == (4 if opt.startswith("socks4") else 5)
    assert e[0]["result"] == "ok"
    assert e[0]["port"] == target.port
    expected_atyp = {"socks5": 1, "socks5-hostname": 3, "socks4": "4", "socks4a": "4a"}[opt]
    assert e[0]["atyp"] == expected_atyp
    assert e[0]["host"] == ("127.0.0.1" if url_name == "ip" else "localhost")


def test_project_server_auth_with_curl(socks_server, target):
    srv = socks_server(user="bob", password="pw")
    r = curl_via(target.url, "socks5", "bob:pw@" + srv.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT
    r = curl_via(target.url, "socks5", "bob:nope@" + srv.address)
    assert r.returncode != 0, r
    results = [e["result"] for e in srv.entries()]
    assert results == ["ok", "auth_failed"], results


def test_project_server_ipv6(socks_server, target6):
    srv = socks_server(host="::1")
    r = curl_via(target6.url, "socks5", srv.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer ::1\n"
    e = srv.entries()
    assert e[0]["atyp"] == 4 and e[0]["host"] == "::1", e


@pytest.mark.parametrize("mode", ["reply=2", "silent", "close", "garbage", "badversion",
                                  "truncated", "noacceptable", "oversized",
                                  "badatyp", "badreply"])
def test_project_server_fault_modes_fail_curl(socks_server, target, mode):
    srv = socks_server(mode=mode)
    r = run(curl_argv(target.url, ["--socks5", srv.address, "--connect-timeout", "2"]),
            timeout=15)
    assert r.returncode != 0, r
    assert srv.proc.alive(), "server died in mode %s: %s" % (mode, srv.proc.stderr_text())


def test_project_server_survives_junk(socks_server):
    srv = socks_server()
    for junk in (b"", b"\x05", b"\x05\x01", b"\x05\x01\x00\x05\x09\x00\x07",
                 b"\x04\x01\x00", b"\xff" * 100, b"GET / HTTP/1.0\r\n\r\n",
                 b"\x05\x01\x00\x05\x01\x00\x03\xff"):
        with socket.create_connection((srv.host, srv.port), timeout=5) as s:
            s.settimeout(5)
            try:
                # The server may already have hung up (reset): that is a fine answer to junk.
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                while s.recv(100):
                    pass
            except OSError:
                pass
    # still works afterwards
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(b"\x05\x01\x00")
        assert s.recv(2) == b"\x05\x00"
    assert srv.proc.alive(), srv.proc.stderr_text()


def test_project_server_exits_on_sigterm(socks_server):
    srv = socks_server()
    srv.proc.proc.terminate()
    assert srv.proc.proc.wait(timeout=5) == 0
    assert "Traceback" not in srv.proc.stderr_text()


def test_microsocks_with_curl(microsocks, target):
    r = curl_via(target.url, "socks5", microsocks.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT


def test_microsocks_auth_with_curl(microsocks_auth, target):
    r = curl_via(target.url, "socks5", "alice:s3cret@" + microsocks_auth.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT


def test_danted_with_curl(danted, target):
    r = curl_via(target.url, "socks5", danted.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT
    r = curl_via(target.url, "socks4", danted.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT


def test_danted_ipv6_with_curl(danted, target, target6):
    if not danted.ipv6:
        pytest.skip("danted without IPv6")
    r = curl_via(target.url, "socks5", "[::1]:%d" % danted.port)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT
    r = curl_via(target6.url, "socks5", danted.address)
    assert r.returncode == 0, r
    assert r.stdout == "peer ::1\n"
