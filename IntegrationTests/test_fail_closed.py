"""Fail-closed regression tests: the ways past the proxy that commit 1f02cf6 closed stay closed,
checked on the wire.  Two more ways out, found while writing these, are tested the same way:
a datagram whose address says AF_UNSPEC (an IPv4 socket's kernel takes it as AF_INET) and
getaddrinfo_a(3) (glibc resolves inside libc, past the interposed getaddrinfo).

Needs root (network namespaces, veth, tcpdump).  The topology is netns.py's, with both options:

    sxc  client 10.200.1.1 / fd00:200:1::1; routes 10.200.2.2 and fd00:200:2::2 (the target)
         and 10.200.9.9 (its nameserver, which exists nowhere) via the proxy host, which drops
         them (no forwarding): a direct attempt shows on the client's wire and goes nowhere
    sxp  proxy  10.200.1.2:1080 (microsocks), out from 10.200.2.1 / fd00:200:2::1
    sxt  target 10.200.2.2:80 and [fd00:200:2::2]:80 (servers/target_server.py: "peer SRC")

Every case runs clients/leak_probe (one operation, one JSON line of results) under the socksify
launcher with tcpdump on the client's veth, and checks
  (a) no packet to the target's addresses on the client's wire (and, where the proxy is used,
      nothing but the proxy and link housekeeping at all);
  (b) the result: the target answers "peer <the proxy's address>", or the call fails with the
      expected errno;
  (c) for a refusal: exactly one "refused" line, with the errno's name and the protocol.
Each capture ends with a sentinel datagram (to 10.200.9.9:9) that must be in it: the capture was
running all along.  The negative controls run the same probe without socksify and find the
direct packet in the capture: the same check would have seen a leak.

Run:  IntegrationTests/clients/build.sh &&
      flock /tmp/sx-netns.lock python3 -m pytest IntegrationTests/test_fail_closed.py -q
"""

import ipaddress
import json
import os
import shlex
from pathlib import Path

import pytest

if os.geteuid() != 0:
    pytest.skip("fail-closed tests need root (network namespaces, veth pairs, tcpdump)",
                allow_module_level=True)

import netns  # noqa: E402
from conftest import (CLIENTS, MICROSOCKS, REQUIRE_SOCKSIFY, SERVERS, SOCKSIFY_BIN,  # noqa: E402
                      SOCKSIFY_LIB, clean_env)

PROBE = CLIENTS / "bin" / "leak_probe"
PY = "/usr/bin/python3"  # a real ELF inside the namespace
PROXY5H = "socks5h://%s:%d" % (netns.PROXY_IP, netns.PROXY_PORT)
TARGETS = {netns.TARGET_IP, netns.TARGET_IP6}
VIA4 = "peer %s" % netns.PROXY_OUT_IP      # the target saw the proxy (IPv4)
VIA6 = "peer %s" % netns.PROXY_OUT_IP6     # ... over IPv6
POOL4 = ipaddress.ip_network("127.192.0.0/10")  # socksify's default synthetic pool
SENTINEL_PORT = 9
RUN_TIMEOUT = 20
STRICT = pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])

SENTINEL = ("import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            ".sendto(b'sentinel', (%r, %d))" % (netns.DEAD_DNS_IP, SENTINEL_PORT))


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

def _skip_or_fail(msg):
    if REQUIRE_SOCKSIFY:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def built():
    if not os.access(SOCKSIFY_BIN, os.X_OK):
        _skip_or_fail("socksify not built: %s missing (run `swift build`)" % SOCKSIFY_BIN)
    lib = Path(SOCKSIFY_BIN).parent / "libsocksify-preload.so"
    if not (lib.is_file() or Path(SOCKSIFY_LIB).is_file()):
        _skip_or_fail("socksify library not built: %s missing (run `swift build`)" % lib)
    if not os.access(PROBE, os.X_OK):
        _skip_or_fail("%s not built (run IntegrationTests/clients/build.sh)" % PROBE)


def set_sysctl(ns, key, value):
    path = "/proc/sys/" + key.replace(".", "/")
    netns.run(netns.in_ns(ns, ["sh", "-c", "echo %s > %s" % (shlex.quote(str(value)), path)]),
              timeout=10, check=True)


@pytest.fixture(scope="module")
def topo(log_dir, built):
    ok, reason = netns.netns_available()
    if not ok:
        pytest.skip(reason)
    for tool, pkg in ((netns.TCPDUMP, "tcpdump"), (MICROSOCKS, "microsocks"), (PY, "python3")):
        if not os.access(tool, os.X_OK):
            pytest.skip("%s not installed (apt-get install %s)" % (tool, pkg))
    t = netns.Topology(log_dir, MICROSOCKS, SERVERS / "target_server.py", PY, ipv6=True,
                       route_target=True)
    try:
        t.setup()
        # TCP Fast Open on the client (1: client side), so the control can send a TFO SYN;
        # ICMP "ping" sockets for every group, so the probe may open one
        set_sysctl(netns.CLIENT_NS, "net.ipv4.tcp_fastopen", 1)
        set_sysctl(netns.CLIENT_NS, "net.ipv4.ping_group_range", "0 2147483647")
        # sanity: the proxy host reaches the target over both families
        for addr, via in ((netns.TARGET_IP, VIA4), (netns.TARGET_IP6, VIA6)):
            r = netns.run(netns.in_ns(netns.PROXY_NS, [
                PY, "-c", "import socket,sys; s=socket.create_connection((sys.argv[1], 80), 5);"
                "s.sendall(b'x'); print(s.recv(100).decode())", addr]), timeout=15)
            assert r.returncode == 0 and via in r.stdout, "topology broken:\n%s" % r
        yield t
    finally:
        t.teardown()


class Wire:
    """tcpdump on the client's veth; packets() ends it with a sentinel that must be seen."""

    def __init__(self, log_dir):
        self.cap = netns.Capture(log_dir)
        self._packets = None

    def packets(self):
        if self._packets is None:
            netns.run(netns.in_ns(netns.CLIENT_NS, [PY, "-c", SENTINEL]), timeout=10, check=True)
            packets = self.cap.stop()
            sentinel = [p for p in packets if is_sentinel(p)]
            assert sentinel, ("the sentinel datagram is not in the capture: tcpdump was not "
                              "capturing\n%s\ntcpdump stderr:\n%s"
                              % (describe(packets), self.cap.stderr_text()))
            self._packets = [p for p in packets if not is_sentinel(p)]
        return self._packets

    def close(self):
        self.cap.close()


@pytest.fixture
def wire(topo, log_dir):
    w = Wire(log_dir)
    try:
        yield w
    finally:
        w.close()


# --------------------------------------------------------------------------
# running the probe
# --------------------------------------------------------------------------

class Run:
    """One leak_probe run: the process and its parsed JSON line."""

    def __init__(self, completed):
        self.completed = completed
        lines = [l for l in completed.stdout.splitlines() if l.startswith("{")]
        assert completed.returncode == 0 and lines, "leak_probe failed\n%s" % completed
        self.out = json.loads(lines[-1])
        self.stderr = completed.stderr

    def __getitem__(self, key):
        return self.out.get(key)

    def __str__(self):
        return str(self.completed)


def probe(*args, socksify=True, strict=False, timeout_s=None):
    argv = [PROBE] + (["-t", timeout_s] if timeout_s else []) + [str(a) for a in args]
    if socksify:
        argv = ([SOCKSIFY_BIN, "-v", "-p", PROXY5H] + (["--strict"] if strict else [])
                + ["--"] + argv)
    return Run(netns.run(netns.in_ns(netns.CLIENT_NS, argv), timeout=RUN_TIMEOUT,
                         env=clean_env()))


def direct(*args):
    """The probe without socksify; blocking calls give up after 1 s (nobody answers)."""
    return probe(*args, socksify=False, timeout_s=1)


# --------------------------------------------------------------------------
# reading the wire
# --------------------------------------------------------------------------

def is_sentinel(p):
    return p.kind == "udp" and p.dst == netns.DEAD_DNS_IP and p.dport == SENTINEL_PORT


def to_target(packets):
    return [p for p in packets if p.dst in TARGETS]


def is_proxy_or_housekeeping(p):
    """TCP between the client and the proxy's port, ARP, IPv6 neighbour discovery and MLD."""
    if p.kind == "arp":
        return True
    if p.kind == "tcp" and {p.src, p.dst} in ({netns.CLIENT_IP, netns.PROXY_IP},
                                               {netns.CLIENT_IP6, netns.PROXY_IP6}):
        return netns.PROXY_PORT in (p.sport, p.dport)
    # ICMPv6 (58) or a hop-by-hop header (0, MLD), never to or from the target
    return p.kind == "ipv6" and p.proto in (0, 58) and not {p.src, p.dst} & TARGETS


def describe(packets, limit=40):
    lines = [str(p) for p in packets[:limit]]
    if len(packets) > limit:
        lines.append("... %d more" % (len(packets) - limit))
    return "\n".join(lines) or "(none)"


def context(runs):
    return "\n\n".join(str(r) for r in runs)


def assert_nothing_to_target(wire, runs):
    packets = wire.packets()
    leaked = to_target(packets)
    assert not leaked, ("LEAK: packets to the target on the client's wire:\n%s\n\nall packets:\n"
                        "%s\n\n%s" % (describe(leaked), describe(packets), context(runs)))
    return packets


def assert_only_proxy(wire, runs, min_proxy_connections=0):
    """Nothing to the target, nothing else either; at least this many SYNs to the proxy."""
    packets = assert_nothing_to_target(wire, runs)
    other = [p for p in packets if not is_proxy_or_housekeeping(p)]
    assert not other, ("packets other than client<->proxy:%d on the client's wire:\n%s\n\n%s"
                       % (netns.PROXY_PORT, describe(other), context(runs)))
    syns = [p for p in packets if p.syn and p.dport == netns.PROXY_PORT]
    assert len(syns) >= min_proxy_connections, (
        "%d connection(s) to the proxy captured, expected >= %d\n%s\n\n%s"
        % (len(syns), min_proxy_connections, describe(packets), context(runs)))
    return packets


def assert_seen(wire, runs, what, match, count=1):
    """The negative control: the direct packet(s) are in the capture."""
    packets = wire.packets()
    seen = [p for p in packets if match(p)]
    assert len(seen) >= count, ("the capture did not see %s (%d of %d): it could not see such a "
                                "leak either\npackets:\n%s\n\n%s"
                                % (what, len(seen), count, describe(packets), context(runs)))


def refusal_lines(run):
    return [l for l in run.stderr.splitlines() if "refused" in l]


def assert_refused(run, errno_name, *words):
    """Exactly one 'refused' line, naming the errno the program sees and the words given."""
    lines = refusal_lines(run)
    assert len(lines) == 1, "expected exactly one 'refused' line, got %d\n%s" % (len(lines), run)
    line = lines[0]
    assert line.startswith("socksify: "), "not a socksify line: %r\n%s" % (line, run)
    assert line.endswith("program sees %s" % errno_name), "errno %s not named: %r\n%s" % (
        errno_name, line, run)
    for w in words:
        assert w in line, "%r does not say %r\n%s" % (line, w, run)
    return line


def assert_reached_via_proxy(run, via=VIA4):
    assert run["reply"] and run["reply"].startswith(via), (
        "the target did not answer %r (it must see the proxy's address)\n%s" % (via, run))
    assert not refusal_lines(run), str(run)


# --------------------------------------------------------------------------
# 1. TCP Fast Open: sendto/sendmsg with MSG_FASTOPEN and an address connect through the proxy
# --------------------------------------------------------------------------

# the probe's operation and the data it sends; tfo-connect sets TCP_FASTOPEN_CONNECT, connects
TFO_OPS = {"tfo-sendto": "tfo-data\n", "tfo-sendmsg": "tfo-data\n", "tfo-connect": "tfo-connect\n",
           "__connect": "alias\n"}  # glibc's exported alias of connect, not TFO, judged the same way


@pytest.mark.parametrize("op", list(TFO_OPS))
@STRICT
def test_tcp_fast_open_goes_through_proxy(wire, op, strict):
    r = probe(op, netns.TARGET_IP, 80, strict=strict)
    assert_only_proxy(wire, [r], min_proxy_connections=1)
    assert r["send"] == str(len(TFO_OPS[op])), "the data was not sent\n%s" % r
    assert_reached_via_proxy(r)
    assert r["reply"].endswith(TFO_OPS[op]), "the data did not arrive\n%s" % r


def test_tcp_fast_open_without_socksify_sends_syn_to_target(wire):
    runs = [direct(op, netns.TARGET_IP, 80) for op in TFO_OPS]
    assert_seen(wire, runs, "a SYN to the target", lambda p: p.syn and p.dst == netns.TARGET_IP
                and p.dport == 80, count=len(runs))


# --------------------------------------------------------------------------
# 2. sockaddr_in6 of 24 bytes (no sin6_scope_id), and an 8-byte sockaddr_in
# --------------------------------------------------------------------------

@STRICT
def test_sockaddr_in6_24_bytes_tcp_goes_through_proxy(wire, strict):
    r = probe("tcp6-24", netns.TARGET_IP6, 80, strict=strict)
    assert_only_proxy(wire, [r], min_proxy_connections=1)
    assert r["connect"] == "ok", str(r)
    assert_reached_via_proxy(r, VIA6)


@STRICT
def test_sockaddr_in6_24_bytes_udp_never_direct(wire, strict):
    r = probe("udp6-24", netns.TARGET_IP6, 7, strict=strict)
    # through the proxy or refused here; this proxy (microsocks) carries no UDP and says so
    packets = assert_only_proxy(wire, [r])
    assert r["send"] in ("EOPNOTSUPP", "EPERM"), str(r)
    line = assert_refused(r, r["send"], "[%s]:7" % netns.TARGET_IP6)
    if r["send"] == "EOPNOTSUPP":
        assert "via %s" % PROXY5H.replace("://", " ") in line, str(r)
        assert [p for p in packets if p.syn and p.dport == netns.PROXY_PORT], describe(packets)


def test_sockaddr_in6_24_bytes_without_socksify_visible(wire):
    runs = [direct("tcp6-24", netns.TARGET_IP6, 80), direct("udp6-24", netns.TARGET_IP6, 7)]
    assert runs[1]["send"] == str(len("udp6-24\n")), "the kernel refused 24 bytes?\n%s" % runs[1]
    assert_seen(wire, runs, "a TCP SYN to the target over IPv6",
                lambda p: p.dst == netns.TARGET_IP6 and p.proto == 6)
    assert_seen(wire, runs, "a UDP datagram to the target over IPv6",
                lambda p: p.dst == netns.TARGET_IP6 and p.proto == 17)


@pytest.mark.parametrize("op,step", [("tcp4-short", "connect"), ("udp4-short", "send")])
def test_short_sockaddr_in_refused(wire, op, step):
    r = probe(op, netns.TARGET_IP, 80)
    assert_only_proxy(wire, [r])
    assert r[step] == "EINVAL", str(r)
    assert_refused(r, "EINVAL", "IPv4 address socksify cannot read (8 bytes)")


# An IPv4 UDP (and UDP-Lite) socket's sendmsg takes a 16-byte address whose family says
# AF_UNSPEC as AF_INET (Linux udp_sendmsg): an address socksify must read, or refuse.
@pytest.mark.parametrize("proto", ["udp", "udplite"])
@STRICT
def test_af_unspec_ipv4_datagram_never_direct(wire, proto, strict):
    r = probe("unspec", proto, netns.TARGET_IP, 7, strict=strict)
    assert_only_proxy(wire, [r])
    assert r["send"] in ("EOPNOTSUPP", "EPERM", "EINVAL", "EAFNOSUPPORT"), str(r)
    assert_refused(r, r["send"])


def test_af_unspec_ipv4_datagram_without_socksify_visible(wire):
    runs = [direct("unspec", proto, netns.TARGET_IP, 7) for proto in ("udp", "udplite")]
    assert_seen(wire, runs, "a UDP datagram to the target", lambda p: p.kind == "udp"
                and p.dst == netns.TARGET_IP and p.dport == 7)
    assert_seen(wire, runs, "a UDP-Lite datagram to the target",
                lambda p: p.dst == netns.TARGET_IP and p.proto == 136)


# --------------------------------------------------------------------------
# 3. getaddrinfo flags socksify does not know: the name is still the proxy's to resolve
# --------------------------------------------------------------------------

# 0x100/0x200: glibc's deprecated IDN flags (it accepts them); 0x4000: unknown to glibc too
GAI_FLAGS = ["0x100", "0x200", "0x4000"]


def dns_on_wire(packets):
    return [p for p in packets if p.kind in ("udp", "tcp") and p.dport == 53]


@pytest.mark.parametrize("flags", GAI_FLAGS)
def test_unknown_resolver_flags_resolved_by_proxy(wire, flags):
    r = probe("gai", flags, netns.TARGET_NAME, 80)
    packets = assert_only_proxy(wire, [r], min_proxy_connections=1)
    assert not dns_on_wire(packets), str(r)
    assert r["getaddrinfo"] == "ok", str(r)
    assert ipaddress.ip_address(r["address"]) in POOL4, "not a synthetic address\n%s" % r
    assert r["connect"] == "ok", str(r)
    assert_reached_via_proxy(r)


def test_resolver_flags_without_socksify_query_visible(wire):
    # 0x4000 is left out: glibc refuses it (EAI_BADFLAGS) before any lookup
    runs = [direct("gai", flags, netns.TARGET_NAME, 80) for flags in GAI_FLAGS[:2]]
    for r in runs:
        assert r["getaddrinfo"] != "ok", str(r)
    assert_seen(wire, runs, "a DNS query to %s" % netns.DEAD_DNS_IP, is_query_to_dead_dns,
                count=len(runs))


def is_query_to_dead_dns(p):
    return p.kind == "udp" and p.dst == netns.DEAD_DNS_IP and p.dport == 53


# getaddrinfo_a(3): glibc's worker thread calls getaddrinfo inside libc, past any interposer
def test_getaddrinfo_a_resolved_by_proxy(wire):
    r = probe("gai-a", netns.TARGET_NAME, 80)
    packets = assert_only_proxy(wire, [r])
    assert not dns_on_wire(packets), str(r)
    if r["getaddrinfo"] == "ok":  # answered (synthetic), else refused with one line
        assert ipaddress.ip_address(r["address"]) in POOL4, "not a synthetic address\n%s" % r
        assert_reached_via_proxy(r)
    else:
        assert len(refusal_lines(r)) == 1, str(r)


def test_getaddrinfo_a_without_socksify_query_visible(wire):
    r = direct("gai-a", netns.TARGET_NAME, 80)
    assert r["getaddrinfo"] != "ok", str(r)
    assert_seen(wire, [r], "a DNS query to %s" % netns.DEAD_DNS_IP, is_query_to_dead_dns)


# --------------------------------------------------------------------------
# 4. UDP-Lite and ICMP ping sockets: no proxy carries them, so they are refused
# --------------------------------------------------------------------------

DGRAM_MODES = ["connect-send", "connect-write", "sendto", "sendmsg"]
# probe name -> (name in the log, IP protocol number on the wire) for IPv4 and IPv6
DGRAM_PROTOS = {"udplite": {4: ("UDP-Lite", 136), 6: ("UDP-Lite", 136)},
                "icmp": {4: ("ICMP", 1), 6: ("ICMPv6", 58)}}
TARGET_BY_FAMILY = {4: netns.TARGET_IP, 6: netns.TARGET_IP6}
FAMILY = pytest.mark.parametrize("family", [4, 6], ids=["ipv4", "ipv6"])


@pytest.mark.parametrize("proto", list(DGRAM_PROTOS))
@FAMILY
@STRICT
def test_unproxiable_datagrams_refused(wire, proto, family, strict):
    name = DGRAM_PROTOS[proto][family][0]
    target = TARGET_BY_FAMILY[family]
    runs = {mode: probe("dgram", proto, mode, target, 7, strict=strict) for mode in DGRAM_MODES}
    assert_only_proxy(wire, list(runs.values()))
    for mode, r in runs.items():
        assert r["socket"] == "ok", str(r)
        first = "connect" if mode.startswith("connect") else "send"
        assert r[first] == "EPERM", "%s: %s\n%s" % (mode, r[first], r)
        assert_refused(r, "EPERM", name + " cannot go through a SOCKS proxy", target)
        if mode.startswith("connect"):
            # the socket stayed unconnected: the kernel has nowhere to send it
            later = "send" if mode == "connect-send" else "write"
            assert r[later] == "EDESTADDRREQ", "%s: %s\n%s" % (mode, r[later], r)


@FAMILY
def test_unproxiable_datagrams_without_socksify_visible(wire, family):
    target = TARGET_BY_FAMILY[family]
    runs = [direct("dgram", proto, mode, target, 7) for proto in DGRAM_PROTOS
            for mode in DGRAM_MODES]
    for r in runs:
        assert (r["send"] or r["write"]) not in (None, "EPERM", "EACCES"), str(r)
    for proto, by_family in DGRAM_PROTOS.items():
        name, number = by_family[family]
        assert_seen(wire, runs, "%s to the target" % name,
                    lambda p, n=number: p.dst == target and p.proto == n,
                    count=len(DGRAM_MODES))


# --------------------------------------------------------------------------
# 5. raw and packet sockets: refused in strict mode, allowed with a warning otherwise
# --------------------------------------------------------------------------

ETH_P_ALL = 0x0300  # htons(ETH_P_ALL)
SOCK_NONBLOCK_CLOEXEC = 0o4000 | 0o2000000
RAW_SOCKETS = {
    "syscall-inet-raw-icmp": ("socket-syscall", 2, 3, 1),
    "inet-raw-icmp": ("socket", 2, 3, 1),
    "inet-raw-nonblock-cloexec": ("socket", 2, 3 | SOCK_NONBLOCK_CLOEXEC, 255),
    "inet6-raw-icmpv6": ("socket", 10, 3, 58),
    "inet-sock-packet": ("socket", 2, 10, ETH_P_ALL),
    "packet-raw": ("socket", 17, 3, ETH_P_ALL),
    "packet-dgram": ("socket", 17, 2, ETH_P_ALL),
}


@pytest.mark.parametrize("case", list(RAW_SOCKETS))
def test_raw_and_packet_sockets_refused_in_strict_mode_warned_otherwise(topo, case):
    op, domain, type_, proto = RAW_SOCKETS[case]
    control = direct(op, domain, type_, proto)
    if control["socket"] != "ok":
        pytest.skip("the kernel refuses socket(%d, %d, %d) here: %s" % (domain, type_, proto,
                                                                       control["socket"]))
    r = probe(op, domain, type_, proto, strict=True)
    assert r["socket"] == "EPERM", str(r)
    assert_refused(r, "EPERM", "socket(%d, %d)" % (domain, type_ & 0xF), "strict mode",
                   "raw and packet sockets bypass the proxy")
    r = probe(op, domain, type_, proto)
    assert r["socket"] == "ok", str(r)
    assert not refusal_lines(r), str(r)
    warnings = [l for l in r.stderr.splitlines() if l.startswith("socksify: ")
                and " socket(%d, %d) allowed: " % (domain, type_ & 0xF) in l]
    assert len(warnings) == 1 and "raw and packet sockets bypass the proxy" in warnings[0] \
        and "--strict refuses it" in warnings[0], "no warning line\n%s" % r


# families that leave the machine other than by IP: refused in strict mode, left alone otherwise
FOREIGN_SOCKETS = {"vsock-stream": (40, 1, 0), "xdp": (44, 3, 0)}


@pytest.mark.parametrize("case", list(FOREIGN_SOCKETS))
def test_foreign_families_refused_in_strict_mode(topo, case):
    domain, type_, proto = FOREIGN_SOCKETS[case]
    control = direct("socket", domain, type_, proto)
    if control["socket"] != "ok":
        pytest.skip("the kernel refuses socket(%d, %d, %d) here: %s" % (domain, type_, proto,
                                                                       control["socket"]))
    r = probe("socket", domain, type_, proto, strict=True)
    assert r["socket"] == "EPERM", str(r)
    assert_refused(r, "EPERM", "socket(%d, %d)" % (domain, type_),
                   "address family %d is not carried by the proxy" % domain)
    r = probe("socket", domain, type_, proto)
    assert r["socket"] == "ok" and not refusal_lines(r), str(r)


def test_strict_raw_ping_never_on_wire(wire):
    r = probe("raw-ping", netns.TARGET_IP, strict=True)
    assert_only_proxy(wire, [r])
    assert r["socket"] == "EPERM" and r["send"] is None, str(r)
    assert_refused(r, "EPERM", "raw and packet sockets")


def test_raw_ping_without_socksify_visible(wire):
    r = direct("raw-ping", netns.TARGET_IP)
    assert r["socket"] == "ok" and r["send"] not in (None, "EPERM"), str(r)
    assert_seen(wire, [r], "an ICMP echo to the target",
                lambda p: p.kind == "icmp" and p.dst == netns.TARGET_IP)


# --------------------------------------------------------------------------
# 6. other stream protocols: MPTCP is TCP to the proxy; SCTP and SEQPACKET are refused
# --------------------------------------------------------------------------

def skip_unless_kernel_has(proto):
    control = direct("stream", proto, "127.0.0.1", 9)
    if control["socket"] in ("EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EAFNOSUPPORT", "EINVAL"):
        pytest.skip("this kernel has no %s sockets (socket: %s)" % (proto, control["socket"]))
    assert control["socket"] == "ok", str(control)


@STRICT
def test_mptcp_goes_through_proxy(wire, strict):
    skip_unless_kernel_has("mptcp")
    r = probe("stream", "mptcp", netns.TARGET_IP, 80, strict=strict)
    assert_only_proxy(wire, [r], min_proxy_connections=1)
    assert r["connect"] == "ok", str(r)
    assert_reached_via_proxy(r)


def test_mptcp_without_socksify_visible(wire):
    skip_unless_kernel_has("mptcp")
    r = direct("stream", "mptcp", netns.TARGET_IP, 80)
    assert_seen(wire, [r], "an MPTCP SYN to the target",
                lambda p: p.syn and p.dst == netns.TARGET_IP and p.dport == 80)


@pytest.mark.parametrize("proto,name", [("sctp", "SCTP"), ("seqpacket", "SEQPACKET")])
@STRICT
def test_other_stream_protocols_refused(wire, proto, name, strict):
    skip_unless_kernel_has(proto)
    r = probe("stream", proto, netns.TARGET_IP, 80, strict=strict)
    assert_only_proxy(wire, [r])
    assert r["connect"] == "EPERM", str(r)
    assert_refused(r, "EPERM", name, netns.TARGET_IP)


@pytest.mark.parametrize("proto", ["sctp", "seqpacket"])
def test_other_stream_protocols_without_socksify_visible(wire, proto):
    skip_unless_kernel_has(proto)
    r = direct("stream", proto, netns.TARGET_IP, 80)
    assert_seen(wire, [r], "an SCTP INIT to the target",
                lambda p: p.dst == netns.TARGET_IP and p.proto == 132)


# --------------------------------------------------------------------------
# 7. io_uring: its connect and sendmsg never pass through libc
# --------------------------------------------------------------------------

def test_io_uring(topo):
    control = direct("io_uring")
    if control["io_uring_setup"] != "ok":
        pytest.skip("io_uring_setup fails here without socksify: %s" % control["io_uring_setup"])
    r = probe("io_uring", strict=True)
    assert r["io_uring_setup"] == "EPERM", str(r)
    assert_refused(r, "EPERM", "io_uring_setup refused: strict mode",
                   "io_uring's connect and sendmsg bypass libc")
    r = probe("io_uring")
    assert r["io_uring_setup"] == "ok", str(r)
    assert not refusal_lines(r), str(r)
    assert "io_uring_setup allowed: io_uring's connect and sendmsg bypass libc" in r.stderr, str(r)
