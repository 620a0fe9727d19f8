"""C clients (IntegrationTests/clients/, built by clients/build.sh) under socksify."""

import os
import re
import shutil

import pytest

from conftest import CLIENTS, MICROSOCKS_OUT, PROJECT_OUT, clean_env, dead_port, run

BIN = CLIENTS / "bin"


@pytest.fixture(scope="session")
def clients_built():
    build = CLIENTS / "build.sh"
    if not build.exists():
        pytest.skip("clients/build.sh missing")
    if not (shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")):
        pytest.skip("no C compiler (gcc) installed")
    r = run(["bash", str(build)], env=clean_env(), timeout=180)
    assert r.returncode == 0, "clients/build.sh failed\n%s" % r
    return BIN


def client(clients_built, name):
    path = clients_built / name
    if not path.exists():
        pytest.skip("%s was not built (no %s.c?)" % (path, name))
    return str(path)


def parse_kv(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


def test_nonblocking_connect_client(socksify, clients_built, microsocks, raw_target):
    prog = client(clients_built, "nonblocking_connect")
    r = socksify.run([prog, raw_target.host, str(raw_target.port)], proxy=microsocks.url())
    assert r.returncode == 0, r
    assert "ok peer %s" % MICROSOCKS_OUT in r.stdout, r
    assert "peername 127.0.0.1 %d" % raw_target.port in r.stdout, r


def test_nonblocking_connect_client_project_server(socksify, clients_built, socks_server,
                                                   raw_target):
    prog = client(clients_built, "nonblocking_connect")
    srv = socks_server()
    r = socksify.run([prog, raw_target.host, str(raw_target.port)], proxy=srv.url())
    assert r.returncode == 0, r
    assert "ok peer %s" % PROJECT_OUT in r.stdout, r
    assert [e["result"] for e in srv.entries()] == ["ok"]


@pytest.mark.parametrize("mode,expected", [
    (None, "ECONNREFUSED"),            # proxy down
    ("reply=2", "EACCES"),
    ("silent", "ETIMEDOUT"),
    ("badversion", "EPROTO"),
])
def test_nonblocking_connect_client_failures(socksify, clients_built, socks_server, raw_target,
                                             mode, expected):
    prog = client(clients_built, "nonblocking_connect")
    if mode is None:
        proxy = "socks5://127.0.0.1:%d" % dead_port()
    else:
        proxy = socks_server(mode=mode).url()
    r = socksify.run([prog, raw_target.host, str(raw_target.port)], proxy=proxy,
                     options=["--handshake-timeout", "1", "--connect-timeout", "2"])
    assert r.returncode == 1, r
    assert r.stdout.strip().splitlines()[-1] == expected, r
    assert r.elapsed < 5.0, r


def test_thread_storm(socksify, clients_built, microsocks, raw_target):
    prog = client(clients_built, "thread_storm")
    threads, per_thread = 8, 250
    total = threads * per_thread
    r = socksify.run([prog, raw_target.host, str(raw_target.port), str(threads),
                      str(per_thread), MICROSOCKS_OUT], proxy=microsocks.url(), quiet=True,
                     timeout=120)
    kv = parse_kv(r.stdout)
    assert r.returncode == 0, r
    assert kv.get("total") == total, r
    assert kv.get("failed") == 0, r
    assert kv.get("other") == 0, r
    assert kv.get("via") == total, r
    assert kv.get("ok") == total, r
    fds = parse_kv(r.stderr)
    if "fds_before" in fds:
        assert fds["fds_after"] == fds["fds_before"], r
    assert r.elapsed < 60, r


def test_thread_storm_direct_without_loopback_flag(socksify, clients_built, microsocks,
                                                   raw_target):
    """Same program, loopback not proxied: every reply shows 127.0.0.1."""
    prog = client(clients_built, "thread_storm")
    r = socksify.run([prog, raw_target.host, str(raw_target.port), "4", "50", "127.0.0.1"],
                     proxy=microsocks.url(), loopback=False, timeout=60)
    kv = parse_kv(r.stdout)
    assert r.returncode == 0, r
    assert kv.get("via") == 200 and kv.get("other") == 0, r
