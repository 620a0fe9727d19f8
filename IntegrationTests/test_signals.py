"""Signals and failed handshakes under socksify: a proxied connect behaves as a plain one.

  * A blocking connect through a proxy that never answers, interrupted by a signal whose handler
    lacks SA_RESTART, returns -1/EINTR at once (not after the handshake timeout), as a plain
    connect does; with SA_RESTART it goes on waiting (here until a short handshake timeout).
    The same while the TCP connect to the proxy itself hangs (its accept queue is full).
  * The socket's file status flags are never left changed: no O_NONBLOCK afterwards, also when
    the handler siglongjmps out of the handshake; and the shim still works after such a jump.
  * python3 blocked in socket.create_connection through a silent proxy dies of SIGINT with a
    KeyboardInterrupt traceback at once.
  * A handshake the proxy fails (destination refused) gives ECONNREFUSED, and the program can
    connect the same socket again, to a live destination, through the proxy.

Clients: clients/sig_connect.c (built by clients/build.sh) and python3.  Proxies: the project
server (mode "silent": accepts, reads, never answers; normal mode for the refusal) and
microsocks.  Everything on loopback, with --proxy-loopback.

Run:  swift build && IntegrationTests/clients/build.sh && \
      python3 -m pytest IntegrationTests/test_signals.py -q
"""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import (CLIENTS, MICROSOCKS_OUT, PROJECT_OUT, PYTHON, REQUIRE_SOCKSIFY,
                      clean_env, dead_port, run)

SIG_CONNECT = CLIENTS / "bin" / "sig_connect"
LONG = ["--handshake-timeout", "20", "--connect-timeout", "20"]   # the signal must end it, not these
SHORT = ["--handshake-timeout", "2"]


@pytest.fixture(scope="module")
def sig_connect():
    r = run(["bash", CLIENTS / "build.sh"], timeout=120)
    if r.returncode != 0 or not os.access(SIG_CONNECT, os.X_OK):
        msg = "%s not built (IntegrationTests/clients/build.sh)\n%s" % (SIG_CONNECT, r)
        if REQUIRE_SOCKSIFY:
            pytest.fail(msg)
        pytest.skip(msg)
    return SIG_CONNECT


@pytest.fixture
def silent(socks_server):
    """A SOCKS server that accepts the TCP connection, reads the greeting and never answers."""
    return socks_server(mode="silent")


@pytest.fixture
def hanging_listener():
    """A listening socket whose accept queue is full: a further TCP connect to it hangs (the
    kernel drops its SYNs), as a connect to an unreachable proxy would."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    fillers = []
    for _ in range(2):  # backlog 0 still queues one; the second makes sure
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(ls.getsockname())
        fillers.append(c)
    time.sleep(0.2)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(ls.getsockname())
        hangs = False
    except (socket.timeout, OSError):
        hangs = True
    finally:
        probe.close()
    if not hangs:
        for s in fillers + [ls]:
            s.close()
        pytest.skip("this kernel completes connects to a listener with a full accept queue")
    yield ls.getsockname()[1]
    for s in fillers + [ls]:
        s.close()


def run_sig(socksify, sig_connect, proxy, *args, options=(), timeout=30):
    r = socksify.run([sig_connect] + [str(a) for a in args], proxy=proxy, options=list(options),
                     timeout=timeout)
    assert r.returncode == 0, r
    return r, r.json()


def assert_flags_untouched(out, r, after="after"):
    assert out["nonblock_" + after] is False, "O_NONBLOCK left set on the program's socket\n%s" % r
    assert out["flags_" + after] == out["flags_before"], r
    assert out["fdflags_" + after] == out["fdflags_before"], r


# --------------------------------------------------------------------------
# 6. EINTR without SA_RESTART, waiting with SA_RESTART
# --------------------------------------------------------------------------

def test_plain_connect_eintr_control(sig_connect, hanging_listener):
    """Without socksify: what a program relies on (connect ends with EINTR at the signal)."""
    r = run([sig_connect, "eintr", "127.0.0.1", hanging_listener], timeout=30)
    assert r.returncode == 0, r
    out = r.json()
    assert out["rc"] == -1 and out["errno"] == "EINTR", r
    assert 800 <= out["elapsed_ms"] < 3000, r
    assert_flags_untouched(out, r)


def test_eintr_during_handshake(socksify, sig_connect, silent, target):
    r, out = run_sig(socksify, sig_connect, silent.url(), "eintr", "127.0.0.1", target.port,
                     options=LONG)
    assert out["rc"] == -1 and out["errno"] == "EINTR", \
        "a signal without SA_RESTART did not end the proxied connect with EINTR\n%s" % r
    assert out["alarms"] == 1, r
    assert 800 <= out["elapsed_ms"] < 3000, "handshake timeout is 20 s\n%s" % r
    assert r.elapsed < 6, r
    assert_flags_untouched(out, r)
    assert out["close"] == 0, r


def test_eintr_while_connecting_to_the_proxy(socksify, sig_connect, hanging_listener, target):
    """The TCP connect to the proxy itself hangs (full accept queue): the signal still ends it."""
    proxy = "socks5://127.0.0.1:%d" % hanging_listener
    r, out = run_sig(socksify, sig_connect, proxy, "eintr", "127.0.0.1", target.port, options=LONG)
    assert out["rc"] == -1 and out["errno"] == "EINTR", r
    assert 800 <= out["elapsed_ms"] < 3000, "connect timeout is 20 s\n%s" % r
    assert_flags_untouched(out, r)


def test_sa_restart_keeps_waiting_until_handshake_timeout(socksify, sig_connect, silent, target):
    r, out = run_sig(socksify, sig_connect, silent.url(), "restart", "127.0.0.1", target.port,
                     options=SHORT)
    # the handler ran at 1 s, the connect went on and ended by the 2 s handshake timeout
    assert out["alarms"] == 1, r
    assert out["rc"] == -1 and out["errno"] == "ETIMEDOUT", r
    assert 1900 <= out["elapsed_ms"] < 4500, r
    assert_flags_untouched(out, r)


# --------------------------------------------------------------------------
# 7. siglongjmp out of the handshake
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["longjmp", "longjmp_nr"])
def test_siglongjmp_out_of_handshake_leaves_flags_and_shim_usable(socksify, sig_connect, silent,
                                                                  target, mode):
    r, out = run_sig(socksify, sig_connect, silent.url(), mode, "127.0.0.1", target.port,
                     options=LONG)
    assert out["jumped"] is True, r
    assert 800 <= out["elapsed_ms"] < 3000, r
    assert_flags_untouched(out, r)
    assert out["close"] == 0, r
    # the shim is not wedged by the jump: the next proxied connect is interrupted as usual
    assert out["second_rc"] == -1 and out["second_errno"] == "EINTR", r
    assert 800 <= out["second_elapsed_ms"] < 3000, r
    assert out["nonblock_second_after"] is False, r


# --------------------------------------------------------------------------
# 8. python3 and Ctrl-C
# --------------------------------------------------------------------------

PY_CONNECT = r"""
import socket, sys
print("connecting", flush=True)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
"""


@pytest.mark.parametrize("how", ["launcher", "preload"])
def test_python_ctrl_c_during_handshake(socksify, silent, target, how):
    if how == "launcher":
        argv = socksify.cmd([PYTHON, "-c", PY_CONNECT, str(target.port)], proxy=silent.url(),
                            options=LONG)
        env = clean_env()
    else:
        argv = [PYTHON, "-c", PY_CONNECT, str(target.port)]
        env = clean_env({"LD_PRELOAD": socksify.lib, "SOCKSIFY_PROXY": silent.url(),
                         "SOCKSIFY_PROXY_LOOPBACK": "1",
                         "SOCKSIFY_HANDSHAKE_TIMEOUT_MS": "20000",
                         "SOCKSIFY_CONNECT_TIMEOUT_MS": "20000"})
    p = subprocess.Popen([str(a) for a in argv], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        first = p.stdout.readline()
        assert first == b"connecting\n", (first, p.stderr.read() if p.poll() is not None else b"")
        time.sleep(1.0)
        assert p.poll() is None, "python ended before the signal: %r" % (p.communicate(),)
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)   # what Ctrl-C in a terminal does
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            pytest.fail("python still blocked 10 s after SIGINT (handshake timeout 20 s)\n%s" % err)
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = err.decode(errors="replace")
    assert took < 2.0, "exit %.2f s after SIGINT\n%s" % (took, text)
    assert b"connected" not in out, (out, text)
    assert "Traceback" in text and "KeyboardInterrupt" in text, text
    assert "create_connection" in text, text
    assert p.returncode != 0, text


# --------------------------------------------------------------------------
# 9. a failed handshake leaves the socket free to connect again
# --------------------------------------------------------------------------

def check_refused_then_live(r, out, live_port, via):
    assert out["first_rc"] == -1 and out["first_errno"] == "ECONNREFUSED", r
    assert out["getpeername_after_first"] == "ENOTCONN", r
    assert_flags_untouched(out, r, "after_first")
    assert out["second_rc"] == 0, \
        "the socket could not connect again after a failed connect\n%s" % r
    assert_flags_untouched(out, r, "after_second")
    assert out["peername"] == "127.0.0.1:%d" % live_port, r
    assert out["data"] == "peer %s\nping\n" % via, r


def test_plain_refused_then_same_socket_control(sig_connect, target):
    """Without socksify: a socket whose connect was refused can connect again."""
    r = run([sig_connect, "refused", "127.0.0.1", dead_port(), "127.0.0.1", target.port])
    assert r.returncode == 0, r
    check_refused_then_live(r, r.json(), target.port, "127.0.0.1")


def test_refused_by_project_server_then_same_socket(socksify, sig_connect, socks_server, target):
    srv = socks_server()
    dead = dead_port()
    r, out = run_sig(socksify, sig_connect, srv.url(), "refused", "127.0.0.1", dead,
                     "127.0.0.1", target.port)
    check_refused_then_live(r, out, target.port, PROJECT_OUT)
    results = [(e["port"], e["result"].split(":")[0]) for e in srv.entries()]
    assert results == [(dead, "connect_failed"), (target.port, "ok")], (results, str(r))


def test_refused_by_microsocks_then_same_socket(socksify, sig_connect, microsocks, target):
    r, out = run_sig(socksify, sig_connect, microsocks.url(), "refused", "127.0.0.1", dead_port(),
                     "127.0.0.1", target.port)
    check_refused_then_live(r, out, target.port, MICROSOCKS_OUT)
