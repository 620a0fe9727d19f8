"""socksify doctor: each verdict against real proxies (microsocks, danted, tinyproxy), a dead
port, wrong and missing credentials, the project test server's fault modes, a rules file with a
chain and a missing password, and the programs it inspects (dynamic, static, missing).

Run:  python3 -m pytest IntegrationTests/test_doctor.py -q
"""

import os
import shutil

import pytest

from conftest import Danted, SOCKSIFY_BIN, clean_env, dead_port, run

BUSYBOX_STATIC = "/bin/busybox"


def doctor(*args, env=None, timeout=60):
    r = run([SOCKSIFY_BIN, "doctor"] + [str(a) for a in args], env=clean_env(env), timeout=timeout)
    assert "Traceback" not in r.stderr and "Fatal error" not in r.stderr, r
    return r


def lines(r, tag):
    return [l.strip()[len(tag):].strip() for l in r.stdout.splitlines() if l.strip().startswith(tag)]


def has(r, tag, text):
    return any(text in l for l in lines(r, tag))


@pytest.fixture(scope="module")
def danted_login(log_dir):
    d = Danted(log_dir, user="sxdoctor", password="s3cret")
    yield d
    d.stop()


def test_microsocks_with_a_target_and_a_program(microsocks, target):
    r = doctor("-p", microsocks.url("socks5h"), "--target", "127.0.0.1:%d" % target.port, "--proxy-loopback", "curl")
    assert r.returncode == 0, r
    assert has(r, "ok", "reachable: TCP connect in"), r
    assert has(r, "ok", "speaks SOCKS5: handshake in"), r
    assert has(r, "ok", "resolves names"), r
    assert has(r, "-", "accepts: no authentication"), r
    assert has(r, "-", "does not carry UDP (UDP ASSOCIATE: command not supported (0x07))"), r
    assert has(r, "-", "does not take BIND"), r
    assert has(r, "-", "does not take a pipelined handshake"), r
    assert has(r, "ok", "dynamically linked: the library"), r
    assert has(r, "ok", "reached 127.0.0.1:%d through socks5h 127.0.0.1:%d" % (target.port, microsocks.port)), r
    assert r.stdout.splitlines()[-1] == "verdict: ok, everything checked works", r
    assert r.stderr == "", r


def test_danted_carries_udp_and_bind(danted):
    r = doctor("-p", danted.url())
    assert r.returncode == 0, r
    assert has(r, "-", "carries UDP (UDP ASSOCIATE granted"), r
    assert has(r, "-", "takes BIND"), r
    assert not lines(r, "FAIL"), r


def test_a_dead_port_is_a_problem():
    port = dead_port()
    r = doctor("-p", "socks5://127.0.0.1:%d" % port)
    assert r.returncode == 1, r
    assert has(r, "FAIL", "not reachable: cannot reach the proxy: Connection refused (ECONNREFUSED)"), r
    assert r.stdout.splitlines()[-1].startswith("verdict: 1 problem: proxy socks5 127.0.0.1:%d: not reachable" % port), r


@pytest.mark.parametrize("proxy_fixture", ["microsocks_auth", "danted_login"])
def test_credentials(proxy_fixture, request):
    proxy = request.getfixturevalue(proxy_fixture)
    right = doctor("-p", proxy.url())
    assert right.returncode == 0, right
    assert has(right, "ok", "takes the username and password"), right
    assert has(right, "ok", "(username/password)"), right
    assert has(right, "-", "accepts: username/password"), right
    wrong = doctor("-p", proxy.url(password="wrong"))
    assert wrong.returncode == 1 and has(wrong, "FAIL", "refuses the username and password (status"), wrong
    missing = doctor("-p", "socks5://%s" % proxy.address)
    assert missing.returncode == 1 and has(missing, "FAIL", "wants a login: give user:password in the URL"), missing


@pytest.mark.parametrize("mode,expected", [
    ("silent", "no SOCKS5 greeting: timed out waiting for the proxy's reply"),
    ("close", "does not speak SOCKS5: proxy closed the connection"),
    ("garbage", "does not speak SOCKS5: malformed reply from the proxy: method selection has version"),
    ("badversion", "does not speak SOCKS5: malformed reply"),
    ("noacceptable", "wants a login"),
    ("truncated", "does not answer a SOCKS5 request: proxy closed the connection after 3 of"),
    ("badreply", "does not answer a SOCKS5 request: malformed reply"),
])
def test_fault_modes(socks_server, mode, expected):
    s = socks_server(mode=mode)
    r = doctor("-p", "socks5h://127.0.0.1:%d" % s.port, "--timeout", "0.5", timeout=30)
    assert r.returncode == 1, r
    assert has(r, "FAIL", expected), r


def test_a_proxy_that_takes_no_names_fails_for_socks5h_only(socks_server):
    s = socks_server(mode="reply=8")
    r = doctor("-p", "socks5h://127.0.0.1:%d" % s.port)
    assert r.returncode == 1 and has(r, "FAIL", "takes no names (address type not supported (0x08)): use socks5://"), r
    r = doctor("-p", "socks5://127.0.0.1:%d" % s.port)
    assert r.returncode == 0 and has(r, "-", "takes no names"), r


def test_a_proxy_whose_rules_refuse_the_probe_is_a_warning(socks_server):
    s = socks_server(mode="reply=2")
    r = doctor("-p", "socks5h://127.0.0.1:%d" % s.port)
    assert r.returncode == 0 and has(r, "warn", "could not tell whether it resolves names: its own rules refuse"), r
    assert r.stdout.splitlines()[-1] == "verdict: ok, with 1 warning above", r


def test_pipelining(socks_server, microsocks):
    s = socks_server()
    r = doctor("-p", "socks5h://127.0.0.1:%d" % s.port)
    assert r.returncode == 0 and has(r, "-", "takes a pipelined handshake (pipeline in the rules file"), r
    r = doctor("-p", "socks5h://127.0.0.1:%d?pipeline=1" % microsocks.port)
    assert r.returncode == 1 and has(r, "FAIL", "does not take a pipelined handshake"), r


def test_socks4(socks_server):
    s = socks_server()
    for scheme in ("socks4", "socks4a"):
        r = doctor("-p", "%s://127.0.0.1:%d" % (scheme, s.port))
        assert r.returncode == 0 and has(r, "ok", "speaks SOCKS4"), r
        assert has(r, "-", "SOCKS4 carries no UDP"), r


def test_http_proxies(tinyproxy, tinyproxy_auth, target):
    r = doctor("-p", tinyproxy.url(), "--target", "127.0.0.1:%d" % target.port, "--proxy-loopback")
    assert r.returncode == 0 and has(r, "ok", "speaks HTTP CONNECT"), r
    assert has(r, "ok", "reached 127.0.0.1:%d through http 127.0.0.1:%d" % (target.port, tinyproxy.port)), r
    r = doctor("-p", tinyproxy_auth.url())
    assert r.returncode == 0 and has(r, "ok", "takes the username and password"), r
    r = doctor("-p", "http://%s" % tinyproxy_auth.address)
    assert r.returncode == 1 and has(r, "FAIL", "proxy wants a login"), r


def test_a_rules_file_with_a_chain_and_a_missing_password(danted, microsocks, target, tmp_path):
    conf = tmp_path / "rules.conf"
    conf.write_text("proxy first %s\nproxy second %s\n"
                    "proxy locked socks5://bob@127.0.0.1:%d password-env SX_DOCTOR_UNSET\n"
                    "rule app curl via locked\n"
                    "default chain first second\n" % (danted.url(), microsocks.url(), dead_port()))
    r = doctor("-c", conf, "--target", "127.0.0.1:%d" % target.port, "--proxy-loopback", "wget")
    assert r.returncode == 0, r
    assert "proxy second (socks5 127.0.0.1:%d), line 2" % microsocks.port in r.stdout, r
    assert has(r, "ok", "reachable (through socks5 127.0.0.1:%d): TCP connect in" % danted.port), r
    assert has(r, "ok", "reached 127.0.0.1:%d through first > second" % target.port), r
    assert "locked" not in r.stdout, "curl's rule is not wget's\n" + r.stdout
    r = doctor("-c", conf, "curl")
    assert r.returncode == 1, r
    assert has(r, "FAIL", "no password for it: "), r


def test_programs(microsocks):
    r = doctor("-p", microsocks.url(), "no-such-program-here")
    assert r.returncode == 1 and has(r, "FAIL", "no-such-program-here: not found"), r
    if os.path.exists(BUSYBOX_STATIC):
        r = doctor("-p", microsocks.url(), BUSYBOX_STATIC)
        assert r.returncode == 0 and has(r, "ok", "is statically linked: the kernel backstop holds its connections"), r
        r = doctor("-p", microsocks.url(), BUSYBOX_STATIC, env={"SOCKSIFY_NO_BACKSTOP": "1"})
        assert r.returncode == 1 and has(r, "FAIL", "SOCKSIFY_NO_BACKSTOP is set"), r


def test_a_target_that_cannot_be_reached(microsocks):
    port = dead_port()
    r = doctor("-p", microsocks.url(), "--target", "127.0.0.1:%d" % port, "--proxy-loopback")
    assert r.returncode == 1 and has(r, "FAIL", "not reached through socks5 127.0.0.1:%d: proxy refused: connection refused" % microsocks.port), r
    r = doctor("-p", microsocks.url(), "--target", "127.0.0.1:%d" % port)
    assert r.returncode == 1 and has(r, "FAIL", "goes direct (loopback), and is not reachable: Connection refused"), r


def test_usage_errors():
    r = doctor("-p", "socks5://127.0.0.1:1", "--target", "nohostport")
    assert r.returncode == 2 and "HOST:PORT" in r.stderr, r
    r = doctor("-p", "ftp://x:1")
    assert r.returncode == 2 and r.stdout == "", r


def test_credentials_a_proxy_never_asks_for_are_not_called_accepted(microsocks):
    r = doctor("-p", "socks5://bob:wrong@%s" % microsocks.address)
    assert r.returncode == 0, r
    assert has(r, "ok", "needs no login, so the credentials were not checked"), r
    assert not has(r, "ok", "takes the username and password"), r


def test_failover_stops_at_the_destinations_refusal_as_the_library_does(microsocks, target, tmp_path):
    """The first proxy reaches the destination's refusal: final, the second is not tried."""
    conf = tmp_path / "rules.conf"
    conf.write_text("proxy one %s\nproxy two %s\ndefault failover one two\n" % (microsocks.url(), microsocks.url()))
    port = dead_port()
    r = doctor("-c", conf, "--target", "127.0.0.1:%d" % port, "--proxy-loopback")
    assert r.returncode == 1, r
    assert has(r, "FAIL", "not reached through one: proxy refused: connection refused"), r
    assert "through two" not in r.stdout, r
    conf.write_text("proxy dead socks5://127.0.0.1:%d\nproxy two %s\ndefault failover dead two\n" % (dead_port(), microsocks.url()))
    r = doctor("-c", conf, "--target", "127.0.0.1:%d" % target.port, "--proxy-loopback")
    assert has(r, "warn", "not reached through dead: cannot reach the proxy"), r
    assert has(r, "ok", "reached 127.0.0.1:%d through two" % target.port), r
    assert has(r, "warn", "not reachable: cannot reach the proxy: Connection refused (ECONNREFUSED) (its failover list moves on"), r
    assert r.returncode == 0 and not lines(r, "FAIL"), r


def test_a_chains_dead_first_hop_is_named_on_the_later_hops_line(microsocks, tmp_path):
    port = dead_port()
    conf = tmp_path / "rules.conf"
    conf.write_text("proxy dead socks5://127.0.0.1:%d\nproxy ms %s\ndefault chain dead ms\n" % (port, microsocks.url()))
    r = doctor("-c", conf)
    assert r.returncode == 1, r
    assert "proxy ms (socks5 127.0.0.1:%d), line 2, reached through socks5 127.0.0.1:%d" % (microsocks.port, port) in r.stdout, r
    assert has(r, "FAIL", "not reachable (through socks5 127.0.0.1:%d): any hop of the way)" % port) or \
        has(r, "FAIL", "not reachable (through socks5 127.0.0.1:%d: any hop of the way)" % port), r


def test_a_target_the_rules_block_is_a_problem(microsocks, tmp_path):
    conf = tmp_path / "rules.conf"
    conf.write_text("proxy ms %s\nrule to 192.0.2.0/24 block\ndefault via ms\n" % microsocks.url())
    r = doctor("-c", conf, "--target", "192.0.2.1:80")
    assert r.returncode == 1 and has(r, "FAIL", "socksify refuses it (ECONNREFUSED): blocked (rule at line 2)"), r


I386_EXIT = """
    .globl _start
    .text
_start:
    mov $1, %eax
    mov $0, %ebx
    int $0x80
"""


def test_programs_the_backstop_holds_and_those_nothing_reaches(microsocks, tmp_path, setuid_copies):
    """A 32-bit program: held. A setuid program run by someone else: FAIL, and why."""
    (tmp_path / "e.s").write_text(I386_EXIT)
    if run(["as", "--32", "-o", tmp_path / "e.o", tmp_path / "e.s"]).returncode == 0 and \
            run(["ld", "-m", "elf_i386", "-o", tmp_path / "e32", tmp_path / "e.o"]).returncode == 0:
        r = doctor("-p", microsocks.url(), tmp_path / "e32")
        assert r.returncode == 0 and has(r, "ok", "is a 32-bit program: the kernel backstop holds its connections"), r
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        pytest.skip("needs root and setpriv for the setuid case")
    program = setuid_copies("true")["true"]
    r = run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", SOCKSIFY_BIN, "doctor", "-p", microsocks.url(), program],
            env=clean_env())
    assert r.returncode == 1, r
    assert has(r, "FAIL", "is setuid/setgid: the loader ignores LD_PRELOAD for it"), r
    assert has(r, "FAIL", "use the program's own proxy setting, or run socksify as root"), r


def test_an_ipv6_proxy(microsocks6):
    r = doctor("-p", "socks5h://[::1]:%d" % microsocks6.port)
    assert r.returncode == 0 and "proxy socks5h [::1]:%d" % microsocks6.port in r.stdout, r
    assert has(r, "ok", "speaks SOCKS5"), r
