"""Event loops under socksify: a proxied non-blocking connect must not freeze the loop.

A non-blocking connect through a proxy answers EINPROGRESS at once and the program's own
poll/select/epoll waits drive the exchange (docs/async-handshake.md), so one event loop runs
every handshake at the same time and is never frozen by one.  These tests are the proof.

  * Node.js, 20 concurrent http.get, a 1 ms setInterval measuring the longest loop gap.
  * Python asyncio, 100 concurrent open_connection, a ticker task measuring loop stalls.
  * curl --parallel, 20 transfers at once.
    (each of the three: one run in a module fixture; one test that every response came,
     through the proxy; one timing test: the loop never stalls, the handshakes overlap)
  * Edge-triggered epoll in C (clients/epoll_et_connect.c): EPOLLOUT|EPOLLET, and the nginx
    style single EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET registration; plus a refusal seen
    through it: the edge comes when the tunnel is up, not before, not never.
  * A server-first protocol: after EINPROGRESS the client waits only for readable (poll,
    epoll, select) and reads the banner.
  * The program's own limit: curl --max-time 1 and python settimeout(2) against a proxy
    that never answers, with a 20 s handshake timeout: they must give up at their own
    limit, not the proxy's 20 s.

The project server (servers/socks_test_server.py) adds the delays: slow=0.05 sleeps 50 ms
before each reply (two replies per SOCKS5 handshake without auth: 100 ms), --connect-delay
0.05 sleeps before its own connect to the destination.  Times are measured inside the
clients with monotonic clocks.  Everything on loopback, with --proxy-loopback.

Run:  swift build && IntegrationTests/clients/build.sh && \\
      SOCKSIFY_REQUIRE=1 python3 -m pytest IntegrationTests/test_event_loops.py -q
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import (CLIENTS, PROJECT_OUT, PYTHON, REQUIRE_SOCKSIFY, SCRIPTS, SERVERS,
                      ManagedProcess, ProjectSocksServer, clean_env, run)

NODE_SCRIPT = SCRIPTS / "node_http_burst.js"
LOOP_CLIENTS = SCRIPTS / "event_loop_clients.py"
EPOLL_ET = CLIENTS / "bin" / "epoll_et_connect"

SLOW = "slow=0.05"          # 50 ms before each reply
HANDSHAKE_MS = 100          # SOCKS5, no auth: method selection + CONNECT reply
CONNECT_DELAY = "0.05"      # the proxy's own connect to the destination


def show(name, res):
    """Today's numbers, visible with -s (and in the failure report)."""
    print("\n[%s] %s" % (name, res))


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def patient_target(log_dir):
    """An HTTP target that waits up to 30 s for the request.  The default target answers a
    client that has said nothing for 0.3 s with a bare "peer" line (for read-first
    clients), and a loop frozen by twenty handshakes is that late with its requests."""
    p = ManagedProcess([PYTHON, SERVERS / "target_server.py", "--listen", "127.0.0.1:0",
                        "--first-wait", "30"], "patient_target", log_dir, read_ready=True)
    p.host, p.port = "127.0.0.1", p.ready_port
    p.url = "http://127.0.0.1:%d/" % p.ready_port
    yield p
    p.stop()


@pytest.fixture(scope="module")
def epoll_et(socksify):
    r = run(["bash", CLIENTS / "build.sh"], timeout=180)
    if r.returncode != 0 or not os.access(EPOLL_ET, os.X_OK):
        msg = "%s not built (IntegrationTests/clients/build.sh)\n%s" % (EPOLL_ET, r)
        if REQUIRE_SOCKSIFY:
            pytest.fail(msg)
        pytest.skip(msg)
    return str(EPOLL_ET)


def slow_proxy(log_dir, connect_delay=False):
    extra = ["--connect-delay", CONNECT_DELAY] if connect_delay else []
    return ProjectSocksServer(log_dir, mode=SLOW, extra_args=extra)


def ok_entries(proxy):
    return [e for e in proxy.entries() if e["result"] == "ok"]


# --------------------------------------------------------------------------
# Node.js: 20 concurrent http.get
# --------------------------------------------------------------------------

NODE_N = 20


@pytest.fixture(scope="module")
def node_burst(socksify, log_dir, patient_target):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node not installed (apt-get install nodejs)")
    proxy = slow_proxy(log_dir)
    try:
        r = socksify.run([node, NODE_SCRIPT, patient_target.url, NODE_N], proxy=proxy.url(),
                         timeout=40)
        res = r.json()
        show("node %d x http.get" % NODE_N, res)
        yield r, res, proxy
    finally:
        proxy.stop()


def test_node_all_responses_through_proxy(node_burst):
    r, res, proxy = node_burst
    assert res["ok"], r
    assert res["bodies"] == {"peer %s" % PROJECT_OUT: NODE_N}, r
    assert len(ok_entries(proxy)) == NODE_N, proxy.entries()


def test_node_loop_not_blocked_by_handshakes(node_burst):
    """Today the longest gap is about the sum of the 20 handshakes (~2 s)."""
    r, res, _ = node_burst
    assert res["ok"], r
    assert res["max_gap_ms"] < 100, "event loop blocked %.0f ms\n%s" % (res["max_gap_ms"], r)
    assert res["total_ms"] < 1000, "20 requests took %.0f ms\n%s" % (res["total_ms"], r)


# --------------------------------------------------------------------------
# Python asyncio: 100 concurrent open_connection
# --------------------------------------------------------------------------

ASYNCIO_N = 100


@pytest.fixture(scope="module")
def asyncio_burst(socksify, log_dir, patient_target):
    proxy = slow_proxy(log_dir)
    try:
        r = socksify.run([PYTHON, LOOP_CLIENTS, "asyncio", patient_target.host,
                          patient_target.port, ASYNCIO_N], proxy=proxy.url(), timeout=40)
        res = r.json()
        show("asyncio %d x open_connection" % ASYNCIO_N, res)
        yield r, res, proxy
    finally:
        proxy.stop()


def test_asyncio_all_responses_through_proxy(asyncio_burst):
    r, res, proxy = asyncio_burst
    assert res["ok"], r
    assert res["bodies"] == {"peer %s" % PROJECT_OUT: ASYNCIO_N}, r
    assert len(ok_entries(proxy)) == ASYNCIO_N, proxy.entries()


def test_asyncio_loop_not_blocked_by_handshakes(asyncio_burst):
    """Today the loop stalls for all 100 handshakes in a row (~10 s)."""
    r, res, _ = asyncio_burst
    assert res["ok"], r
    assert res["max_stall_ms"] < 100, "event loop stalled %.0f ms\n%s" % (res["max_stall_ms"], r)
    # 100 handshakes of 100 ms each at once, and 100 threads in the test server: 2 s is
    # generous (without socksify and proxy the whole burst takes ~40 ms)
    assert res["total_ms"] < 2000, "100 requests took %.0f ms\n%s" % (res["total_ms"], r)


# --------------------------------------------------------------------------
# curl --parallel
# --------------------------------------------------------------------------

CURL_N = 20


@pytest.fixture(scope="module")
def curl_parallel(socksify, log_dir, patient_target):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl not installed")
    proxy = slow_proxy(log_dir)
    urls = ["%s%d" % (patient_target.url, i) for i in range(CURL_N)]
    # --parallel-immediate: open all connections at once instead of waiting for the first
    # to see whether it can multiplex (HTTP/1.1 cannot)
    argv = [curl, "-sS", "--no-progress-meter", "--max-time", "15", "--parallel",
            "--parallel-max", str(CURL_N), "--parallel-immediate",
            "-w", "W %{http_code} %{time_connect} %{time_total}\\n"] + urls
    try:
        r = socksify.run(argv, proxy=proxy.url(), timeout=40)
        lines = r.stdout.splitlines()
        w = [l.split() for l in lines if l.startswith("W ")]
        res = {"rc": r.returncode,
               "codes": sorted(set(x[1] for x in w)),
               "transfers": len(w),
               "bodies": sum(1 for l in lines if l.strip() == "peer %s" % PROJECT_OUT),
               "max_time_connect_ms": round(max(float(x[2]) for x in w) * 1000, 1) if w else None,
               "max_time_total_ms": round(max(float(x[3]) for x in w) * 1000, 1) if w else None}
        show("curl --parallel %d" % CURL_N, res)
        yield r, res, proxy
    finally:
        proxy.stop()


def test_curl_parallel_all_through_proxy(curl_parallel):
    r, res, proxy = curl_parallel
    assert res["rc"] == 0, r
    assert res["transfers"] == CURL_N and res["codes"] == ["200"], r
    assert res["bodies"] == CURL_N, r
    assert len(ok_entries(proxy)) == CURL_N, proxy.entries()


def test_curl_parallel_handshakes_overlap(curl_parallel):
    """curl starts every transfer's clock at once, so the slowest transfer's time_total is
    the whole run.  One after the other, 20 handshakes take 2 s; at once, ~0.1 s."""
    r, res, _ = curl_parallel
    assert res["rc"] == 0, r
    serial = CURL_N * HANDSHAKE_MS
    assert res["max_time_total_ms"] < 0.4 * serial, \
        "slowest of %d parallel transfers took %.0f ms (serial handshakes: %d ms)\n%s" % (
            CURL_N, res["max_time_total_ms"], serial, r)


# --------------------------------------------------------------------------
# edge-triggered epoll (C)
# --------------------------------------------------------------------------

def run_json(socksify, argv, proxy_url, timeout=30, options=()):
    r = socksify.run([str(a) for a in argv], proxy=proxy_url, options=options, timeout=timeout)
    return r, r.json()


@pytest.mark.parametrize("registration", ["out", "inout"])
def test_epoll_edge_triggered_connect(socksify, epoll_et, log_dir, patient_target,
                                      registration):
    """EPOLLOUT|EPOLLET (then MOD to EPOLLIN|EPOLLET), or one EPOLLIN|EPOLLOUT|EPOLLRDHUP|
    EPOLLET registration for the connection's life (nginx): the writable edge must come,
    and only once the tunnel is up (write then succeeds; the reply comes from the proxy's
    address)."""
    proxy = slow_proxy(log_dir, connect_delay=True)
    try:
        argv = [epoll_et, patient_target.host, patient_target.port]
        if registration == "inout":
            argv.append("--inout")
        r, res = run_json(socksify, argv, proxy.url())
        show("epoll ET %s" % registration, res)
        assert r.returncode == 0 and res["ok"], r
        assert res["connect_ret"] == 0 or res["connect_errno"] == "EINPROGRESS", r
        assert res["so_error"] == 0, r
        assert res["peer"] == "127.0.0.1 %d" % patient_target.port, r
        assert res["body"] == "peer %s" % PROJECT_OUT, r
        # the proxy takes >= 150 ms (two 50 ms replies, 50 ms to connect out): a writable
        # edge earlier than that would be a lie
        assert res["writable_ms"] >= 140, r
        assert len(ok_entries(proxy)) == 1, proxy.entries()
    finally:
        proxy.stop()


def test_epoll_edge_triggered_refusal(socksify, epoll_et, log_dir):
    """The proxy refuses (reply 5): the program learns ECONNREFUSED from connect (today) or
    from SO_ERROR after its EPOLLOUT edge (planned), and is never left waiting."""
    proxy = ProjectSocksServer(log_dir, mode="reply=5")
    try:
        r, res = run_json(socksify, [epoll_et, "127.0.0.1", 9], proxy.url())
        show("epoll ET refusal", res)
        assert r.returncode == 1 and res["ok"] is False, r
        assert (res["stage"], res["errno"]) in (("connect", "ECONNREFUSED"),
                                                ("so_error", "ECONNREFUSED")), r
        assert res["at_ms"] < 5000, r
    finally:
        proxy.stop()


# --------------------------------------------------------------------------
# a server-first protocol: wait for readable only
# --------------------------------------------------------------------------

@pytest.mark.parametrize("wait", ["poll", "epoll", "select"])
def test_server_first_wait_readable_only(socksify, log_dir, raw_target, wait):
    """SMTP, SSH, FTP...: the client never asks for writable.  Its wait for POLLIN must still
    carry the exchange to the end, and the banner must not be eaten by the SOCKS reply."""
    proxy = slow_proxy(log_dir, connect_delay=True)
    try:
        r, res = run_json(socksify, [PYTHON, LOOP_CLIENTS, "server_first", raw_target.host,
                                     raw_target.port, wait], proxy.url())
        show("server-first %s" % wait, res)
        assert r.returncode == 0 and res["ok"], r
        assert res["connect_ex"] in (0, "EINPROGRESS"), r
        assert res["so_error"] == 0, r
        assert res["banner"] == "peer %s" % PROJECT_OUT, r
        assert res["echo"] == "hello", r
        assert res["wait_ms"] >= 140, r
    finally:
        proxy.stop()


# --------------------------------------------------------------------------
# the program's own limit
# --------------------------------------------------------------------------

@pytest.fixture
def silent_rules(log_dir):
    """A proxy that accepts and never answers, and a rules file whose handshake timeout (20 s)
    is far beyond the program's own limit."""
    proxy = ProjectSocksServer(log_dir, mode="silent")
    fd, path = tempfile.mkstemp(prefix="silent-", suffix=".conf", dir=str(log_dir))
    with os.fdopen(fd, "w") as f:
        f.write("proxy silent %s\n"
                "default via silent\n"
                "set handshake-timeout 20\n"
                "set proxy-loopback\n" % proxy.url())
    yield Path(path)
    proxy.stop()


def run_bounded(socksify, argv, rules, bound):
    """Run under the rules file; a program still waiting after `bound` seconds is killed and
    the test fails there (the handshake timeout would end it only after 20 s)."""
    try:
        return socksify.run([str(a) for a in argv], options=["-c", rules], timeout=bound)
    except AssertionError as e:
        timed_out = str(e)
    pytest.fail("still waiting after %s s: the program's own limit did not end the "
                "handshake (handshake timeout 20 s)\n%s" % (bound, timed_out))


def test_curl_max_time_ends_a_silent_handshake(socksify, silent_rules, patient_target):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl not installed")
    r = run_bounded(socksify, [curl, "-sS", "--max-time", "1", "-w", "T %{time_total}\\n",
                               patient_target.url], silent_rules, bound=5)
    t = [float(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("T ")]
    show("curl --max-time 1, silent proxy", {"rc": r.returncode, "time_total": t})
    assert r.returncode == 28, r              # CURLE_OPERATION_TIMEDOUT
    assert t and 0.9 <= t[0] < 2.0, r


def test_python_settimeout_ends_a_silent_handshake(socksify, silent_rules, patient_target):
    """socket.settimeout(2) makes the socket non-blocking and waits in poll() for 2 s: the
    program must get its own "timed out" (no errno) at 2 s, not ETIMEDOUT at 20 s."""
    r = run_bounded(socksify, [PYTHON, LOOP_CLIENTS, "settimeout", patient_target.host,
                               patient_target.port, "2"], silent_rules, bound=6)
    res = r.json()
    show("python settimeout(2), silent proxy", res)
    assert res["outcome"] == "timeout", r
    assert 1900 <= res["elapsed_ms"] < 2500, r
