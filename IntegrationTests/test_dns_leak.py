"""DNS-leak tests: with socks5h:// no name lookup and no packet leaves the client
except its TCP connections to the proxy, checked on the wire.

Needs root (network namespaces, veth, tcpdump).  The topology (see netns.py):

    sxc  client 10.200.1.1  -- only neighbour: the proxy; resolv.conf -> 10.200.9.9 (exists nowhere)
    sxp  proxy  10.200.1.2:1080 (microsocks) / 10.200.2.1; hosts: 10.200.2.2 target.test
    sxt  target 10.200.2.2:80 (servers/target_server.py, answers "peer <source-ip>")

Only the proxy knows target.test, so the body "peer 10.200.2.1" proves that the
client sent the *name* to the proxy and the proxy made the connection.  Every
test runs tcpdump on the client's veth and checks that the only packets are
TCP between 10.200.1.1 and 10.200.1.2:1080 (and ARP between the two), and that
the proxied connections really were captured (so an empty capture cannot pass).
The negative controls show the same capture does see a direct DNS query.

Run:  IntegrationTests/clients/build.sh && python3 -m pytest IntegrationTests/test_dns_leak.py -v
"""

import ipaddress
import json
import os
import re
import shutil
from pathlib import Path

import pytest

if os.geteuid() != 0:
    pytest.skip("DNS-leak tests need root (network namespaces, veth pairs, tcpdump)",
                allow_module_level=True)

import netns  # noqa: E402  (IntegrationTests/ is on sys.path via rootdir/conftest)
from conftest import (CLIENTS, MICROSOCKS, REQUIRE_SOCKSIFY, SERVERS, SOCKSIFY_BIN,  # noqa: E402
                      SOCKSIFY_LIB, clean_env)

PROXY5H = "socks5h://%s:%d" % (netns.PROXY_IP, netns.PROXY_PORT)
PROXY5 = "socks5://%s:%d" % (netns.PROXY_IP, netns.PROXY_PORT)
URL = "http://%s/" % netns.TARGET_NAME
BODY = "peer %s" % netns.PROXY_OUT_IP          # what the target sees: the proxy
POOL4 = ipaddress.ip_network("127.192.0.0/10")  # socksify's default synthetic pools
POOL6 = ipaddress.ip_network("100::/64")
CLIENT_BIN = CLIENTS / "bin"
PY = "/usr/bin/python3"  # a real ELF inside the namespace (LD_PRELOAD applies)
RUN_TIMEOUT = 40

VIA_RE = re.compile(r"connect %s:80 via socks5h %s:%d ok" % (
    re.escape(netns.TARGET_NAME), re.escape(netns.PROXY_IP), netns.PROXY_PORT))


# --------------------------------------------------------------------------
# client programs (python ones inline: they need no files of their own)
# --------------------------------------------------------------------------

PY_HTTP = r'''
import socket, sys
def http_get(s, name):
    s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % name).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        sys.exit("no HTTP response: %r" % data)
    sys.stdout.write(body.decode(errors="replace"))
    sys.stdout.flush()
'''

PY_GETADDRINFO = PY_HTTP + r'''
name = sys.argv[1]
infos = socket.getaddrinfo(name, 80, socket.AF_UNSPEC, socket.SOCK_STREAM)
last = None
for fam, typ, proto, _, addr in infos:
    print("py: %s -> %s" % (name, addr[0]), file=sys.stderr)
    s = socket.socket(fam, typ, proto)
    s.settimeout(15)
    try:
        s.connect(addr)
    except OSError as e:
        print("py: connect %r: %s" % (addr, e), file=sys.stderr)
        last = e
        s.close()
        continue
    http_get(s, name)
    sys.exit(0)
sys.exit("no address of %s worked: %r" % (name, last))
'''

PY_GETHOSTBYNAME = PY_HTTP + r'''
name = sys.argv[1]
ip = socket.gethostbyname(name)
print("py: %s -> %s" % (name, ip), file=sys.stderr)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(15)
s.connect((ip, 80))
http_get(s, name)
'''

PY_IPV6_ONLY = PY_HTTP + r'''
name = sys.argv[1]
infos = socket.getaddrinfo(name, 80, socket.AF_INET6, socket.SOCK_STREAM)
fam, typ, proto, _, addr = infos[0]
assert fam == socket.AF_INET6, infos
print("py: %s -> %s" % (name, addr[0]), file=sys.stderr)
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(addr)
http_get(s, name)
'''

# the name map must survive exec: one process resolves, another connects
SH_TWO_PROCESSES = (
    'ip=$(%s -c "import socket;print(socket.gethostbyname(\\"%s\\"))") || exit 3; '
    'echo "sh: resolved to $ip" >&2; exec curl -sS --max-time 15 http://$ip/'
    % (PY, netns.TARGET_NAME))

PY_UDP53 = r'''
import errno, json, socket, sys
out = {}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06target\x04test\x00\x00\x01\x00\x01",
             (sys.argv[1], 53))
    out["sendto"] = "sent"
except OSError as e:
    out["sendto"] = errno.errorcode.get(e.errno, str(e.errno))
s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect((sys.argv[1], 53))
    s.send(b"\x12\x35\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06target\x04test\x00\x00\x01\x00\x01")
    out["connect_send"] = "sent"
except OSError as e:
    out["connect_send"] = errno.errorcode.get(e.errno, str(e.errno))
s.close()
print(json.dumps(out))
'''

# res_query looked up in the global scope, so the preloaded interposer is the one called
PY_RES_QUERY = r'''
import ctypes, json
libc = ctypes.CDLL(None)
buf = ctypes.create_string_buffer(4096)
n = libc.res_query(b"target.test", 1, 1, buf, 4096)   # C_IN, T_A
print(json.dumps({"res_query": n}))
'''


def curl_cmd(url=URL):
    return [shutil.which("curl") or "/usr/bin/curl", "-sS", "--max-time", "15", url]


def wget_cmd(url=URL):
    return [shutil.which("wget") or "/usr/bin/wget", "-qO-", "-t", "1", "-T", "15", url]


CLEAN_CLIENTS = {
    "curl": lambda: curl_cmd(),
    "wget": lambda: wget_cmd(),
    "py_getaddrinfo": lambda: [PY, "-c", PY_GETADDRINFO, netns.TARGET_NAME],
    "py_gethostbyname": lambda: [PY, "-c", PY_GETHOSTBYNAME, netns.TARGET_NAME],
    "c_gethostbyname_r": lambda: [CLIENT_BIN / "resolve_r", netns.TARGET_NAME],
    "c_getaddrinfo_null_hints": lambda: [CLIENT_BIN / "resolve_gai_null", netns.TARGET_NAME],
    "py_ipv6_only": lambda: [PY, "-c", PY_IPV6_ONLY, netns.TARGET_NAME],
    "sh_resolve_then_connect_in_other_process": lambda: ["/bin/sh", "-c", SH_TWO_PROCESSES],
}
NEEDS = {"curl": "curl", "wget": "wget", "sh_resolve_then_connect_in_other_process": "curl"}


# --------------------------------------------------------------------------
# fixtures
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
    if not (lib_next_to_bin.is_file() or os.environ.get("SOCKSIFY_LIBRARY")
            or Path(SOCKSIFY_LIB).is_file()):
        _skip_or_fail("socksify library not built: %s missing (run `swift build`)"
                      % lib_next_to_bin)
    return SOCKSIFY_BIN


@pytest.fixture(scope="module")
def topo(log_dir, socksify_bin):
    ok, reason = netns.netns_available()
    if not ok:
        pytest.skip(reason)
    for tool, pkg in ((netns.TCPDUMP, "tcpdump"), (MICROSOCKS, "microsocks")):
        if not os.access(tool, os.X_OK):
            pytest.skip("%s not installed (apt-get install %s)" % (tool, pkg))
    if not os.access(PY, os.X_OK):
        pytest.skip("%s missing" % PY)
    t = netns.Topology(log_dir, MICROSOCKS, SERVERS / "target_server.py", PY)
    try:
        t.setup()
        # sanity: the proxy itself reaches target.test by name (its own hosts file)
        r = netns.run(netns.in_ns(netns.PROXY_NS, [PY, "-c", PY_GETHOSTBYNAME,
                                                   netns.TARGET_NAME]), timeout=20)
        assert r.returncode == 0 and BODY in r.stdout, "topology broken:\n%s" % r
        yield t
    finally:
        t.teardown()


@pytest.fixture
def capture(topo, log_dir):
    cap = netns.Capture(log_dir)
    try:
        yield cap
    finally:
        cap.close()


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def in_client(argv, timeout=RUN_TIMEOUT):
    return netns.run(netns.in_ns(netns.CLIENT_NS, argv), timeout=timeout, env=clean_env())


def socksified(argv, proxy=PROXY5H, options=(), timeout=RUN_TIMEOUT):
    cmd = [SOCKSIFY_BIN, "-v", "-p", proxy] + list(options) + ["--"] + [str(a) for a in argv]
    return in_client(cmd, timeout=timeout)


def describe(packets, limit=40):
    lines = [str(p) for p in packets[:limit]]
    if len(packets) > limit:
        lines.append("... %d more" % (len(packets) - limit))
    return "\n".join(lines) or "(none)"


def assert_no_leak(cap, results, min_proxy_connections):
    packets = cap.stop()
    bad = netns.leaks(packets)
    ctx = "\n\n".join(str(r) for r in results)
    assert not bad, ("packets other than client<->proxy:1080 on the client's wire:\n%s\n\n"
                     "all packets:\n%s\n\n%s" % (describe(bad), describe(packets), ctx))
    syns = netns.proxy_syns(packets)
    assert len(syns) >= min_proxy_connections, (
        "capture saw %d connection(s) to the proxy, expected >= %d (is tcpdump capturing?)\n"
        "packets:\n%s\ntcpdump stderr:\n%s\n\n%s"
        % (len(syns), min_proxy_connections, describe(packets), cap.stderr_text(), ctx))
    return packets


def assert_nothing_on_wire(cap, results):
    packets = cap.stop()
    ctx = "\n\n".join(str(r) for r in results)
    assert not netns.dns_queries(packets), "DNS on the wire:\n%s\n\n%s" % (describe(packets), ctx)
    bad = netns.leaks(packets)
    assert not bad, "unexpected packets:\n%s\n\n%s" % (describe(bad), ctx)
    return packets


def need(tool):
    if not shutil.which(tool):
        pytest.skip("%s not installed (apt-get install %s)" % (tool, tool))


def need_client_bin(argv):
    for a in argv:
        if isinstance(a, Path) and str(a).startswith(str(CLIENT_BIN)) and not os.access(a, os.X_OK):
            pytest.skip("%s not built (run IntegrationTests/clients/build.sh)" % a)


def resolved_addresses(stderr):
    """Addresses the clients printed ("py: NAME -> ADDR", "resolve_r: NAME -> ADDR", ...)."""
    out = []
    for m in re.finditer(r"(?:py|resolve_r|sh): (?:%s -> |resolved to )(\S+)"
                         % re.escape(netns.TARGET_NAME), stderr):
        out.append(ipaddress.ip_address(m.group(1).strip("[]")))
    for m in re.finditer(r"resolve_gai_null: %s -> family \d+ socktype 1 protocol \d+ (\S+)"
                         % re.escape(netns.TARGET_NAME), stderr):
        out.append(ipaddress.ip_address(m.group(1)))
    return out


# --------------------------------------------------------------------------
# 1-6: clients resolve target.test through the proxy, nothing else on the wire
# --------------------------------------------------------------------------

@pytest.mark.parametrize("client", list(CLEAN_CLIENTS))
def test_name_resolved_by_proxy_no_leak(topo, capture, client):
    if client in NEEDS:
        need(NEEDS[client])
    argv = CLEAN_CLIENTS[client]()
    need_client_bin(argv)
    r = socksified(argv)
    assert r.returncode == 0, str(r)
    assert BODY in r.stdout, "target did not see the proxy's address\n%s" % r
    # the proxy was asked for the name (ATYP 3), not for an address
    assert VIA_RE.search(r.stderr), "no 'connect target.test:80 via socks5h ... ok' line\n%s" % r
    # whatever address the program saw is a synthetic one
    for addr in resolved_addresses(r.stderr):
        pool = POOL6 if addr.version == 6 else POOL4
        assert addr in pool, "%s resolved to %s, outside %s\n%s" % (client, addr, pool, r)
    if client == "py_ipv6_only":
        addrs = resolved_addresses(r.stderr)
        assert addrs and all(a.version == 6 for a in addrs), str(r)
    assert_no_leak(capture, [r], min_proxy_connections=1)


def test_all_clients_in_one_capture(topo, capture):
    """Every clean client back to back under one capture: one proxy connection each."""
    results = []
    for client, make in CLEAN_CLIENTS.items():
        if client in NEEDS and not shutil.which(NEEDS[client]):
            continue
        argv = make()
        if any(isinstance(a, Path) and not os.access(a, os.X_OK) for a in argv):
            continue
        r = socksified(argv)
        results.append(r)
    failed = [r for r in results if r.returncode != 0 or BODY not in r.stdout]
    packets = capture.stop()
    bad = netns.leaks(packets)
    assert not bad, "leak:\n%s\n\n%s" % (describe(bad), "\n\n".join(map(str, results)))
    assert not failed, "\n\n".join(map(str, failed))
    assert len(netns.proxy_syns(packets)) >= len(results), describe(packets)


# --------------------------------------------------------------------------
# 7: direct DNS from the program is refused, and nothing is sent
# --------------------------------------------------------------------------

def test_dig_refused(topo, capture):
    need("dig")
    r = socksified(["dig", "@" + netns.DEAD_DNS_IP, netns.TARGET_NAME, "+time=3", "+tries=2"])
    assert r.returncode != 0, "dig succeeded under socksify?\n%s" % r
    # refused at once, not a timeout against the unanswerable server (2 x 3 s)
    assert r.elapsed < 5.0, "dig took %.1fs: it was not refused, it timed out\n%s" % (r.elapsed, r)
    assert re.search(r"socksify:.*refused", r.stderr), "no socksify 'refused' line\n%s" % r
    assert_nothing_on_wire(capture, [r])


def test_udp53_from_python_never_direct(topo, capture):
    r = socksified([PY, "-c", PY_UDP53, netns.DEAD_DNS_IP])
    assert r.returncode == 0, str(r)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # With names resolved by the proxy, UDP to port 53 may only go through the proxy; this one
    # (microsocks) cannot carry UDP, so the program gets EOPNOTSUPP: never a direct query.
    assert out["sendto"] in ("EOPNOTSUPP", "ENOTSUP") and out["connect_send"] in ("EOPNOTSUPP", "ENOTSUP"), str(r)
    assert re.search(r"socksify:.*command not supported", r.stderr), "no socksify line\n%s" % r
    assert_nothing_on_wire(capture, [r])


def test_res_query_refused(topo, capture):
    r = socksified([PY, "-c", PY_RES_QUERY])
    assert r.returncode == 0, str(r)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["res_query"] == -1, str(r)
    assert re.search(r"socksify:.*res_query.*refused", r.stderr), "no 'refused' line\n%s" % r
    assert_nothing_on_wire(capture, [r])


# --------------------------------------------------------------------------
# 8: negative controls: without socksify the direct path is closed, and the
#    capture does see the attempted query (so it would have seen a leak)
# --------------------------------------------------------------------------

def test_without_socksify_direct_path_closed_and_query_visible(topo, capture):
    need("curl")
    results = []
    r = in_client(curl_cmd())
    results.append(r)
    assert r.returncode == 6, "curl without socksify should fail to resolve (exit 6)\n%s" % r
    for script in (PY_GETHOSTBYNAME, PY_GETADDRINFO):
        r = in_client([PY, "-c", script, netns.TARGET_NAME])
        results.append(r)
        assert r.returncode != 0 and "gaierror" in r.stderr, str(r)
    # and the target's address is not reachable directly either
    r = in_client(curl_cmd("http://%s/" % netns.TARGET_IP))
    results.append(r)
    assert r.returncode != 0 and BODY not in r.stdout, str(r)
    packets = capture.stop()
    queries = [p for p in netns.dns_queries(packets) if p.dst == netns.DEAD_DNS_IP]
    assert queries, ("the capture did not see the direct DNS query to %s: it could not see "
                     "a leak either\npackets:\n%s\n\n%s"
                     % (netns.DEAD_DNS_IP, describe(packets), "\n\n".join(map(str, results))))
    # never any traffic to the target from the client
    assert not [p for p in packets if p.dst == netns.TARGET_IP], describe(packets)


def test_without_socksify_dig_is_visible(topo, capture):
    """The dig of test_dig_refused, without socksify, does put a query on the wire."""
    need("dig")
    r = in_client(["dig", "@" + netns.DEAD_DNS_IP, netns.TARGET_NAME, "+time=1", "+tries=1"])
    assert r.returncode != 0, str(r)
    packets = capture.stop()
    assert [p for p in netns.dns_queries(packets) if p.dst == netns.DEAD_DNS_IP], \
        "no query seen\n%s\n%s" % (describe(packets), r)


# --------------------------------------------------------------------------
# 9: --strict with local resolution (socks5://): the lookup is refused
# --------------------------------------------------------------------------

def test_strict_local_resolution_refused(topo, capture):
    need("curl")
    results = []
    r = socksified(curl_cmd(), proxy=PROXY5, options=["--strict"])
    results.append(r)
    assert r.returncode != 0, "curl resolved target.test in strict mode?\n%s" % r
    assert r.elapsed < 10, "strict refusal should be immediate, took %.1fs\n%s" % (r.elapsed, r)
    assert re.search(r"socksify:.*(refused|strict)", r.stderr), "no refusal line\n%s" % r
    r = socksified([PY, "-c", PY_GETHOSTBYNAME, netns.TARGET_NAME], proxy=PROXY5,
                   options=["--strict"])
    results.append(r)
    assert r.returncode != 0 and "gaierror" in r.stderr, str(r)
    assert re.search(r"socksify:.*(refused|strict)", r.stderr), "no refusal line\n%s" % r
    assert_nothing_on_wire(capture, results)


def test_strict_ip_literal_still_proxied(topo, capture):
    """Control for the strict test: strict socks5:// still carries an address through the proxy."""
    need("curl")
    r = socksified(curl_cmd("http://%s/" % netns.TARGET_IP), proxy=PROXY5, options=["--strict"])
    assert r.returncode == 0 and BODY in r.stdout, str(r)
    assert_no_leak(capture, [r], min_proxy_connections=1)
