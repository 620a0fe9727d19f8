"""UDP-leak tests: under socksify, a program's UDP leaves the client only as datagrams to the
proxy's UDP relay (plus the TCP control connection to the proxy), checked on the wire.

Needs root (network namespaces, veth, tcpdump).  The topology (see netns_udp.py):

    sxuc client 10.200.1.1 -- only neighbour: the proxy; host routes to 10.200.9.9 (its
                              nameserver) and 10.200.2.2 (the target) lead to the proxy host,
                              which drops them (no forwarding): direct attempts show on the
                              wire but go nowhere
    sxup proxy  10.200.1.2:1080 danted with UDP / 10.200.2.1; hosts: target.test, udp.test
    sxut target 10.200.2.2: UDP echo on 7007 ("from SRC:PORT|" + data), dnsmasq on 53
                              (target.test -> 10.200.2.2)

"from 10.200.2.1:" in an echo proves the datagram went through the proxy.  Every test captures
on the client's veth and checks that the only packets are TCP to 10.200.1.2:1080, UDP between
the client and the relay address(es) socksify logged, and ARP; and that datagrams to the relay
really were captured (so an empty capture cannot pass).  The negative controls show that
without socksify the same clients fail and the capture does see their direct datagrams.

Run:  python3 -m pytest IntegrationTests/test_udp_leak.py -v
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

if os.geteuid() != 0:
    pytest.skip("UDP-leak tests need root (network namespaces, veth pairs, tcpdump)",
                allow_module_level=True)

import netns  # noqa: E402
import netns_udp as nu  # noqa: E402
from conftest import (CLIENTS, PYTHON, REQUIRE_SOCKSIFY, SOCKSIFY_BIN, SOCKSIFY_LIB,  # noqa: E402
                      clean_env)

PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else PYTHON
PROXY5H = "socks5h://%s:%d" % (nu.PROXY_IP, nu.PROXY_PORT)
PROXY5 = "socks5://%s:%d" % (nu.PROXY_IP, nu.PROXY_PORT)
VIA = "from %s:" % nu.PROXY_OUT_IP
RUN_TIMEOUT = 30
UDP_MMSG = CLIENTS / "bin" / "udp_mmsg"
RELAY_RE = re.compile(r"association ok \(relay ([0-9.]+):(\d+)\)")

ECHO_CLIENT = r'''
import errno, json, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
out = {}
try:
    dest = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
except socket.gaierror as e:
    out["error"] = "gaierror: %s" % e
    print(json.dumps(out))
    sys.exit(1)
out["dest"] = list(dest)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]) if len(sys.argv) > 3 else 10)
try:
    s.sendto(b"hello", dest)
    data, sender = s.recvfrom(65535)
    out["reply"] = data.decode()
    out["sender"] = list(sender)
    s.connect(dest)
    s.send(b"connected")
    out["connected"] = s.recv(65535).decode()
except OSError as e:
    out["error"] = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
print(json.dumps(out))
sys.exit(0 if "error" not in out else 1)
'''


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------

def _skip_or_fail(msg):
    if REQUIRE_SOCKSIFY:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def socksify_bin():
    lib_next_to_bin = Path(SOCKSIFY_BIN).parent / "libsocksify-preload.so"
    if not os.access(SOCKSIFY_BIN, os.X_OK):
        _skip_or_fail("socksify not built: %s missing (run `swift build`)" % SOCKSIFY_BIN)
    if not (lib_next_to_bin.is_file() or Path(SOCKSIFY_LIB).is_file()):
        _skip_or_fail("socksify library not built: %s missing (run `swift build`)"
                      % lib_next_to_bin)
    return SOCKSIFY_BIN


@pytest.fixture(scope="module")
def topo(log_dir, socksify_bin):
    ok, reason = netns.netns_available()
    if not ok:
        pytest.skip(reason)
    for tool, pkg in ((netns.TCPDUMP, "tcpdump"), (nu.DANTED, "dante-server"),
                      (nu.DNSMASQ, "dnsmasq-base")):
        if not os.access(tool, os.X_OK):
            pytest.skip("%s not installed (apt-get install %s)" % (tool, pkg))
    t = nu.UdpTopology(log_dir, PY)
    try:
        t.setup()
        # sanity: from the proxy's namespace the echo server answers, directly
        r = netns.run(netns.in_ns(nu.PROXY_NS, [PY, "-c", ECHO_CLIENT, nu.TARGET_IP,
                                                nu.ECHO_PORT, 3]), timeout=20)
        assert r.returncode == 0 and VIA in r.stdout, "topology broken:\n%s" % r
        yield t
    finally:
        t.teardown()


@pytest.fixture
def capture(topo, log_dir):
    cap = nu.capture(log_dir)
    try:
        yield cap
    finally:
        cap.close()


def in_client(argv, timeout=RUN_TIMEOUT):
    return netns.run(netns.in_ns(nu.CLIENT_NS, argv), timeout=timeout, env=clean_env())


def socksified(argv, proxy=PROXY5H, timeout=RUN_TIMEOUT):
    cmd = [SOCKSIFY_BIN, "-v", "-p", proxy, "--"] + [str(a) for a in argv]
    return in_client(cmd, timeout=timeout)


def relays(results):
    """The relay endpoints socksify was given (from its -v lines)."""
    found = set()
    for r in results:
        for host, port in RELAY_RE.findall(r.stderr):
            found.add((host, int(port)))
    return found


def describe(packets, limit=40):
    lines = [str(p) for p in packets[:limit]]
    if len(packets) > limit:
        lines.append("... %d more" % (len(packets) - limit))
    return "\n".join(lines) or "(none)"


def assert_only_proxy_on_wire(cap, results, min_associations=1):
    packets = cap.stop()
    ctx = "\n\n".join(str(r) for r in results)
    found = relays(results)
    assert len(found) >= min_associations, "no 'association ok (relay ...)' line\n%s" % ctx
    assert {h for h, _ in found} == {nu.PROXY_IP}, "relay not on the proxy: %s\n%s" % (found, ctx)
    ports = {p for _, p in found}
    bad = nu.leaks(packets, ports)
    assert not bad, ("packets other than TCP to %s:%d and UDP to its relay %s on the client's "
                     "wire:\n%s\n\nall packets:\n%s\n\n%s"
                     % (nu.PROXY_IP, nu.PROXY_PORT, sorted(ports), describe(bad),
                        describe(packets), ctx))
    assert nu.relay_udp(packets, ports), ("no datagram to the relay captured (is tcpdump "
                                          "capturing?)\n%s\n%s" % (describe(packets), ctx))
    assert len(nu.proxy_syns(packets)) >= min_associations, describe(packets)
    return packets


def need(tool):
    if not shutil.which(tool):
        pytest.skip("%s not installed (apt-get install %s)" % (tool, tool))


# --------------------------------------------------------------------------
# through the proxy: nothing but the proxy on the wire
# --------------------------------------------------------------------------

@pytest.mark.parametrize("proxy", [PROXY5H, PROXY5], ids=["socks5h", "socks5"])
def test_dig_through_proxy(topo, capture, proxy):
    need("dig")
    before = topo.dns.stderr_text().count("query[A] %s from %s" % (nu.TARGET_NAME,
                                                                    nu.PROXY_OUT_IP))
    r = socksified(["dig", "@" + nu.TARGET_IP, nu.TARGET_NAME, "A", "+time=3", "+tries=1",
                    "+nocookie"], proxy=proxy)
    # first the wire (a leak matters more than a failure), then the answer
    assert_only_proxy_on_wire(capture, [r])
    assert r.returncode == 0, ("dig got no answer through the proxy\n%s\ndanted log:\n%s"
                               % (r, topo.danted_log_text()[-1500:]))
    assert re.search(r"^%s\.\s+\d+\s+IN\s+A\s+%s$" % (re.escape(nu.TARGET_NAME),
                                                       re.escape(nu.TARGET_IP)),
                     r.stdout, re.M), "no answer %s\n%s" % (nu.TARGET_IP, r)
    assert re.search(r"udp %s:53 via socks5h? %s:%d association ok"
                     % (re.escape(nu.TARGET_IP), re.escape(nu.PROXY_IP), nu.PROXY_PORT),
                     r.stderr), r
    # dnsmasq saw the query come from the proxy's outside address
    after = topo.dns.stderr_text().count("query[A] %s from %s" % (nu.TARGET_NAME,
                                                                   nu.PROXY_OUT_IP))
    assert after > before, "dnsmasq did not see the query from %s\n%s\n%s" % (
        nu.PROXY_OUT_IP, r, topo.dns.stderr_text()[-2000:])


@pytest.mark.parametrize("proxy", [PROXY5H, PROXY5], ids=["socks5h", "socks5"])
def test_echo_by_ip(topo, capture, proxy):
    r = socksified([PY, "-c", ECHO_CLIENT, nu.TARGET_IP, nu.ECHO_PORT], proxy=proxy)
    assert r.returncode == 0, str(r)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["reply"].startswith(VIA) and out["reply"].endswith("|hello"), r
    assert out["sender"] == [nu.TARGET_IP, nu.ECHO_PORT], r
    assert out["connected"].startswith(VIA) and out["connected"].endswith("|connected"), r
    assert_only_proxy_on_wire(capture, [r])


@pytest.mark.parametrize("name", [nu.UDP_NAME, nu.TARGET_NAME])
def test_echo_by_name_resolved_by_proxy(topo, capture, name):
    r = socksified([PY, "-c", ECHO_CLIENT, name, nu.ECHO_PORT], proxy=PROXY5H)
    assert r.returncode == 0, str(r)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["dest"][0].startswith("127."), "not a synthetic address: %s\n%s" % (out, r)
    assert out["reply"].startswith(VIA) and out["reply"].endswith("|hello"), r
    assert out["connected"].startswith(VIA) and out["connected"].endswith("|connected"), r
    assert re.search(r"udp %s:%d via socks5h %s:%d association ok"
                     % (re.escape(name), nu.ECHO_PORT, re.escape(nu.PROXY_IP), nu.PROXY_PORT),
                     r.stderr), "the proxy was not asked for the name\n%s" % r
    assert_only_proxy_on_wire(capture, [r])


MMSG_MODES = {"sendmmsg": [], "sendmmsg-connected": ["--connect"],
              # libuv 1.44 (Debian 12; dig, node) calls syscall(SYS_sendmmsg/SYS_recvmmsg)
              "libuv-syscall": ["--syscall"], "libuv-syscall-connected": ["--syscall", "--connect"]}


@pytest.mark.parametrize("mode", list(MMSG_MODES))
def test_sendmmsg_recvmmsg_no_leak(topo, capture, mode):
    if not os.access(UDP_MMSG, os.X_OK):
        _skip_or_fail("%s not built (run IntegrationTests/clients/build.sh)" % UDP_MMSG)
    n = 5
    r = socksified([UDP_MMSG, nu.TARGET_IP, nu.ECHO_PORT, n] + MMSG_MODES[mode], proxy=PROXY5)
    # first the wire: whatever the program got, nothing may have gone anywhere but the proxy
    packets = capture.stop()
    ports = {p for _, p in relays([r])}
    bad = nu.leaks(packets, ports)
    assert not bad, "leak on the client's wire:\n%s\n\nall packets:\n%s\n\n%s" % (
        describe(bad), describe(packets), r)
    assert r.returncode == 0, str(r)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["sent"] == n and out["received"] == n, r
    assert all(p.startswith(VIA) for p in out["payloads"]), r
    assert set(out["senders"]) == {"%s:%d" % (nu.TARGET_IP, nu.ECHO_PORT)}, r


def test_all_in_one_capture(topo, capture):
    """The echo clients back to back, both proxies: each association's relay, nothing else."""
    results = []
    for proxy, host in ((PROXY5, nu.TARGET_IP), (PROXY5H, nu.TARGET_IP), (PROXY5H, nu.UDP_NAME)):
        results.append(socksified([PY, "-c", ECHO_CLIENT, host, nu.ECHO_PORT], proxy=proxy))
    failed = [r for r in results if r.returncode != 0]
    assert not failed, "\n\n".join(map(str, failed))
    assert_only_proxy_on_wire(capture, results, min_associations=len(results))


# --------------------------------------------------------------------------
# negative controls: without socksify the direct path is closed, and the capture sees it
# --------------------------------------------------------------------------

def test_without_socksify_direct_path_closed(topo, capture):
    results = []
    if shutil.which("dig"):
        r = in_client(["dig", "@" + nu.TARGET_IP, nu.TARGET_NAME, "+time=1", "+tries=1"])
        results.append(r)
        assert r.returncode != 0 and not re.search(r"IN\s+A\s+%s" % re.escape(nu.TARGET_IP),
                                                   r.stdout), str(r)
    r = in_client([PY, "-c", ECHO_CLIENT, nu.TARGET_IP, nu.ECHO_PORT, 1])
    results.append(r)
    assert r.returncode != 0 and "timed out" in r.stdout, str(r)
    r = in_client([PY, "-c", ECHO_CLIENT, nu.UDP_NAME, nu.ECHO_PORT, 1])
    results.append(r)
    assert r.returncode != 0 and "gaierror" in r.stdout, str(r)
    packets = capture.stop()
    ctx = "\n\n".join(map(str, results))
    direct = [p for p in packets if p.kind == "udp" and p.dst == nu.TARGET_IP]
    ports = {p.dport for p in direct}
    assert nu.ECHO_PORT in ports, ("the capture did not see the direct datagram to the echo "
                                   "server: it could not see a leak either\n%s\n\n%s"
                                   % (describe(packets), ctx))
    if shutil.which("dig"):
        assert 53 in ports, "direct DNS query not seen\n%s\n\n%s" % (describe(packets), ctx)
    # the name lookup went to the (dead) nameserver: visible too
    assert [p for p in packets if p.kind == "udp" and p.dst == nu.DEAD_DNS_IP and p.dport == 53], \
        describe(packets)
    # and nothing came back: the proxy host dropped them
    assert not [p for p in packets if p.src == nu.TARGET_IP], describe(packets)
