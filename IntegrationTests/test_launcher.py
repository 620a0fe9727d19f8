"""The socksify launcher: argument handling, exit status, environment."""

import os
import shutil

import pytest

from conftest import MICROSOCKS_OUT, SOCKSIFY_LIB, clean_env, curl_argv, dead_port, run

SH = shutil.which("sh") or "/bin/sh"


def harmless_lib():
    for cand in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
                 "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6",
                 "/lib64/libm.so.6", "/usr/lib64/libm.so.6"):
        if os.path.exists(cand):
            return cand
    pytest.skip("no libm.so.6 found to use as a harmless LD_PRELOAD library")


def proxy_url():
    # nothing needs to listen: these programs never open a socket
    return "socks5://127.0.0.1:%d" % dead_port()


@pytest.mark.parametrize("status", [0, 1, 7, 42, 255])
def test_exit_status_passthrough(socksify, status):
    r = socksify.run([SH, "-c", "exit %d" % status], proxy=proxy_url())
    assert r.returncode == status, r


def test_signal_death_passthrough(socksify):
    """socksify execs the program, so a signal kills the program itself."""
    r = socksify.run([SH, "-c", "kill -TERM $$"], proxy=proxy_url())
    assert r.returncode in (-15, 128 + 15), r


def test_missing_program(socksify):
    r = socksify.run(["/nonexistent/definitely-not-a-program"], proxy=proxy_url())
    assert r.returncode == 127, r
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r
    assert "definitely-not-a-program" in lines[0], r
    assert r.stdout == "", r


def test_missing_program_in_path(socksify):
    r = socksify.run(["no-such-program-socksify-test"], proxy=proxy_url())
    assert r.returncode == 127, r
    assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:1080",
    "socks5://",
    "socks5://127.0.0.1:99999",
    "socks5://127.0.0.1:notaport",
    "not a url",
    "socks5://[::1:1080",
])
def test_bad_proxy_url(socksify, url):
    r = socksify.run([SH, "-c", "echo ran"], proxy=url)
    assert r.returncode != 0, r
    assert "ran" not in r.stdout, r
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) >= 1, r
    assert url in r.stderr, r


def test_no_program(socksify):
    r = run([socksify.bin, "-p", proxy_url()], env=clean_env())
    assert r.returncode != 0, r


def test_stdout_untouched(socksify):
    r = socksify.run(["echo", "hi"], proxy=proxy_url())
    assert r.returncode == 0, r
    assert r.stdout == "hi\n", r


def test_stdout_untouched_verbose(socksify, microsocks, target):
    r = socksify.run(["echo", "hi"], proxy=microsocks.url(), verbose=True)
    assert r.returncode == 0, r
    assert r.stdout == "hi\n", r
    # and a proxied program's stdout is only its own output, even with -v
    r = socksify.run(curl_argv(target.url), proxy=microsocks.url(), verbose=True)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_arguments_passed_verbatim(socksify):
    args = ["a b", "", "--", "-v", "$HOME", "*"]
    r = socksify.run(["printf", "[%s]\\n"] + args, proxy=proxy_url())
    assert r.returncode == 0, r
    assert r.stdout == "".join("[%s]\n" % a for a in args), r


def test_proxy_from_environment(socksify, microsocks, target):
    r = socksify.run(curl_argv(target.url), proxy=None,
                     env={"SOCKSIFY_PROXY": microsocks.url()})
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_option_overrides_environment(socksify, microsocks, target):
    r = socksify.run(curl_argv(target.url), proxy=microsocks.url(),
                     env={"SOCKSIFY_PROXY": proxy_url()})
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_long_options(socksify, microsocks, target):
    argv = [socksify.bin, "--proxy", microsocks.url(), "--proxy-loopback", "--verbose",
            "--connect-timeout", "5", "--handshake-timeout", "5", "--"] + curl_argv(target.url)
    r = run(argv, env=clean_env())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_program_without_double_dash(socksify, microsocks, target):
    argv = [socksify.bin, "-p", microsocks.url(), "--proxy-loopback"] + curl_argv(target.url)
    r = run(argv, env=clean_env())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_user_ld_preload_kept(socksify):
    lib = harmless_lib()
    r = socksify.run([SH, "-c", 'echo "$LD_PRELOAD"'], proxy=proxy_url(),
                     env={"LD_PRELOAD": lib})
    assert r.returncode == 0, r
    value = r.stdout.strip()
    assert lib in value, r
    assert "libsocksify" in value, r
    # the loader found both (no "cannot be preloaded" complaint)
    assert "cannot be preloaded" not in r.stderr, r


def test_ld_preload_set_for_program(socksify):
    r = socksify.run([SH, "-c", 'echo "$LD_PRELOAD"'], proxy=proxy_url())
    assert r.returncode == 0, r
    assert "libsocksify" in r.stdout, r
    assert "cannot be preloaded" not in r.stderr, r


def test_children_of_program_are_socksified(socksify, microsocks, target):
    """sh -> curl: the grandchild inherits the preload and the settings."""
    curl = " ".join("'%s'" % a for a in curl_argv(target.url))
    r = socksify.run([SH, "-c", curl], proxy=microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
