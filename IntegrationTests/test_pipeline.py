"""The pipelined SOCKS5 handshake (`pipeline` on a proxy, `?pipeline=1` on a URL).

What is asserted is counted, never timed: the project's test server logs, for each answer
it gives before the CONNECT reply, how many bytes the client had already sent
("early"), and servers/turn_relay.py, put in front of danted or microsocks, records
who spoke when.  A lockstep client waits for every answer; a pipelined one sends the
greeting, the login and the request in its first write and waits once.  The time this
saves is measured by bench/pipeline_latency.py (docs/async-handshake.md, "Pipelining").
"""

import pytest

from conftest import (DANTED_OUT, MICROSOCKS_OUT, PROBE, PROJECT_OUT, PYTHON, SOCKSIFY_BIN, Danted,
                      TurnRelay, clean_env, run)

GREETING = 3                       # 05 01 MM: the pipelined greeting offers one method
LOCKSTEP_GREETING_WITH_LOGIN = 4   # 05 02 00 02
REQUEST = 10                       # CONNECT to an IPv4 address
SELECTION, STATUS, REPLY = 2, 2, 10
HELLO = 6                          # probe.py's first bytes: "hello\n"

USER, PASSWORD = "sxpipe", "s3cret"
LOGIN = 3 + len(USER) + len(PASSWORD)


def launcher(*args):
    return [SOCKSIFY_BIN] + [str(a) for a in args]


def pipelined(url):
    return url + "?pipeline=1"


def probe(socksify, target, url, **kw):
    return socksify.run([PYTHON, PROBE, "connect", "127.0.0.1", str(target.port)], proxy=url, **kw)


def assert_through(r, peer):
    assert r.returncode == 0, r
    assert r.json()["peer"] == "peer %s" % peer, r
    assert r.json()["echo"] == "hello", r


def ok_entry(srv):
    entries = [e for e in srv.entries() if e["result"] == "ok"]
    assert len(entries) == 1, srv.entries()
    return entries[0]


@pytest.fixture(scope="module")
def danted_login(log_dir):
    d = Danted(log_dir, user=USER, password=PASSWORD)
    yield d
    d.stop()


@pytest.fixture
def relay(log_dir):
    started = []

    def make(upstream, delay_ms=0):
        r = TurnRelay(log_dir, upstream, delay_ms)
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


# ----------------------------------------------------- the project's test server -----

def test_test_server_sees_greeting_and_request_together(socksify, socks_server, target):
    srv = socks_server()
    assert_through(probe(socksify, target, pipelined(srv.url())), PROJECT_OUT)
    # The request was there before the method selection was sent: one write, no wait.
    assert ok_entry(srv)["early"] == [REQUEST]


def test_test_server_lockstep_waits_for_the_selection(socksify, socks_server, target):
    srv = socks_server()
    assert_through(probe(socksify, target, srv.url()), PROJECT_OUT)
    assert ok_entry(srv)["early"] == [0]


def test_test_server_with_login_one_write_instead_of_three(socksify, socks_server, target):
    srv = socks_server(user=USER, password=PASSWORD)
    assert_through(probe(socksify, target, pipelined(srv.url())), PROJECT_OUT)
    entry = ok_entry(srv)
    assert entry["user"] == USER, entry
    assert entry["early"] == [LOGIN + REQUEST, REQUEST], entry  # two round trips saved

    lockstep = socks_server(user=USER, password=PASSWORD)
    assert_through(probe(socksify, target, lockstep.url()), PROJECT_OUT)
    assert ok_entry(lockstep)["early"] == [0, 0]


def test_nagle_on_the_server_side_still_works(socksify, socks_server, target):
    # The test server as it was: no TCP_NODELAY; socksify sets TCP_QUICKACK when pipelining.
    srv = socks_server(user=USER, password=PASSWORD, extra_args=["--nagle"])
    assert_through(probe(socksify, target, pipelined(srv.url())), PROJECT_OUT)
    assert ok_entry(srv)["early"] == [LOGIN + REQUEST, REQUEST]


def test_tors_answer_without_the_method_selection(socksify, socks_server, target, relay):
    srv = socks_server(user=USER, password=PASSWORD, extra_args=["--tor-answers"])
    turns = relay(srv)
    assert_through(probe(socksify, target, pipelined(turns.url())), PROJECT_OUT)
    assert ok_entry(srv)["early"] == [LOGIN + REQUEST, REQUEST]
    # 01 00 and the CONNECT reply: no 05 02 in front of them.
    assert turns.connections()[0][:3] == [["c", GREETING + LOGIN + REQUEST], ["s", STATUS + REPLY], ["c", HELLO]]


@pytest.mark.parametrize("client", ["nonblocking", "asyncio"])
def test_asynchronous_connects_pipeline_too(socksify, socks_server, target, client):
    # A non-blocking connect: the program's waits drive the same exchange, one write included.
    srv = socks_server(user=USER, password=PASSWORD, extra_args=["--nagle"])
    r = socksify.run([PYTHON, PROBE, client, "127.0.0.1", str(target.port)], proxy=pipelined(srv.url()))
    assert_through(r, PROJECT_OUT)
    assert ok_entry(srv)["early"] == [LOGIN + REQUEST, REQUEST]


def test_a_wrong_guess_is_a_clean_refusal(socksify, socks_server, target):
    # No credentials given, the server wants a login: it answers the 00-only greeting 05 FF.
    srv = socks_server(user=USER, password=PASSWORD)
    r = probe(socksify, target, pipelined("socks5://" + srv.address))
    assert r.returncode == 1, r
    assert r.json()["errname"] == "EACCES", r
    assert "proxy accepts none of our authentication methods" in r.stderr, r
    assert [e["result"] for e in srv.entries()] == ["no_acceptable_method"]


def test_pipeline_in_the_environment_without_the_launcher(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.preload([PYTHON, PROBE, "connect", "127.0.0.1", str(target.port)], pipelined(srv.url()))
    assert_through(r, PROJECT_OUT)
    assert ok_entry(srv)["early"] == [REQUEST]


def test_pipeline_in_a_rules_file(socksify, socks_server, target, tmp_path):
    srv = socks_server(user=USER, password=PASSWORD)
    path = tmp_path / "pipeline.conf"
    path.write_text("set proxy-loopback\n"
                    "proxy p socks5://%s@%s password-env PIPE_PW pipeline\n"
                    "default via p\n" % (USER, srv.address))
    r = socksify.run([PYTHON, PROBE, "connect", "127.0.0.1", str(target.port)], loopback=False, verbose=True,
                     options=["--config", path], env={"PIPE_PW": PASSWORD})
    assert_through(r, PROJECT_OUT)
    assert ok_entry(srv)["early"] == [LOGIN + REQUEST, REQUEST]
    assert "pipelined" in r.stderr, r  # the log names the proxy as pipelined


# ---------------------------------------------------------------------- danted -----

def test_danted_no_login_one_round_trip(socksify, danted, target, relay):
    turns = relay(danted)
    assert_through(probe(socksify, target, pipelined(turns.url())), DANTED_OUT)
    assert turns.connections()[0][:3] == [["c", GREETING + REQUEST], ["s", SELECTION + REPLY], ["c", HELLO]]


def test_danted_no_login_lockstep_two_round_trips(socksify, danted, target, relay):
    turns = relay(danted)
    assert_through(probe(socksify, target, turns.url()), DANTED_OUT)
    assert turns.connections()[0][:5] == [["c", GREETING], ["s", SELECTION], ["c", REQUEST], ["s", REPLY], ["c", HELLO]]


def test_danted_login_one_round_trip_instead_of_three(socksify, danted_login, target, relay):
    turns = relay(danted_login)
    assert_through(probe(socksify, target, pipelined(turns.url())), DANTED_OUT)
    assert turns.connections()[0][:3] == [["c", GREETING + LOGIN + REQUEST], ["s", SELECTION + STATUS + REPLY],
                                          ["c", HELLO]]

    lockstep = relay(danted_login)
    assert_through(probe(socksify, target, lockstep.url()), DANTED_OUT)
    assert lockstep.connections()[0][:7] == [["c", LOCKSTEP_GREETING_WITH_LOGIN], ["s", SELECTION], ["c", LOGIN],
                                             ["s", STATUS], ["c", REQUEST], ["s", REPLY], ["c", HELLO]]


def test_danted_login_wrong_password(socksify, danted_login, target):
    r = probe(socksify, target, pipelined(danted_login.url(password="wrong")))
    assert r.returncode == 1, r
    assert r.json()["errname"] == "EACCES", r
    assert "peer" not in r.stdout, r


# ------------------------------------------------------------------- microsocks -----

def test_microsocks_stalls_which_is_why_it_is_not_the_default(socksify, microsocks, target, relay):
    # microsocks reads one message per recv() and drops the rest: it answers the greeting
    # and then nothing, the connection left open. Only the handshake timeout ends it.
    turns = relay(microsocks)
    r = probe(socksify, target, pipelined(turns.url()), options=["--handshake-timeout", "1"])
    assert r.returncode == 1, r
    assert r.json()["errname"] == "ETIMEDOUT", r
    assert "timed out" in r.stderr, r
    assert turns.connections()[0] == [["c", GREETING + REQUEST], ["s", SELECTION]]


def test_microsocks_lockstep_is_fine(socksify, microsocks, target):
    assert_through(probe(socksify, target, microsocks.url() + "?pipeline=0"), MICROSOCKS_OUT)


# ------------------------------------------------------------------ check/explain -----

def test_check_and_explain_show_it(socksify, tmp_path):
    path = tmp_path / "p.conf"
    path.write_text("proxy fast socks5://127.0.0.1:1081 pipeline\n"
                    "proxy slow socks5://127.0.0.1:1082\n"
                    "proxy old socks4a://127.0.0.1:1083?pipeline=1\n"
                    "rule to 10.0.0.0/8 via fast\n"
                    "default via slow\n")
    r = run(launcher("check", path), env=clean_env())
    assert r.returncode == 0, r
    assert "pipelined handshake (greeting, password and request in one write): fast (line 1)" in r.stdout, r
    assert "note: pipeline changes nothing for SOCKS4, which sends one message: old (line 3)" in r.stdout, r
    r = run(launcher("explain", "--config", path, "curl", "10.1.2.3:443"), env=clean_env())
    assert "action:      through fast (socks5 127.0.0.1:1081, pipelined)" in r.stdout, r
    r = run(launcher("explain", "--config", path, "curl", "192.0.2.1:443"), env=clean_env())
    assert "action:      through slow (socks5 127.0.0.1:1082)\n" in r.stdout, r


def test_bad_values_are_config_errors(socksify, tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("proxy a socks5://127.0.0.1:1081 pipeline pipeline\n"
                    "proxy b socks5://127.0.0.1:1082?pipeline=yes\n")
    r = run(launcher("check", path), env=clean_env())
    assert r.returncode == 1, r
    assert "%s:1:42: error: 'pipeline' appears twice" % path in r.stderr, r
    assert "%s:2:9: error: pipeline takes 1 or 0" % path in r.stderr, r
    r = run(launcher("-p", "socks5://127.0.0.1:1?pipelines=1", "--", "true"), env=clean_env())
    assert r.returncode == 2, r
    assert "unknown parameter 'pipelines'" in r.stderr, r
