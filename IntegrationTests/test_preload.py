"""libsocksify.so used directly with LD_PRELOAD (no launcher)."""

import errno

from conftest import MICROSOCKS_OUT, PROJECT_OUT, PYTHON, PROBE, Socksify, curl_argv, dead_port


def test_preload_curl(socksify_lib, microsocks, target):
    r = Socksify().preload(curl_argv(target.url), microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_preload_python_and_log(socksify_lib, socks_server, target):
    srv = socks_server()
    r = Socksify().preload([PYTHON, PROBE, "create", target.host, str(target.port)], srv.url())
    assert r.returncode == 0, r
    assert r.json()["peer"] == "peer %s" % PROJECT_OUT, r
    assert len(srv.entries()) == 1


def test_preload_verbose(socksify_lib, socks_server, target):
    srv = socks_server()
    r = Socksify().preload(curl_argv(target.url), srv.url(), verbose=True)
    assert r.returncode == 0, r
    assert any(srv.address in l and "127.0.0.1:%d" % target.port in l
               for l in r.stderr.splitlines()), r


def test_preload_handshake_timeout_ms(socksify_lib, socks_server, target):
    srv = socks_server(mode="silent")
    r = Socksify().preload([PYTHON, PROBE, "connect", target.host, str(target.port)], srv.url(),
                           env={"SOCKSIFY_HANDSHAKE_TIMEOUT_MS": "500"})
    assert r.returncode == 1, r
    assert r.json()["errno"] == errno.ETIMEDOUT, r
    assert r.elapsed < 4.0, r
    assert "failed" in r.stderr, r


def test_preload_proxy_down(socksify_lib, target):
    port = dead_port()
    r = Socksify().preload([PYTHON, PROBE, "connect", target.host, str(target.port)],
                           "socks5://127.0.0.1:%d" % port,
                           env={"SOCKSIFY_CONNECT_TIMEOUT_MS": "2000"})
    assert r.returncode == 1, r
    assert r.json()["errno"] == errno.ECONNREFUSED, r
    assert "127.0.0.1:%d" % port in r.stderr, r


def test_preload_socks4(socksify_lib, socks_server, target):
    srv = socks_server()
    r = Socksify().preload(curl_argv(target.url), srv.url(scheme="socks4"))
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % PROJECT_OUT, r
    assert [e["version"] for e in srv.entries()] == [4]
