"""Traffic socksify must leave alone: loopback (without --proxy-loopback),
UDP, AF_UNIX."""

import socket
import threading

import pytest

from conftest import PYTHON, PROBE, TargetServer, curl_argv


class UdpEcho:
    """A UDP echo server in a thread of the test process (loopback only)."""

    def __init__(self, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop_flag.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(b"echo:" + data, addr)
            except OSError:
                pass

    def close(self):
        self.stop_flag.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def udp_echo():
    servers = []

    def make(host="127.0.0.1"):
        s = UdpEcho(host)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_loopback_direct_without_flag_curl(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.curl(target.url, srv.url(), loopback=False, verbose=True)
    assert r.returncode == 0, r
    assert r.stdout == "peer 127.0.0.1\n", r
    assert srv.entries() == [], srv.entries()


def test_loopback_direct_without_flag_python(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.probe("connect", target.host, target.port, srv.url(), loopback=False)
    assert r.returncode == 0, r
    assert r.json()["peer"] == "peer 127.0.0.1", r
    assert srv.entries() == []


def test_loopback_direct_other_127_address(socksify, socks_server, log_dir):
    """All of 127.0.0.0/8 is loopback, not just 127.0.0.1."""
    t = TargetServer(log_dir, "127.0.0.5")
    try:
        srv = socks_server()
        r = socksify.probe("connect", "127.0.0.5", t.port, srv.url(), loopback=False)
        assert r.returncode == 0, r
        assert r.json()["peer"] == "peer 127.0.0.1", r
        assert srv.entries() == []
        # and with --proxy-loopback it is proxied
        r = socksify.probe("connect", "127.0.0.5", t.port, srv.url(), loopback=True)
        assert r.returncode == 0, r
        assert r.json()["peer"] == "peer 127.0.0.4", r
        assert len(srv.entries()) == 1
    finally:
        t.stop()


def test_loopback_ipv6_direct_without_flag(socksify, socks_server, target6):
    srv = socks_server()
    r = socksify.probe("connect", "::1", target6.port, srv.url(), loopback=False)
    assert r.returncode == 0, r
    assert r.json()["peer"] == "peer ::1", r
    assert srv.entries() == []


def test_loopback_env_variable(socksify_lib, socks_server, target):
    """LD_PRELOAD without the launcher: SOCKSIFY_PROXY_LOOPBACK=1 is the switch."""
    from conftest import Socksify
    srv = socks_server()
    s = Socksify()
    r = s.preload(curl_argv(target.url), srv.url(), loopback=False)
    assert r.returncode == 0, r
    assert r.stdout == "peer 127.0.0.1\n", r
    assert srv.entries() == []
    r = s.preload(curl_argv(target.url), srv.url(), loopback=True)
    assert r.returncode == 0, r
    assert r.stdout == "peer 127.0.0.4\n", r
    assert len(srv.entries()) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_udp_to_loopback_goes_direct(socksify, socks_server, udp_echo, host):
    if host == "::1":
        try:
            u = udp_echo(host)
        except OSError:
            pytest.skip("no IPv6 loopback")
    else:
        u = udp_echo(host)
    srv = socks_server()
    # Without --proxy-loopback, UDP to loopback goes direct (UDP to other destinations goes
    # through the proxy: see test_udp.py).
    r = socksify.probe("udp", host, u.port, srv.url(), loopback=False)
    assert r.returncode == 0, r
    res = r.json()
    assert res["unconnected"] == "echo:ping-unconnected", r
    assert res["unconnected_from"][1] == u.port, r
    assert res["connected"] == "echo:ping-connected", r
    assert res["connected_peer"][0] == host and res["connected_peer"][1] == u.port, r
    assert srv.entries() == []
    assert "failed" not in r.stderr, r


def test_unix_sockets_untouched(socksify, socks_server):
    srv = socks_server()
    r = socksify.run([PYTHON, PROBE, "unix"], proxy=srv.url(), verbose=True)
    assert r.returncode == 0, r
    res = r.json()
    assert res["socketpair"] == "pair", r
    assert res["named"] == "named", r
    assert res["nonblocking_connect_ex"] == 0, r
    assert res["nonblocking"] == "nb", r
    assert srv.entries() == []
    assert "failed" not in r.stderr, r


def test_udp_and_tcp_in_one_process(socksify, socks_server, udp_echo, target, tmp_path):
    """A rule sends UDP direct while TCP in the same process goes through the proxy."""
    u = udp_echo("127.0.0.1")
    srv = socks_server()
    code = ("import socket\n"
            "d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "d.settimeout(10)\n"
            "d.sendto(b'x', ('127.0.0.1', %d))\n"
            "print(d.recvfrom(100)[0].decode())\n"
            "t = socket.create_connection(('127.0.0.1', %d), timeout=10)\n"
            "t.sendall(b'y\\n')\n"
            "print(t.recv(100).decode().split('\\n')[0])\n" % (u.port, target.port))
    config = tmp_path / "rules.conf"
    config.write_text("set proxy-loopback\nproxy p %s\nrule to 127.0.0.1 port %d direct\ndefault via p\n"
                      % (srv.url(), u.port))
    r = socksify.run([PYTHON, "-c", code], loopback=False, options=["-c", str(config)])
    assert r.returncode == 0, r
    assert r.stdout.split("\n")[:2] == ["echo:x", "peer 127.0.0.4"], r
    assert len(srv.entries()) == 1
