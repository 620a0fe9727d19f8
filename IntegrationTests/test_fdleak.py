"""No file descriptor leaks across many proxied (and failed) connects."""

import errno

from conftest import MICROSOCKS_OUT, PROJECT_OUT, PYTHON, PROBE, dead_port


def run_fdleak(socksify, host, port, n, proxy, **kw):
    return socksify.run([PYTHON, PROBE, "fdleak", host, str(port), str(n)], proxy=proxy,
                        timeout=120, **kw)


def test_no_fd_leak_200_proxied_connects(socksify, microsocks, target):
    r = run_fdleak(socksify, target.host, target.port, 200, microsocks.url())
    assert r.returncode == 0, r
    res = r.json()
    assert res["outcomes"] == {"peer %s" % MICROSOCKS_OUT: 200}, r
    assert res["after"] == res["before"], r


def test_no_fd_leak_project_server(socksify, socks_server, target):
    srv = socks_server()
    r = run_fdleak(socksify, target.host, target.port, 50, srv.url())
    assert r.returncode == 0, r
    res = r.json()
    assert res["outcomes"] == {"peer %s" % PROJECT_OUT: 50}, r
    assert res["after"] == res["before"], r


def test_no_fd_leak_50_failed_connects_proxy_down(socksify, target):
    proxy = "socks5://127.0.0.1:%d" % dead_port()
    r = run_fdleak(socksify, target.host, target.port, 50, proxy, quiet=True)
    assert r.returncode == 0, r
    res = r.json()
    assert res["outcomes"] == {errno.errorcode[errno.ECONNREFUSED]: 50}, r
    assert res["after"] == res["before"], r


def test_no_fd_leak_failed_handshakes(socksify, socks_server, target):
    srv = socks_server(mode="reply=2")
    r = run_fdleak(socksify, target.host, target.port, 50, srv.url(), quiet=True)
    assert r.returncode == 0, r
    res = r.json()
    assert res["outcomes"] == {"EACCES": 50}, r
    assert res["after"] == res["before"], r
