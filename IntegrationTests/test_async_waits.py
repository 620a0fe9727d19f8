"""Asynchronous handshakes through every wait a C program can use (docs/async-handshake.md).

clients/async_waits.c starts a non-blocking connect through socksify and waits for it the way
event loops do: poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2, and
glibc's __poll_chk (clients/async_waits_fortify.c, built with _FORTIFY_SOURCE=2); a
registration made before connect (Java NIO), edge-triggered and EPOLLONESHOT ones, a program
that modifies or deletes its registration while the tunnel runs, a socket in two epoll sets,
a failed tunnel, a socket closed while its tunnel runs, 200 tunnels in one poll, and the
socket's answers while the tunnel runs (getpeername, send, writev, recv, connect again).

The proxy (servers/socks_test_server.py) waits 50 ms before each reply and 50 ms before its
own connect, so a tunnel takes >= 150 ms: a wait that reports the socket earlier is lying.
The target answers with the address it sees ("peer 127.0.0.4": the project proxy's).
The client also reads socksify's count of running tunnels (sx_async_tunnels, found with nm):
once everything is over it must be back to 0, or every later wait pays for nothing.

Run:  swift build && IntegrationTests/clients/build.sh && \\
      flock /tmp/sx-netns.lock python3 -m pytest IntegrationTests/test_async_waits.py -q
"""

import os
import shutil
import subprocess
import types

import pytest

from conftest import (CLIENTS, PROJECT_OUT, PYTHON, REQUIRE_SOCKSIFY, SERVERS, SOCKSIFY_LIB,
                      ManagedProcess, ProjectSocksServer, dead_port, run)

ASYNC_WAITS = CLIENTS / "bin" / "async_waits"
ASYNC_WAITS_FORTIFY = CLIENTS / "bin" / "async_waits_fortify"

TUNNEL_MS = 140   # two 50 ms replies and a 50 ms connect out: >= 150 ms, with clock slack
WAITS = ["poll", "ppoll", "select", "pselect", "epoll_wait", "epoll_pwait", "epoll_pwait2"]


def show(name, res):
    print("\n[%s] %s" % (name, res))


@pytest.fixture(scope="module")
def clients(socksify):
    r = run(["bash", CLIENTS / "build.sh"], timeout=180)
    for binary in (ASYNC_WAITS, ASYNC_WAITS_FORTIFY):
        if r.returncode != 0 or not os.access(binary, os.X_OK):
            msg = "%s not built (IntegrationTests/clients/build.sh)\n%s" % (binary, r)
            if REQUIRE_SOCKSIFY:
                pytest.fail(msg)
            pytest.skip(msg)
    return {"plain": str(ASYNC_WAITS), "fortify": str(ASYNC_WAITS_FORTIFY)}


@pytest.fixture(scope="module")
def count_offset(socksify):
    """Where the library keeps its count of running tunnels (a hidden symbol: nm, not dlsym)."""
    nm = shutil.which("nm")
    if not nm:
        return None
    out = subprocess.run([nm, SOCKSIFY_LIB], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "sx_async_tunnels":
            return parts[0]
    return None


@pytest.fixture(scope="module")
def patient_target(log_dir):
    """Waits for the request (up to 30 s), then answers "peer <address it saw>"."""
    p = ManagedProcess([PYTHON, SERVERS / "target_server.py", "--listen", "127.0.0.1:0",
                        "--first-wait", "30"], "patient_target", log_dir, read_ready=True)
    p.host, p.port = "127.0.0.1", p.ready_port
    yield p
    p.stop()


@pytest.fixture(scope="module")
def slow_proxy(log_dir):
    proxy = ProjectSocksServer(log_dir, mode="slow=0.05", extra_args=["--connect-delay", "0.05"])
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def dead_target():
    """Nothing listens there: the (slow) proxy answers its CONNECT with reply 5, refused,
    after >= 100 ms, so the refusal comes through the program's wait, never inside connect."""
    return types.SimpleNamespace(host="127.0.0.1", port=dead_port())


def run_client(socksify, clients, count_offset, proxy, target, mode, wait, n=None,
               variant="plain", timeout=40):
    argv = [clients[variant], mode, wait, target.host, str(target.port)]
    if n is not None:
        argv.append(str(n))
    env = {"SX_COUNT_OFFSET": count_offset} if count_offset else None
    r = socksify.run(argv, proxy=proxy.url(), env=env, timeout=timeout)
    res = r.json()
    show("%s %s" % (mode, wait), res)
    return r, res


def assert_count_back(res, r):
    """Nothing of the tunnel is left: later waits take the one-load path."""
    if res["count"] != -1:
        assert res["count"] == 0, r


def assert_through_proxy(res, r, target):
    assert res["so_error"] == 0, r
    assert res["peer"] == "127.0.0.1 %d" % target.port, r
    assert res["body"] == "peer %s" % PROJECT_OUT, r


# --------------------------------------------------------------------------
# every wait call
# --------------------------------------------------------------------------

@pytest.mark.parametrize("wait", WAITS)
def test_each_wait_finishes_the_tunnel(socksify, clients, count_offset, slow_proxy,
                                       patient_target, wait):
    """EINPROGRESS, then the program's wait for writable reports the socket only once the
    tunnel is up; the request and its answer go through the proxy."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target, "basic", wait)
    assert r.returncode == 0 and res["ok"], r
    assert res["connect"] == "EINPROGRESS", r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert "OUT" in res["revents"] and "ERR" not in res["revents"], r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


def test_fortified_poll_chk(socksify, clients, count_offset, slow_proxy, patient_target):
    """-O2 -D_FORTIFY_SOURCE=2 and a fixed-size pollfd array: the program calls __poll_chk."""
    undefined = subprocess.run(["nm", "-D", "--undefined-only", clients["fortify"]],
                               capture_output=True, text=True).stdout
    if "__poll_chk" not in undefined:
        pytest.skip("this compiler did not fortify poll:\n" + undefined)
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target, "basic",
                        "poll_chk", variant="fortify")
    assert r.returncode == 0 and res["ok"], r
    assert res["connect"] == "EINPROGRESS", r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


def test_select_writes_back_the_time_left(socksify, clients, count_offset, slow_proxy,
                                          patient_target):
    """Linux's select leaves the time not slept in its timeval (5 s asked)."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "select_tv", "select")
    assert r.returncode == 0 and res["ok"], r
    assert res["select"] == 1 and res["isset"] == 1, r
    assert 0 < res["left_ms"] <= 5000 - res["writable_ms"] + 50, r
    assert res["left_ms"] < 5000 - TUNNEL_MS + 50, r
    assert_through_proxy(res, r, patient_target)


@pytest.mark.parametrize("wait", ["poll", "select", "epoll_wait"])
def test_own_short_timeout_returns_zero_then_next_wait_finishes(
        socksify, clients, count_offset, slow_proxy, patient_target, wait):
    """The program's own 10 ms limit ends its wait with 0 (nothing ready: the tunnel is still
    going); its next wait finishes the tunnel."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target, "short", wait)
    assert r.returncode == 0 and res["ok"], r
    assert res["short_wait"] == 0 and res["short_revents"] == "", r
    assert res["short_ms"] < TUNNEL_MS, r    # it did not sit out the tunnel
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


# --------------------------------------------------------------------------
# a failed tunnel
# --------------------------------------------------------------------------

@pytest.mark.parametrize("wait", WAITS)
def test_failure_seen_through_wait(socksify, clients, count_offset, slow_proxy, dead_target,
                                   wait):
    """The proxy's connect is refused (reply 5): the wait reports the socket as a failed connect (poll:
    POLLERR|POLLHUP and POLLOUT; select: writable; epoll: EPOLLHUP|EPOLLOUT), again until
    the error is read; SO_ERROR gives ECONNREFUSED once, then 0; a send then meets EPIPE."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, dead_target, "fail", wait)
    assert r.returncode == 0 and res["ok"], r
    assert res["connect"] == "EINPROGRESS", r
    if "select" in wait:
        assert res["revents"] == "OUT" and res["again_revents"] == "OUT", r
    else:
        assert {"OUT", "HUP"} <= set(res["revents"].split("|")), r
        assert res["again"] == 1 and res["again_revents"] == res["revents"], r
    assert res["so_error1"] == errno_of("ECONNREFUSED"), r
    assert res["so_error2"] == 0, r          # reported once: nothing of the proxy's socket after
    assert res["send"] == "EPIPE", r
    assert_count_back(res, r)


@pytest.mark.parametrize("wait", ["poll", "select", "epoll_wait"])
def test_failure_seen_by_recv(socksify, clients, count_offset, slow_proxy, dead_target,
                              wait):
    """A server-first program waits for readable and reads: ECONNREFUSED once, then the
    socket answers as an unconnected one would (end of file or ENOTCONN), SO_ERROR 0."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, dead_target, "fail_io",
                        wait)
    assert r.returncode == 0 and res["ok"], r
    assert res["revents"] != "", r
    if wait == "poll":  # as the kernel for a refused connect: readable too, when asked
        assert set(res["revents"].split("|")) == {"IN", "ERR", "HUP"}, r
    assert res["recv1"] == "ECONNREFUSED", r
    assert res["recv2"] in ("eof", "ENOTCONN"), r
    assert res["so_error"] == 0, r
    assert_count_back(res, r)


def errno_of(name):
    import errno
    return getattr(errno, name)


# --------------------------------------------------------------------------
# epoll registrations
# --------------------------------------------------------------------------

@pytest.mark.parametrize("wait", ["epoll_wait", "epoll_et"])
def test_registration_before_connect(socksify, clients, count_offset, slow_proxy,
                                     patient_target, wait):
    """Java NIO: epoll_ctl(ADD, EPOLLOUT[|EPOLLET]) and only then connect. The program's
    registration (its data) reports the socket once the tunnel is up, not before;
    edge-triggered, exactly once."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target, "prereg", wait)
    assert r.returncode == 0 and res["ok"], r
    assert res["connect"] == "EINPROGRESS", r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert res["data_ok"] == "yes", r
    assert res["events"] & 0x4, r                 # EPOLLOUT
    if wait == "epoll_et":
        assert res["second"] == 0, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


def test_oneshot_registration(socksify, clients, count_offset, slow_proxy, patient_target):
    """EPOLLOUT|EPOLLONESHOT: one report once the tunnel is up, then none until re-armed."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "oneshot", "epoll_wait")
    assert r.returncode == 0 and res["ok"], r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert res["data_ok"] == "yes" and res["events"] & 0x4, r
    assert res["second"] == 0, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


def test_registration_modified_while_tunnel_runs(socksify, clients, count_offset, slow_proxy,
                                                 patient_target):
    """ADD EPOLLIN (data A), a wait that ends at its own 20 ms limit, MOD EPOLLIN|EPOLLOUT
    (data B): the report comes with B and only once the tunnel is up."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "modify", "epoll_wait")
    assert r.returncode == 0 and res["ok"], r
    assert res["first"] == 0, r
    assert res["data"] == "B" and res["events"] & 0x4, r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


def test_registration_deleted_while_tunnel_runs(socksify, clients, count_offset, slow_proxy,
                                                patient_target):
    """DEL while the tunnel runs: the set reports nothing afterwards (nor the tunnel's steps),
    and poll finishes the tunnel."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "del", "epoll_wait")
    assert r.returncode == 0 and res["ok"], r
    assert res["first"] == 0 and res["after_del"] == 0, r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


# --------------------------------------------------------------------------
# the socket while its tunnel runs
# --------------------------------------------------------------------------

def test_socket_answers_while_tunnel_runs(socksify, clients, count_offset, slow_proxy,
                                          patient_target):
    """As a plain TCP socket whose connect is in flight: getpeername ENOTCONN, connect again
    EALREADY, SO_ERROR 0, send/write/recv/read EAGAIN; once up, connect answers 0 or EISCONN (then EISCONN), and
    getpeername the destination."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "during", "poll")
    assert res["connect"] == "EINPROGRESS", r
    for call in ("send", "write", "recv", "read"):
        assert res[call] == "EAGAIN", (call, r)
    assert res["connect2"] == "EALREADY", r
    assert res["so_error_during"] == 0, r
    # the kernel says ENOTCONN until the connect completes: not the proxy's address
    assert res["peer_during"] == "ENOTCONN", r
    assert r.returncode == 0 and res["ok"], r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert res["connect3"] in ("0", "EISCONN"), r
    assert res["connect4"] == "EISCONN", r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


# --------------------------------------------------------------------------
# many tunnels, closed tunnels
# --------------------------------------------------------------------------

def test_close_while_pending_leaves_nothing(socksify, clients, count_offset, slow_proxy,
                                            patient_target):
    """20 connects closed while their tunnels run: the count is back to 0."""
    if not count_offset:
        pytest.skip("sx_async_tunnels not found in %s (nm)" % SOCKSIFY_LIB)
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "close", "poll", n=20)
    assert r.returncode == 0 and res["ok"], r
    assert res["started"] == 20, r
    assert res["count_before"] == 0 and res["count"] == 0, r
    assert res["pipe_poll"] == 0, r


def test_vectored_io_while_tunnel_runs(socksify, clients, count_offset, slow_proxy,
                                       patient_target):
    """readv and writev on the socket while its tunnel runs answer EAGAIN, as send and recv
    do: a writer that sends its request as soon as connect returns must not put its bytes
    into the SOCKS exchange, nor a reader take the proxy's reply."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "vectored", "poll")
    assert res["connect"] == "EINPROGRESS", r
    assert res["readv"] == "EAGAIN", r
    assert res["writev"] == "EAGAIN", r
    assert r.returncode == 0 and res["ok"], r
    assert res["writable_ms"] >= TUNNEL_MS, r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)


def test_many_tunnels_in_one_poll(socksify, clients, count_offset, slow_proxy, patient_target):
    """200 connects, one poll over all of them, asking POLLOUT. Every socket the poll reports
    writable must be connected: its request write must not meet EAGAIN (the program would be
    told "writable" again and again while the tunnel runs: a lie and a busy loop). All 200
    answers come through the proxy."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "many", "poll", n=200, timeout=60)
    assert res["started"] == 200, r
    assert res["early"] == 0, r
    assert res["peers_wrong"] == 0, r
    assert r.returncode == 0 and res["ok"], r
    assert res["done"] == 200 and res["bodies"] == 200, r
    assert_count_back(res, r)


def test_socket_in_two_epoll_sets(socksify, clients, count_offset, slow_proxy, patient_target):
    """Both sets registered while the tunnel runs. The later set reports the socket once the
    tunnel is up, with its data; the other (documented: it may report early) must still have
    the program's registration, never be left with socksify's tagged one (which lost its
    EPOLLOUT and would later hand the program socksify's tag as its data)."""
    r, res = run_client(socksify, clients, count_offset, slow_proxy, patient_target,
                        "two_sets", "epoll_wait")
    assert r.returncode == 0 and res["ok"], r
    assert res["writable_ms"] >= TUNNEL_MS and res["data2"] == "B", r
    assert res["n1"] == 1 and res["data1"] == "A", r
    assert_through_proxy(res, r, patient_target)
    assert_count_back(res, r)
