"""HTTP CONNECT proxies (issue 11): `http://[user:password@]host:port` wherever a proxy URL goes.

Real parts: Debian's tinyproxy (no login, Basic auth, CONNECT limited to one port; as root with
its own /etc/hosts, so a name only it can resolve proves the name went to it), microsocks for
chains in both directions, and servers/http_test_proxy.py for what tinyproxy never does (status
codes on demand, garbage, an oversized or cut head, silence, the destination's first bytes in
the same write as the head).

Run:  python3 -m pytest IntegrationTests/test_http_proxy.py -q
"""

import socket
import threading

import pytest

from conftest import (HTTP_ONLY_NAME, HTTP_PROXY_OUT, MICROSOCKS_OUT, PYTHON, SOCKSIFY_BIN, TINYPROXY_OUT,
                      clean_env, run)


def curl(url, *extra):
    return ["curl", "-s", "-S", "--max-time", "10"] + list(extra) + [url]


def lines(r, word):
    return [l for l in r.stderr.splitlines() if word in l]


# --------------------------------------------------------------------------
# tinyproxy
# --------------------------------------------------------------------------

def test_curl_through_tinyproxy_by_address(socksify, tinyproxy, target):
    r = socksify.run(curl(target.url), proxy=tinyproxy.url(), verbose=True)
    assert r.returncode == 0 and r.stdout == "peer %s\n" % TINYPROXY_OUT, r
    assert "connect 127.0.0.1:%d via http 127.0.0.1:%d" % (target.port, tinyproxy.port) in r.stderr, r
    assert "CONNECT 127.0.0.1:%d HTTP/1.1" % target.port in tinyproxy.requests(), tinyproxy.requests()


def test_names_go_to_the_http_proxy(socksify, tinyproxy, target):
    """An HTTP proxy always takes the name: the program gets a synthetic address, the proxy
    the name (here one only tinyproxy's own /etc/hosts knows)."""
    if not tinyproxy.names_known:
        pytest.skip("needs root and unshare to give tinyproxy its own /etc/hosts")
    r = socksify.run(curl("http://%s:%d/" % (HTTP_ONLY_NAME, target.port)), proxy=tinyproxy.url(), verbose=True)
    assert r.returncode == 0 and r.stdout == "peer %s\n" % TINYPROXY_OUT, r
    assert "resolve %s -> %s 127." % (HTTP_ONLY_NAME, HTTP_ONLY_NAME) in r.stderr, r
    assert "CONNECT %s:%d HTTP/1.1" % (HTTP_ONLY_NAME, target.port) in tinyproxy.requests(), tinyproxy.requests()


def test_blocking_python_client_through_tinyproxy(socksify, tinyproxy, target):
    code = ("import socket; s = socket.create_connection(('127.0.0.1', %d), timeout=5); "
            "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(4096).decode().splitlines()[-1])" % target.port)
    r = socksify.run([PYTHON, "-c", code], proxy=tinyproxy.url())
    assert r.returncode == 0 and r.stdout == "peer %s\n" % TINYPROXY_OUT, r


def test_basic_auth_accepted(socksify, tinyproxy_auth, target):
    r = socksify.run(curl(target.url), proxy=tinyproxy_auth.url())
    assert r.returncode == 0 and r.stdout == "peer %s\n" % TINYPROXY_OUT, r


def test_missing_login_is_eacces_with_the_realm(socksify, tinyproxy_auth, target):
    code = ("import socket, errno\ntry:\n socket.create_connection(('127.0.0.1', %d), timeout=5)\n"
            "except OSError as e:\n print(errno.errorcode[e.errno])" % target.port)
    r = socksify.run([PYTHON, "-c", code], proxy="http://127.0.0.1:%d" % tinyproxy_auth.port)
    assert r.stdout == "EACCES\n", r
    line = lines(r, "failed")
    assert line and "proxy wants a login: HTTP/1.0 407" in line[0] and 'realm "' in line[0] and "program sees EACCES" in line[0], r


def test_wrong_password_is_eacces(socksify, tinyproxy_auth, target):
    r = socksify.run(curl(target.url), proxy=tinyproxy_auth.url(password="wrong"))
    assert r.returncode != 0 and r.stdout == "", r
    # tinyproxy answers a wrong password with 401 (a missing one with 407)
    assert "proxy rejected the username/password: HTTP/1.0 401 Unauthorized" in r.stderr, r
    assert "program sees EACCES" in r.stderr, r


def test_a_port_the_proxy_denies_is_eacces(socksify, log_dir, target):
    from conftest import Tinyproxy
    only443 = Tinyproxy(log_dir, connect_ports=(443,))
    try:
        r = socksify.run(curl(target.url), proxy=only443.url())
        assert r.returncode != 0, r
        assert "proxy refused: HTTP/1.1 403 Access violation; program sees EACCES" in r.stderr, r
    finally:
        only443.stop()


def test_a_name_the_proxy_cannot_resolve(socksify, tinyproxy, target):
    r = socksify.run(curl("http://nowhere.invalid:%d/" % target.port), proxy=tinyproxy.url())
    assert r.returncode != 0 and r.stdout == "", r
    assert "via http 127.0.0.1:%d failed: proxy refused: HTTP/1.1 500 Unable to connect" % tinyproxy.port in r.stderr, r
    assert "program sees ECONNREFUSED" in r.stderr, r


# --------------------------------------------------------------------------
# chains, failover, UDP, check and explain
# --------------------------------------------------------------------------

def rules(tmp_path, text):
    path = tmp_path / "rules.conf"
    path.write_text(text)
    return path


def test_chain_socks_then_http(socksify, microsocks, tinyproxy, target, tmp_path):
    conf = rules(tmp_path, "proxy s %s\nproxy h %s\ndefault chain s h\n" % (microsocks.url(), tinyproxy.url()))
    r = socksify.run(curl(target.url), options=["-c", conf], verbose=True)
    assert r.returncode == 0 and r.stdout == "peer %s\n" % TINYPROXY_OUT, r


def test_chain_http_then_socks(socksify, microsocks, tinyproxy, target, tmp_path):
    conf = rules(tmp_path, "proxy h %s\nproxy s %s\ndefault chain h s\n" % (tinyproxy.url(), microsocks.url()))
    r = socksify.run(curl(target.url), options=["-c", conf])
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
    assert "CONNECT 127.0.0.1:%d HTTP/1.1" % microsocks.port in tinyproxy.requests(), tinyproxy.requests()


def test_chain_http_then_http(socksify, tinyproxy, http_proxy, target, tmp_path):
    second = http_proxy()
    conf = rules(tmp_path, "proxy a %s\nproxy b %s\ndefault chain a b\n" % (tinyproxy.url(), second.url()))
    r = socksify.run(curl(target.url), options=["-c", conf])
    assert r.returncode == 0 and r.stdout == "peer %s\n" % HTTP_PROXY_OUT, r


def test_failover_from_a_dead_http_proxy(socksify, tinyproxy, target, tmp_path):
    conf = rules(tmp_path, "proxy dead http://127.0.0.1:9\nproxy h %s\ndefault failover dead h\n" % tinyproxy.url())
    r = socksify.run(curl(target.url), options=["-c", conf], verbose=True)
    assert r.returncode == 0 and r.stdout == "peer %s\n" % TINYPROXY_OUT, r


def test_udp_through_an_http_proxy_is_refused_not_sent(socksify, tinyproxy):
    code = ("import socket, errno\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ntry:\n"
            " s.sendto(b'x', ('10.200.9.9', 53))\n print('sent')\nexcept OSError as e:\n print(errno.errorcode[e.errno])")
    r = socksify.run([PYTHON, "-c", code], proxy=tinyproxy.url())
    assert r.stdout != "sent\n" and r.returncode == 0, r
    assert "HTTP CONNECT cannot carry UDP" in r.stderr, r


def test_check_and_explain_know_http_proxies(socksify, tinyproxy, tmp_path):
    conf = rules(tmp_path, "proxy corp http://alice:pw@proxy.corp.example:3128\nrule to *.corp.example via corp\ndefault direct\n")
    r = run([SOCKSIFY_BIN, "check", str(conf)])
    assert r.returncode == 0, r
    r = run([SOCKSIFY_BIN, "explain", "-c", str(conf), "curl", "git.corp.example:443"])
    assert r.returncode == 0 and "http proxy.corp.example:3128" in r.stdout, r
    assert "alice" not in r.stdout + r.stderr or "pw" not in r.stdout, r


# --------------------------------------------------------------------------
# the project's HTTP proxy: what tinyproxy never does
# --------------------------------------------------------------------------

@pytest.fixture
def banner_server():
    """A destination that speaks first: 'BANNER\\n' on accept, then echoes."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            c.sendall(b"BANNER\n")
            data = c.recv(100)
            c.sendall(data)
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    yield ls.getsockname()[1]
    ls.close()


def test_the_destinations_first_bytes_are_the_programs(socksify, http_proxy, banner_server):
    """The proxy sends its head and the destination's banner in one write: the head is read
    exactly to its end, the banner is the program's first read."""
    proxy = http_proxy()
    code = ("import socket; s = socket.create_connection(('127.0.0.1', %d), timeout=5); "
            "print(s.recv(7)); s.sendall(b'ping'); print(s.recv(4))" % banner_server)
    for options in ([], ["--connect-timeout", "5"]):
        r = socksify.run([PYTHON, "-c", code], proxy=proxy.url(), options=options)
        assert r.returncode == 0 and r.stdout == "b'BANNER\\n'\nb'ping'\n", r


def test_the_destinations_first_bytes_with_a_non_blocking_client(socksify, http_proxy, banner_server):
    proxy = http_proxy()
    code = ("import socket, select\ns = socket.socket(); s.setblocking(False)\n"
            "try: s.connect(('127.0.0.1', %d))\nexcept BlockingIOError: pass\n"
            "select.select([], [s], [], 5)\nassert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0\n"
            "select.select([s], [], [], 5)\nprint(s.recv(100))" % banner_server)
    r = socksify.run([PYTHON, "-c", code], proxy=proxy.url())
    assert r.returncode == 0 and r.stdout == "b'BANNER\\n'\n", r


@pytest.mark.parametrize("status,errno_name", [(502, "ECONNREFUSED"), (503, "ECONNREFUSED"), (504, "ETIMEDOUT"),
                                               (403, "EACCES"), (405, "EACCES"), (404, "EHOSTUNREACH")])
def test_refusals_give_the_errno_of_a_failed_connect(socksify, http_proxy, target, status, errno_name):
    proxy = http_proxy("status=%d" % status)
    code = ("import socket, errno\ntry:\n socket.create_connection(('127.0.0.1', %d), timeout=5)\n"
            "except OSError as e:\n print(errno.errorcode[e.errno])" % target.port)
    r = socksify.run([PYTHON, "-c", code], proxy=proxy.url())
    assert r.stdout == "%s\n" % errno_name, r
    assert "proxy refused: HTTP/1.1 %d Test Status; program sees %s" % (status, errno_name) in r.stderr, r
    assert "127.0.0.1:%d" % proxy.port in r.stderr, "the log names the proxy\n%s" % r


@pytest.mark.parametrize("mode,words", [
    ("garbage", "not an HTTP response (is it an HTTP proxy?)"),
    ("oversized", "an HTTP response head over 8192 bytes"),
    ("cut", "proxy closed the connection"),
])
def test_a_broken_answer_is_a_clear_error(socksify, http_proxy, target, mode, words):
    proxy = http_proxy(mode)
    code = ("import socket, errno\ntry:\n socket.create_connection(('127.0.0.1', %d), timeout=8)\n"
            "except OSError as e:\n print(errno.errorcode[e.errno])" % target.port)
    r = socksify.run([PYTHON, "-c", code], proxy=proxy.url(), timeout=20)
    assert r.stdout in ("EPROTO\n", "ECONNRESET\n"), r
    assert words in r.stderr, r


def test_a_silent_proxy_ends_at_the_handshake_timeout(socksify, http_proxy, target):
    proxy = http_proxy("silent")
    r = socksify.run(curl(target.url), proxy=proxy.url(), options=["--handshake-timeout", "1"], timeout=20)
    assert r.returncode != 0, r
    assert "timed out waiting for the proxy's reply" in r.stderr, r


def test_the_request_carries_host_and_basic_credentials(socksify, http_proxy, target):
    proxy = http_proxy()
    r = socksify.run(curl(target.url), proxy=proxy.url(user="Aladdin", password="open%20sesame"))
    assert r.returncode == 0 and r.stdout == "peer %s\n" % HTTP_PROXY_OUT, r
    entry = proxy.entries()[0]
    assert entry["request"] == "CONNECT 127.0.0.1:%d HTTP/1.1" % target.port, entry
    assert entry["headers"]["Host"] == "127.0.0.1:%d" % target.port, entry
    assert entry["headers"]["Proxy-Authorization"] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", entry
