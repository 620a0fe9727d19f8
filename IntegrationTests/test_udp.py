"""UDP through a SOCKS5 proxy: UDP ASSOCIATE, every datagram wrapped and unwrapped.

Everything stays on loopback.  danted runs with UDP allowed (internal 127.0.0.1, external
127.0.0.3) in a private mount namespace whose /etc/hosts maps udp.test to 127.0.0.1; a UDP
echo server on 127.0.0.1 answers "from SRC:PORT|" + data, so "from 127.0.0.3:" proves the
datagram went through danted.  Every test runs socksify with --proxy-loopback (the control
that shows loopback UDP goes direct runs without it; the mixed-route test has it in its rules
file).

A small SOCKS5 server of our own (FakeUdpSocks, a thread in this process) acts as its own
relay: it sends fragments, datagrams from a stranger and malformed ones, and closes the
control connection on request.

Run:  swift build && IntegrationTests/clients/build.sh && \
      python3 -m pytest IntegrationTests/test_udp.py -v
"""

import ipaddress
import os
import re
import select
import shutil
import socket
import subprocess
import struct
import threading
import time
from pathlib import Path

import pytest

from conftest import (CLIENTS, DANTED, DANTED_OUT, PYTHON, ManagedProcess, ProxyBase,
                      REQUIRE_SOCKSIFY, free_port, wait_port)
from netns_udp import UDP_ECHO_SERVER, danted_udp_conf

UDP_NAME = "udp.test"
POOL4 = ipaddress.ip_network("127.192.0.0/10")  # socksify's default synthetic IPv4 pool
UDP_MMSG = CLIENTS / "bin" / "udp_mmsg"
RUN_TIMEOUT = 30

# --------------------------------------------------------------------------
# the client program (python3 -c CLIENT SUBCOMMAND ARGS...; prints one JSON line)
# --------------------------------------------------------------------------

CLIENT = r'''
import errno, json, os, select, socket, struct, sys, time

def ename(e):
    if e.errno == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"  # the same number as ENOTSUP on Linux
    return errno.errorcode.get(e.errno, str(e.errno))

def addr_of(host, port):
    info = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    return info[0][4]

def control_connections(proxy_port):
    """TCP connections of this process to the proxy's port (socksify's control connections)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    for path in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(path) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[2].split(":")[1], 16) == proxy_port and fields[9] in inodes \
                        and fields[3] == "01":
                    n += 1
    return n

def fd_count():
    return len(os.listdir("/proc/self/fd"))

def text(b):
    return b.decode("latin-1")

out = {}
sub = sys.argv[1]
host, port = sys.argv[2], int(sys.argv[3])
dest = addr_of(host, port)
out["dest"] = list(dest)

if sub == "echo":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    out["sent"] = s.sendto(b"hello", dest)
    data, sender = s.recvfrom(65535)
    out["reply"] = text(data)
    out["sender"] = list(sender)
    s.close()

elif sub == "connected":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    s.connect(dest)
    out["peer"] = list(s.getpeername())
    out["send"] = s.send(b"one")
    out["recv"] = text(s.recv(65535))
    fd = s.fileno()
    out["write"] = os.write(fd, b"two")
    r, _, _ = select.select([fd], [], [], 10)
    out["select"] = bool(r)
    out["read"] = text(os.read(fd, 65535))
    s.send(b"three")
    data, sender = s.recvfrom(65535)
    out["recvfrom"] = text(data)
    out["recvfrom_sender"] = list(sender)
    out["peer_after"] = list(s.getpeername())
    s.close()

elif sub == "iov":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    out["sendmsg"] = s.sendmsg([b"alpha-", b"beta-", b"gamma"], [], 0, dest)
    bufs = [bytearray(4), bytearray(6), bytearray(200)]
    n, anc, flags, sender = s.recvmsg_into(bufs)
    out["recvmsg_into"] = {"n": n, "flags": flags, "sender": list(sender),
                           "parts": [text(bytes(b[:len(b)])) for b in bufs[:2]]
                                    + [text(bytes(bufs[2][:max(0, n - 10)]))]}
    # one buffer, too small: MSG_TRUNC
    s.sendmsg([b"x" * 60, b"y" * 40], [], 0, dest)
    data, anc, flags, sender = s.recvmsg(10)
    out["trunc"] = {"data": text(data), "flags_trunc": bool(flags & socket.MSG_TRUNC),
                    "sender": list(sender)}
    # MSG_PEEK gives the datagram without consuming it
    s.sendto(b"peeked", dest)
    peek = s.recv(65535, socket.MSG_PEEK)
    again = s.recv(65535)
    out["peek"] = [text(peek), text(again)]
    s.close()

elif sub == "nonblock":
    count = int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        s.recv(100)
        out["empty_before"] = "data"
    except OSError as e:
        out["empty_before"] = ename(e)
    for i in range(count):
        s.sendto(b"nb-%03d" % i, dest)
    got = []
    senders = set()
    p = select.poll()
    p.register(s.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        if not p.poll(500):
            continue
        while True:
            try:
                data, sender = s.recvfrom(65535)
            except BlockingIOError:
                break
            got.append(text(data).split("|", 1)[1])
            senders.add("%s:%d" % sender)
    out["received"] = sorted(got)
    out["senders"] = sorted(senders)
    out["prefixes"] = []
    # now empty again: EAGAIN, for recv, recvfrom and recvmsg; select says not readable
    for name, call in (("recv", lambda: s.recv(100)), ("recvfrom", lambda: s.recvfrom(100)),
                       ("recvmsg", lambda: s.recvmsg(100))):
        try:
            call()
            out["empty_" + name] = "data"
        except OSError as e:
            out["empty_" + name] = ename(e)
    r, _, _ = select.select([s], [], [], 0.3)
    out["select_empty"] = bool(r)
    try:
        s.recv(100, socket.MSG_DONTWAIT)
        out["empty_dontwait"] = "data"
    except OSError as e:
        out["empty_dontwait"] = ename(e)
    s.close()

elif sub == "big":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    s.sendto(b"warm", dest)            # opens the association
    s.recvfrom(65535)
    for size in (65500, 65498, 65497):
        try:
            out["send%d" % size] = s.sendto(b"b" * size, dest)
        except OSError as e:
            out["send%d" % size] = ename(e)
    try:
        data, sender = s.recvfrom(65535)
        out["big_reply"] = text(data)
    except OSError as e:
        out["big_reply"] = ename(e)
    # sendmsg too: the sum of the iovecs counts
    try:
        out["sendmsg65500"] = s.sendmsg([b"c" * 30000, b"d" * 35500], [], 0, dest)
    except OSError as e:
        out["sendmsg65500"] = ename(e)
    # the socket still works
    s.sendto(b"after", dest)
    while True:
        data, sender = s.recvfrom(65535)
        if data.endswith(b"|after"):
            out["after"] = text(data)
            break
    s.close()

elif sub == "refused":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        out["sendto"] = s.sendto(b"hello", dest)
    except OSError as e:
        out["sendto"] = ename(e)
    s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(dest)
        out["connect"] = "ok"
        out["send"] = s.send(b"hello")
    except OSError as e:
        out["connect"] = ename(e)
    s.close()

elif sub == "lifecycle":
    proxy_port = int(sys.argv[4])
    log = sys.argv[5]
    def ended():
        try:
            with open(log, errors="replace") as f:
                return sum(1 for l in f if "udp/udpassociate ]" in l)
        except OSError:
            return -1
    out["before"] = control_connections(proxy_port)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    s.sendto(b"one", dest)
    s.recvfrom(65535)
    out["open"] = control_connections(proxy_port)
    ended_before = ended()
    # a dup2 copy shares the association: closing the original keeps it
    free = max(int(fd) for fd in os.listdir("/proc/self/fd")) + 20  # surely unused
    copy = os.dup2(s.fileno(), free)
    s.close()
    out["after_close_original"] = control_connections(proxy_port)
    c = socket.socket(fileno=copy)
    c.settimeout(10)
    c.sendto(b"via-copy", dest)
    out["copy_reply"] = text(c.recvfrom(65535)[0])
    c.close()
    out["after_close_all"] = control_connections(proxy_port)
    deadline = time.monotonic() + 5
    while ended() <= ended_before and time.monotonic() < deadline:
        time.sleep(0.05)
    out["danted_sessions_ended"] = ended() - ended_before
    # a second socket gets an association of its own, closed with it
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    s.sendto(b"two", dest)
    s.recvfrom(65535)
    out["second_open"] = control_connections(proxy_port)
    s.close()
    out["second_closed"] = control_connections(proxy_port)

elif sub == "fdleak":
    count = int(sys.argv[4])
    proxy_port = int(sys.argv[5])
    def once(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(10)
        s.sendto(b"leak-%d" % i, dest)
        data, sender = s.recvfrom(65535)
        s.close()
        return text(data)
    once(-1)  # the first one may set up lasting state (the library's own descriptors)
    out["before"] = fd_count()
    replies = [once(i) for i in range(count)]
    out["after"] = fd_count()
    out["via"] = sorted(set(r.split("|", 1)[0].rsplit(":", 1)[0] for r in replies))
    out["ok"] = sum(1 for i, r in enumerate(replies) if r.endswith("|leak-%d" % i))
    out["controls"] = control_connections(proxy_port)

elif sub == "script":
    # against FakeUdpSocks: it acts on the payload
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"ping", dest)
    data, sender = s.recvfrom(65535)
    out["ping"] = [text(data), list(sender)]
    # a truly blocking socket (SO_RCVTIMEO, not python's poll): the library itself must skip
    # the fragment, the stranger's datagram and the garbage, and go on waiting for "good"
    s.settimeout(None)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
    s.sendto(b"junk", dest)
    data, sender = s.recvfrom(65535)
    out["junk"] = [text(data), list(sender)]
    s.setblocking(False)
    time.sleep(0.2)
    try:
        out["junk_more"] = text(s.recv(65535))
    except OSError as e:
        out["junk_more"] = ename(e)
    s.settimeout(5)
    s.sendto(b"close", dest)     # answered, then the proxy closes the control connection
    data, sender = s.recvfrom(65535)
    out["close"] = text(data)
    time.sleep(0.3)
    try:
        out["after_close"] = s.sendto(b"again", dest)
    except OSError as e:
        out["after_close"] = ename(e)
    s.close()

print(json.dumps(out))
'''


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

class UdpDanted(ProxyBase):
    """danted with UDP allowed; as root in a private mount namespace with its own /etc/hosts."""

    def __init__(self, log_dir, hosts_text):
        if not os.path.exists(DANTED):
            pytest.skip("danted not installed (%s missing; apt-get install dante-server)" % DANTED)
        self.host = "127.0.0.1"
        self.private_hosts = os.geteuid() == 0 and shutil.which("unshare") is not None
        last_err = None
        for _ in range(3):
            self.port = free_port("127.0.0.1")
            self.log_path = Path(log_dir) / ("danted-udp-%d.log" % self.port)
            conf = Path(log_dir) / ("danted-udp-%d.conf" % self.port)
            conf.write_text(danted_udp_conf(self.log_path, "127.0.0.1", self.port, DANTED_OUT))
            if self.private_hosts:
                hosts = Path(log_dir) / ("hosts-udp-%d" % self.port)
                hosts.write_text(hosts_text)
                os.chmod(hosts, 0o644)
                argv = [shutil.which("unshare"), "-m", "--propagation", "private", "sh", "-c",
                        'mount --bind "$0" /etc/hosts && exec "$1" -f "$2"',
                        hosts, DANTED, conf]
            else:
                argv = [DANTED, "-f", conf]
            self.proc = ManagedProcess(argv, "danted-udp", log_dir)
            if wait_port("127.0.0.1", self.port, 8.0, self.proc):
                return
            last_err = self.proc.stderr_text() + self.log_text()
            self.proc.stop()
        raise RuntimeError("danted (UDP) did not start: %s" % last_err)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        self.proc.stop()


@pytest.fixture(scope="module")
def udp_danted(log_dir):
    d = UdpDanted(log_dir, "127.0.0.1 localhost\n127.0.0.1 %s\n" % UDP_NAME)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def echo(log_dir):
    p = ManagedProcess([PYTHON, "-c", UDP_ECHO_SERVER, "127.0.0.1"], "udp-echo", log_dir,
                       read_ready=True)
    yield p.ready_port
    p.stop()


_CLIENT_PATH = []


@pytest.fixture(scope="module", autouse=True)
def _client_script(log_dir):
    path = Path(log_dir) / "udp_client.py"
    path.write_text(CLIENT)
    _CLIENT_PATH.append(path)
    yield
    _CLIENT_PATH.remove(path)


def client(sub, host, port, *args):
    """argv of the client program (CLIENT, written to a file so failures stay readable)."""
    return [PYTHON, _CLIENT_PATH[-1], sub, host, str(port)] + [str(a) for a in args]


def run_json(socksify, argv, proxy, **kw):
    kw.setdefault("timeout", RUN_TIMEOUT)
    r = socksify.run(argv, proxy=proxy, **kw)
    assert r.returncode == 0, str(r)
    return r, r.json()


def via_danted(reply):
    return reply.startswith("from %s:" % DANTED_OUT)


# --------------------------------------------------------------------------
# sendto / recvfrom
# --------------------------------------------------------------------------

def test_sendto_recvfrom_through_danted(socksify, udp_danted, echo):
    r, out = run_json(socksify, client("echo", "127.0.0.1", echo), udp_danted.url(),
                      verbose=True)
    assert out["sent"] == 5, r
    # the echo server saw danted's external address: the datagram went through the proxy
    assert via_danted(out["reply"]) and out["reply"].endswith("|hello"), r
    line = r"udp 127\.0\.0\.1:%d via socks5 127\.0\.0\.1:%d association ok \(relay 127\.0\.0\.1:\d+\)" \
        % (echo, udp_danted.port)
    assert re.search(line, r.stderr), "no verbose association line\n%s" % r


def test_program_sees_real_sender(socksify, udp_danted, echo):
    r, out = run_json(socksify, client("echo", "127.0.0.1", echo), udp_danted.url())
    # not the relay: the address in the SOCKS header, i.e. the echo server's own
    assert out["sender"] == ["127.0.0.1", echo], r
    assert via_danted(out["reply"]), r


def test_loopback_direct_without_proxy_loopback(socksify, udp_danted, echo):
    """Control: without --proxy-loopback, loopback UDP goes direct (the server sees 127.0.0.1)."""
    r, out = run_json(socksify, client("echo", "127.0.0.1", echo), udp_danted.url(),
                      loopback=False, verbose=True)
    assert out["reply"].startswith("from 127.0.0.1:"), r
    assert out["sender"] == ["127.0.0.1", echo], r
    assert "association" not in r.stderr, r


V4MAPPED = r"""
import json, socket, sys
dest = ("::ffff:127.0.0.1", int(sys.argv[1]))
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"mapped", dest)
data, sender = s.recvfrom(65535)
print(json.dumps({"reply": data.decode(), "sender": list(sender[:2])}))
"""


def test_ipv6_socket_to_v4_mapped_address(socksify, udp_danted, echo):
    """A dual-stack AF_INET6 socket talking to an IPv4 peer (::ffff:a.b.c.d), IPv4 relay."""
    r, out = run_json(socksify, [PYTHON, "-c", V4MAPPED, echo], udp_danted.url())
    assert via_danted(out["reply"]) and out["reply"].endswith("|mapped"), r
    assert out["sender"] == ["::ffff:127.0.0.1", echo], r


# --------------------------------------------------------------------------
# connected sockets, sendmsg/recvmsg, non-blocking
# --------------------------------------------------------------------------

def test_connected_socket(socksify, udp_danted, echo):
    r, out = run_json(socksify, client("connected", "127.0.0.1", echo), udp_danted.url())
    peer = ["127.0.0.1", echo]
    assert out["peer"] == peer and out["peer_after"] == peer, r   # not the relay
    assert out["send"] == 3 and out["write"] == 3, r
    assert via_danted(out["recv"]) and out["recv"].endswith("|one"), r
    assert out["select"] is True, r
    assert via_danted(out["read"]) and out["read"].endswith("|two"), r
    assert via_danted(out["recvfrom"]) and out["recvfrom"].endswith("|three"), r
    assert out["recvfrom_sender"] == peer, r


def test_sendmsg_recvmsg_iovecs(socksify, udp_danted, echo):
    r, out = run_json(socksify, client("iov", "127.0.0.1", echo), udp_danted.url())
    assert out["sendmsg"] == len("alpha-beta-gamma"), r
    rm = out["recvmsg_into"]
    prefix = "from %s:" % DANTED_OUT
    expected = rm["parts"][0] + rm["parts"][1] + rm["parts"][2]
    assert expected.startswith(prefix) and expected.endswith("|alpha-beta-gamma"), r
    assert rm["n"] == len(expected), r
    assert rm["sender"] == ["127.0.0.1", echo], r
    assert not rm["flags"] & socket.MSG_TRUNC, r
    t = out["trunc"]
    assert t["flags_trunc"] is True and len(t["data"]) == 10, r
    assert t["data"] == prefix[:10], r
    assert t["sender"] == ["127.0.0.1", echo], r
    peek, again = out["peek"]
    assert peek == again and peek.endswith("|peeked"), r


def test_nonblocking_receive_loop(socksify, udp_danted, echo):
    n = 50
    r, out = run_json(socksify, client("nonblock", "127.0.0.1", echo, n), udp_danted.url())
    assert out["empty_before"] == "EAGAIN", r
    assert out["received"] == ["nb-%03d" % i for i in range(n)], r
    assert out["senders"] == ["127.0.0.1:%d" % echo], r
    for k in ("empty_recv", "empty_recvfrom", "empty_recvmsg", "empty_dontwait"):
        assert out[k] == "EAGAIN", (k, r)
    assert out["select_empty"] is False, r


# --------------------------------------------------------------------------
# sendmmsg / recvmmsg
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def udp_mmsg():
    if not os.access(UDP_MMSG, os.X_OK):
        msg = "%s not built (run IntegrationTests/clients/build.sh)" % UDP_MMSG
        if REQUIRE_SOCKSIFY:
            pytest.fail(msg)
        pytest.skip(msg)
    return UDP_MMSG


MMSG_MODES = {"sendto": [], "connected": ["--connect"],
              # libuv 1.44 (Debian 12; dig, node) calls syscall(SYS_sendmmsg/SYS_recvmmsg)
              "libuv-syscall": ["--syscall"], "libuv-syscall-connected": ["--syscall", "--connect"]}


@pytest.mark.parametrize("mode", list(MMSG_MODES))
def test_sendmmsg_recvmmsg(socksify, udp_danted, echo, udp_mmsg, mode):
    n = 20
    argv = [udp_mmsg, "127.0.0.1", echo, n] + MMSG_MODES[mode]
    r, out = run_json(socksify, argv, udp_danted.url())
    assert out["errors"] == [] and out["sent"] == n and out["received"] == n, r
    bodies = sorted(p.split("|", 1)[1] for p in out["payloads"])
    assert bodies == ["mmsg-%03d-tail" % i for i in range(n)], r
    assert all(via_danted(p) for p in out["payloads"]), r
    assert all(len(p) == l for p, l in zip(out["payloads"], out["lens"])), r
    assert set(out["senders"]) == {"127.0.0.1:%d" % echo}, r


# --------------------------------------------------------------------------
# limits and failures
# --------------------------------------------------------------------------

def test_emsgsize(socksify, udp_danted, echo):
    r, out = run_json(socksify, client("big", "127.0.0.1", echo), udp_danted.url())
    # 10 bytes of header (IPv4): 65497 + 10 = 65507 is the largest UDP payload
    assert out["send65500"] == "EMSGSIZE", r
    assert out["send65498"] == "EMSGSIZE", r
    assert out["send65497"] == 65497, r
    assert out["sendmsg65500"] == "EMSGSIZE", r
    assert via_danted(out["big_reply"]) and out["big_reply"].endswith("|len=65497"), r
    assert via_danted(out["after"]), r


def test_emsgsize_not_without_socksify(udp_danted, echo):
    """Control: the same 65500-byte datagram sent directly is fine."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        assert s.sendto(b"b" * 65500, ("127.0.0.1", echo)) == 65500
        data, _ = s.recvfrom(65535)
        assert data.endswith(b"|len=65500")


def test_microsocks_refuses_udp(socksify, microsocks, echo):
    r, out = run_json(socksify, client("refused", "127.0.0.1", echo), microsocks.url())
    assert out["sendto"] == "EOPNOTSUPP", r
    assert out["connect"] == "EOPNOTSUPP", r
    line = (r"socksify: .*udp 127\.0\.0\.1:%d via socks5 127\.0\.0\.1:%d failed: proxy refused: "
            r"command not supported \(0x07\)" % (echo, microsocks.port))
    assert re.search(line, r.stderr), "no refusal line\n%s" % r


# --------------------------------------------------------------------------
# lifetime of the association, descriptors
# --------------------------------------------------------------------------

def test_association_closed_with_socket(socksify, udp_danted, echo):
    r, out = run_json(socksify, client("lifecycle", "127.0.0.1", echo, udp_danted.port,
                                       udp_danted.log_path), udp_danted.url())
    assert out["before"] == 0, r
    assert out["open"] == 1, "one control connection while the socket lives\n%s" % r
    assert out["after_close_original"] == 1, "a dup2 copy keeps the association\n%s" % r
    assert via_danted(out["copy_reply"]) and out["copy_reply"].endswith("|via-copy"), r
    assert out["after_close_all"] == 0, "control connection left after close\n%s" % r
    assert out["danted_sessions_ended"] >= 1, "danted did not end the session\n%s\n%s" % (
        r, udp_danted.log_text()[-3000:])
    assert out["second_open"] == 1 and out["second_closed"] == 0, r


def test_no_fd_leak_100_sockets(socksify, udp_danted, echo):
    n = 100
    r, out = run_json(socksify, client("fdleak", "127.0.0.1", echo, n, udp_danted.port),
                      udp_danted.url(), timeout=60)
    assert out["ok"] == n, r
    assert out["via"] == ["from %s" % DANTED_OUT], r
    assert out["after"] == out["before"], r
    assert out["controls"] == 0, r


# --------------------------------------------------------------------------
# by name: socks5h, the proxy resolves
# --------------------------------------------------------------------------

def test_by_name_proxy_resolves(socksify, udp_danted, echo):
    if not udp_danted.private_hosts:
        pytest.skip("needs root and unshare(1) to give danted its own /etc/hosts")
    r, out = run_json(socksify, client("echo", UDP_NAME, echo), udp_danted.url("socks5h"),
                      verbose=True)
    assert ipaddress.ip_address(out["dest"][0]) in POOL4, "not a synthetic address\n%s" % r
    assert via_danted(out["reply"]) and out["reply"].endswith("|hello"), r
    assert re.search(r"udp %s:%d via socks5h 127\.0\.0\.1:%d association ok"
                     % (re.escape(UDP_NAME), echo, udp_danted.port), r.stderr), r
    # the program sees a sender: the proxy names the real one (127.0.0.1)
    assert out["sender"][1] == echo, r


def test_by_name_connected(socksify, udp_danted, echo):
    if not udp_danted.private_hosts:
        pytest.skip("needs root and unshare(1) to give danted its own /etc/hosts")
    r, out = run_json(socksify, client("connected", UDP_NAME, echo), udp_danted.url("socks5h"))
    synthetic = out["dest"]
    assert ipaddress.ip_address(synthetic[0]) in POOL4, r
    assert out["peer"] == synthetic and out["peer_after"] == synthetic, r
    for k, word in (("recv", "one"), ("read", "two"), ("recvfrom", "three")):
        assert via_danted(out[k]) and out[k].endswith("|" + word), (k, r)
    # recvfrom on a connected socket names its peer (what getpeername says), as the kernel does
    assert out["recvfrom_sender"] == synthetic, \
        "recvfrom on a connected socket gave %s, getpeername %s\n%s" % (
            out["recvfrom_sender"], synthetic, r)


def test_by_name_unknown_to_proxy(socksify, udp_danted, echo):
    """A name the proxy cannot resolve: the send itself works (UDP), no answer comes."""
    if not udp_danted.private_hosts:
        pytest.skip("needs root and unshare(1) to give danted its own /etc/hosts")
    code = ("import socket,json\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(1.5)\n"
            "a=socket.getaddrinfo('nosuch.invalid',%d,socket.AF_INET,socket.SOCK_DGRAM)[0][4]\n"
            "out={'dest':a[0]}\n"
            "try:\n out['sent']=s.sendto(b'x',a)\nexcept OSError as e: out['sent']=e.errno\n"
            "try:\n s.recvfrom(100);out['reply']=True\nexcept OSError as e: out['reply']=str(e)\n"
            "print(json.dumps(out))\n" % echo)
    r, out = run_json(socksify, [PYTHON, "-c", code], udp_danted.url("socks5h"))
    assert ipaddress.ip_address(out["dest"]) in POOL4, r
    assert out["reply"] != True, r  # noqa: E712


# --------------------------------------------------------------------------
# a proxy of our own: fragments, strangers, garbage, control connection closed
# --------------------------------------------------------------------------

def _recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _udp_header(frag, host, port):
    return b"\x00\x00" + bytes([frag, 1]) + socket.inet_aton(host) + struct.pack("!H", port)


class FakeUdpSocks:
    """SOCKS5 (no auth) that answers UDP ASSOCIATE with a relay of its own at 127.0.0.1.

    The relay answers each datagram by its payload: "ping" -> "pong"; "junk" -> a fragment
    (FRAG=1), the same datagram from a stranger (127.0.0.5), a malformed one, then "good";
    "close" -> "closing", then it closes the control connection.  Answers name the
    destination the datagram was sent to.
    """

    def __init__(self, unspecified_relay=False):
        self.unspecified_relay = unspecified_relay
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.events = []
        self.stopping = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    @property
    def url(self):
        return "socks5://127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn):
        relay = stranger = None
        try:
            conn.settimeout(10)
            ver, n = _recv_exact(conn, 2)
            _recv_exact(conn, n)
            conn.sendall(b"\x05\x00")
            ver, cmd, _, atyp = _recv_exact(conn, 4)
            if atyp == 1:
                _recv_exact(conn, 4)
            elif atyp == 4:
                _recv_exact(conn, 16)
            else:
                _recv_exact(conn, _recv_exact(conn, 1)[0])
            _recv_exact(conn, 2)
            self.events.append("request cmd=%d" % cmd)
            if cmd != 3:
                conn.sendall(b"\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00")
                return
            relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            relay.bind(("127.0.0.1", 0))
            stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            stranger.bind(("127.0.0.5", 0))
            bnd = "0.0.0.0" if self.unspecified_relay else "127.0.0.1"
            conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton(bnd)
                         + struct.pack("!H", relay.getsockname()[1]))
            conn.settimeout(None)
            while not self.stopping:
                r, _, _ = select.select([conn, relay], [], [], 0.2)
                if conn in r:
                    if not conn.recv(100):
                        self.events.append("control closed by client")
                        return
                if relay not in r:
                    continue
                data, client_addr = relay.recvfrom(65535)
                if len(data) < 10 or data[3] != 1:
                    self.events.append("bad datagram %r" % data[:20])
                    continue
                host = socket.inet_ntoa(data[4:8])
                port = struct.unpack("!H", data[8:10])[0]
                payload = data[10:]
                self.events.append("datagram %s:%d %r" % (host, port, payload))
                ok = _udp_header(0, host, port)
                if payload == b"ping":
                    relay.sendto(ok + b"pong", client_addr)
                elif payload == b"junk":
                    relay.sendto(_udp_header(1, host, port) + b"bad-fragment", client_addr)
                    time.sleep(0.05)
                    stranger.sendto(ok + b"bad-stranger", client_addr)
                    time.sleep(0.05)
                    relay.sendto(b"\x00\x00\x00\x09garbage", client_addr)
                    time.sleep(0.05)
                    relay.sendto(ok + b"good", client_addr)
                elif payload == b"other":
                    # an answer from someone else than the destination, then the real one
                    relay.sendto(_udp_header(0, "127.0.0.9", 9) + b"from-other", client_addr)
                    time.sleep(0.05)
                    relay.sendto(ok + b"good", client_addr)
                elif payload == b"close":
                    relay.sendto(ok + b"closing", client_addr)
                    time.sleep(0.05)
                    self.events.append("closing control")
                    return
                else:
                    relay.sendto(ok + b"echo:" + payload, client_addr)
        except (OSError, EOFError, ValueError) as e:
            self.events.append("error %r" % e)
        finally:
            for s in (relay, stranger, conn):
                if s is not None:
                    s.close()

    def stop(self):
        self.stopping = True
        self.lsock.close()


@pytest.fixture(params=["relay-address", "relay-unspecified"])
def fake_socks(request):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.5", 0))
    except OSError:
        pytest.skip("cannot bind 127.0.0.5")
    # "relay-unspecified": BND.ADDR 0.0.0.0, meaning "the proxy's own address"
    f = FakeUdpSocks(unspecified_relay=request.param == "relay-unspecified")
    yield f
    f.stop()


def test_drops_fragments_strangers_garbage_and_reset_after_control_closed(socksify, fake_socks):
    port = free_port()
    r, out = run_json(socksify, client("script", "127.0.0.1", port), fake_socks.url)
    assert out["ping"] == ["pong", ["127.0.0.1", port]], r
    # the fragment, the stranger's datagram and the malformed one were dropped
    assert out["junk"] == ["good", ["127.0.0.1", port]], "%s\nproxy: %s" % (r, fake_socks.events)
    assert out["junk_more"] == "EAGAIN", r
    assert out["close"] == "closing", r
    assert out["after_close"] == "ECONNRESET", "%s\nproxy: %s" % (r, fake_socks.events)
    assert re.search(r"socksify: .*closed the UDP association; program sees ECONNRESET", r.stderr), r


OTHER_SENDER = r"""
import json, socket, sys
out = {}
dest = ("127.0.0.1", int(sys.argv[1]))
for mode in ("unconnected", "connected"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    if mode == "connected":
        s.connect(dest)
        s.send(b"other")
    else:
        s.sendto(b"other", dest)
    got = []
    try:
        while True:
            data, sender = s.recvfrom(100)
            got.append([data.decode(), "%s:%d" % sender])
            if data == b"good":
                break
    except OSError as e:
        got.append(str(e))
    out[mode] = got
    s.close()
print(json.dumps(out))
"""


def test_connected_socket_only_hears_its_peer(socksify):
    """connect(2): the peer is "the only address from which datagrams are received"."""
    port = free_port()
    fake = FakeUdpSocks()
    try:
        r, out = run_json(socksify, [PYTHON, "-c", OTHER_SENDER, port], fake.url)
    finally:
        fake.stop()
    dest = "127.0.0.1:%d" % port
    # unconnected: the program sees who sent each datagram
    assert out["unconnected"] == [["from-other", "127.0.0.9:9"], ["good", dest]], r
    # connected: the datagram from 127.0.0.9:9 is not for this socket
    assert out["connected"] == [["good", dest]], \
        "a connected UDP socket received a datagram from another sender\n%s" % r


# --------------------------------------------------------------------------
# one socket, several routes; connect(AF_UNSPEC)
# --------------------------------------------------------------------------

MIXED = r"""
import ctypes, errno, json, socket, struct, sys
proxied, direct = ("127.0.0.1", int(sys.argv[1])), ("127.0.0.1", int(sys.argv[2]))
out = {}
def attempt(key, call):
    try:
        data = call()
        out[key] = data.decode() if isinstance(data, bytes) else data[0].decode()
    except OSError as e:
        out[key] = errno.errorcode.get(e.errno, str(e.errno))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"a", proxied)
attempt("unconnected_proxied", lambda: s.recvfrom(1000))
s.sendto(b"b", direct)
attempt("unconnected_direct", lambda: s.recvfrom(1000))
s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(proxied)
s.send(b"c")
attempt("connected_proxied", lambda: s.recv(1000))
s.connect(direct)
s.send(b"d")
attempt("reconnected_direct", lambda: s.recv(1000))
s.close()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def echo2(log_dir):
    p = ManagedProcess([PYTHON, "-c", UDP_ECHO_SERVER, "127.0.0.1"], "udp-echo2", log_dir,
                       read_ready=True)
    yield p.ready_port
    p.stop()


def test_direct_and_proxied_on_one_socket(socksify, udp_danted, echo, echo2, log_dir):
    """Rules send one destination through danted and another direct; one socket talks to both."""
    cfg = Path(log_dir) / "udp-mixed.conf"
    cfg.write_text("proxy d socks5://127.0.0.1:%d\nrule to 127.0.0.1 port %d via d\n"
                   "default direct\nset proxy-loopback\n" % (udp_danted.port, echo))
    r = socksify.run([PYTHON, "-c", MIXED, echo, echo2], loopback=False, verbose=True,
                     options=["-c", str(cfg)], timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r
    out = r.json()
    assert via_danted(out["unconnected_proxied"]), r
    assert via_danted(out["connected_proxied"]), r
    # the direct destination answers from itself, not through the relay: still for the program
    assert out["unconnected_direct"].startswith("from 127.0.0.1:"), \
        "the direct peer's answer was dropped on a socket with an association\n%s" % r
    assert out["reconnected_direct"].startswith("from 127.0.0.1:"), \
        "after connect() to a direct peer its answers were dropped\n%s" % r


UNSPEC = r"""
import ctypes, errno, json, socket, struct, sys
dest = ("127.0.0.1", int(sys.argv[1]))
out = {}
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(dest)
s.send(b"one")
out["connected"] = s.recv(1000).decode()
unspec = struct.pack("HH12x", socket.AF_UNSPEC, 0)
out["disconnect"] = libc.connect(s.fileno(), unspec, len(unspec))
try:
    s.send(b"x")
    out["send_unconnected"] = "sent"
except OSError as e:
    out["send_unconnected"] = errno.errorcode.get(e.errno, str(e.errno))
try:
    s.getpeername()
    out["getpeername"] = "connected"
except OSError as e:
    out["getpeername"] = errno.errorcode.get(e.errno, str(e.errno))
s.sendto(b"two", dest)
try:
    out["after"] = s.recvfrom(1000)[0].decode()
except OSError as e:
    out["after"] = str(e)
print(json.dumps(out))
"""


def test_connect_af_unspec_dissolves_only_the_connection(socksify, udp_danted, echo):
    r, out = run_json(socksify, [PYTHON, "-c", UNSPEC, echo], udp_danted.url())
    assert via_danted(out["connected"]), r
    assert out["disconnect"] == 0, r
    assert out["send_unconnected"] == "EDESTADDRREQ", r
    assert out["getpeername"] == "ENOTCONN", r
    # the association outlives the connection: datagrams still go through and come back
    assert via_danted(out["after"]) and out["after"].endswith("|two"), \
        "after connect(AF_UNSPEC) the association no longer works\n%s\ndanted log:\n%s" % (
            r, udp_danted.log_text()[-2000:])


def test_a_static_program_connected_udp_goes_through_the_proxy(socksify, udp_danted, echo, tmp_path):
    """The kernel backstop's datagram relay: a static client's connected UDP socket reaches the
    echo server through danted's UDP association (the echo server sees danted's address)."""
    import shutil
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    static = tmp_path / "udp_send"
    r = subprocess.run(["gcc", "-static", "-O2", "-o", str(static), str(CLIENTS / "udp_send.c")], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot link statically: %s" % r.stderr[-300:])
    r = socksify.run([str(static), "echo", "127.0.0.1", str(echo)], proxy=udp_danted.url(), verbose=True)
    assert r.returncode == 0 and r.stdout.startswith("got from 127.0.0.3:") and r.stdout.endswith("|udp_send\n"), r
    assert "(UDP) via" in r.stderr and "relayed by socksify" in r.stderr, r
