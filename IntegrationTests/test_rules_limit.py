"""Rules files over 4 MiB: the launcher, `check`, `explain` and the library all refuse them.

Before, the library read only the first 4 MiB while the launcher read everything: a `default
via` line past 4 MiB passed `check` and was lost in the library, so the program went direct.
Every file here ends with `default via p1`; above the limit nothing may run or connect, just
under it the program goes through p1.
"""

import socket

import pytest

from conftest import MICROSOCKS_OUT, clean_env, curl_argv, run

LIMIT = 4 << 20


def rules_file(path, size, proxy_url):
    """A rules file of exactly `size` bytes: a proxy, comment lines, `default via p1` last."""
    head = "set proxy-loopback\nproxy p1 %s\n" % proxy_url
    tail = "default via p1\n"
    line = "# " + "x" * 77 + "\n"
    padding = size - len(head) - len(tail)
    body = line * (padding // len(line))
    body += "#" * (padding - len(body) - 1) + "\n" if padding > len(body) else ""
    path.write_text(head + body + tail)
    assert path.stat().st_size == size
    return path


@pytest.fixture
def over(tmp_path, microsocks):
    return rules_file(tmp_path / "big.conf", 5 << 20, microsocks.url())


@pytest.fixture
def under(tmp_path, microsocks):
    return rules_file(tmp_path / "large.conf", LIMIT, microsocks.url())


@pytest.fixture
def listener():
    """A target that counts on its backlog: a connect made to it stays there to be found."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    s.setblocking(False)
    yield s
    s.close()


def assert_no_connection(listener):
    with pytest.raises(BlockingIOError):
        listener.accept()[0].close()


def one_line(r, *words):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r
    for word in words:
        assert word in lines[0], r


def test_check_refuses_a_file_over_the_limit(socksify, over):
    r = run([socksify.bin, "check", over], env=clean_env())
    assert r.returncode == 1, r  # as for a file that does not parse
    assert r.stdout == "", r
    one_line(r, str(over), "larger than 4 MiB", str(5 << 20))


def test_explain_refuses_a_file_over_the_limit(socksify, over):
    r = run([socksify.bin, "explain", "-c", over, "curl", "example.com:443"], env=clean_env())
    assert r.returncode == 1, r
    one_line(r, str(over), "larger than 4 MiB")


def test_launcher_refuses_a_file_over_the_limit(socksify, over, tmp_path):
    flag = tmp_path / "ran"
    r = run([socksify.bin, "-c", over, "--", "touch", flag], env=clean_env())
    assert r.returncode == 2, r
    assert not flag.exists(), "the program must not have run\n%s" % r
    one_line(r, "not starting touch", str(over), "larger than 4 MiB")


def test_library_refuses_connections_with_a_file_over_the_limit(socksify_lib, over, listener):
    """With LD_PRELOAD and SOCKSIFY_CONFIG set by hand, past the launcher."""
    env = clean_env({"LD_PRELOAD": socksify_lib, "SOCKSIFY_CONFIG": over,
                     # the file's own 'set proxy-loopback' is not read: the file is refused
                     "SOCKSIFY_PROXY_LOOPBACK": "1"})
    r = run(curl_argv("http://127.0.0.1:%d/" % listener.getsockname()[1]), env=env)
    assert r.returncode != 0, r
    assert "larger than 4 MiB" in r.stderr and "refuse" in r.stderr, r
    assert_no_connection(listener)


def test_a_file_at_the_limit_is_read_to_its_last_line(socksify, socksify_lib, under, target):
    r = run([socksify.bin, "check", under], env=clean_env())
    assert r.returncode == 0 and "default through p1" in r.stdout, r
    r = run([socksify.bin, "-c", under, "--"] + curl_argv(target.url), env=clean_env())
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
    r = run(curl_argv(target.url), env=clean_env({"LD_PRELOAD": socksify_lib, "SOCKSIFY_CONFIG": under}))
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
