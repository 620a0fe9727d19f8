"""Per-app rules files: routing by program, destination and port, block/chain/failover, the
launcher's and the library's handling of broken files, `socksify check` / `explain`, config
discovery and passwords from the environment.

Two microsocks proxies with different outgoing addresses tell the target who connected:
p1 leaves from 127.0.0.2 (conftest's MICROSOCKS_OUT), p2 from 127.0.0.5.  Every address used is
loopback; every config sets proxy-loopback because the targets are on loopback.
"""

import errno
import os
import re
import shutil
import socket
import time

import pytest

from conftest import (MICROSOCKS_OUT, PYTHON, REPO, Microsocks, TargetServer, clean_env,
                      dead_port, run)

P1_OUT = MICROSOCKS_OUT  # 127.0.0.2
P2_OUT = "127.0.0.5"
DIRECT = "127.0.0.1"

CURL = shutil.which("curl")
BASH = shutil.which("bash") or "/bin/bash"
SH = shutil.which("sh") or "/bin/sh"
EXAMPLE = REPO / "examples" / "socksify.conf"

# Connects to HOST once per PORT argument (a name is resolved through getaddrinfo, so through the
# shim); prints "peer <ip>" (the target's answer) or "errno <NAME>" for each. Exit status 0.
CLIENT = r"""
import errno, socket, sys, time
host = sys.argv[1]
for port in sys.argv[2:]:
    if port == "sleep":
        time.sleep(0.6)
        continue
    try:
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(b"hi\n")
        data = b""
        while b"\n" not in data:
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        s.close()
        print(data.split(b"\n")[0].decode().strip())
    except OSError as e:
        print("errno %s" % errno.errorcode.get(e.errno, e.errno))
    sys.stdout.flush()
"""


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def p1(microsocks):
    return microsocks


@pytest.fixture(scope="module")
def p2(log_dir):
    m = Microsocks(log_dir, bind_out=P2_OUT)
    yield m
    m.stop()


@pytest.fixture(scope="module")
def targets(log_dir):
    """Five targets on 127.0.0.1 (distinct ports), one on 127.0.0.6, one on 127.0.1.9."""
    started = {}
    try:
        for key in ("a", "b", "c", "d", "e"):
            started[key] = TargetServer(log_dir, "127.0.0.1")
        started["six"] = TargetServer(log_dir, "127.0.0.6")
        started["far"] = TargetServer(log_dir, "127.0.1.9")
    except Exception:
        for t in started.values():
            t.stop()
        raise
    yield started
    for t in started.values():
        t.stop()


@pytest.fixture
def conf(tmp_path, p1, p2):
    """conf(body) writes a rules file with p1/p2 defined and proxy-loopback set; returns its path."""
    counter = [0]

    def write(body, header=True):
        counter[0] += 1
        path = tmp_path / ("rules%d.conf" % counter[0])
        text = ""
        if header:
            text = ("set proxy-loopback\n"
                    "proxy p1 socks5://127.0.0.1:%d\n"
                    "proxy p2 socks5://127.0.0.1:%d\n" % (p1.port, p2.port))
        path.write_text(text + body)
        return path

    return write


def launch(argv, config=None, options=(), env=None, drop=(), timeout=30):
    """socksify [-c config] [options] -- argv"""
    cmd = [os.environ.get("SOCKSIFY_BIN", str(REPO / ".build" / "debug" / "socksify"))]
    if config is not None:
        cmd += ["-c", str(config)]
    cmd += list(options) + ["--"] + [str(a) for a in argv]
    return run(cmd, env=clean_env(env, drop=drop), timeout=timeout)


def client(host, *ports):
    return [PYTHON, "-c", CLIENT, host] + [str(p) for p in ports]


def curl(target):
    if not CURL:
        pytest.skip("curl not installed")
    return [CURL, "-sS", "--max-time", "10", target.url]


def answers(result):
    return [l.strip() for l in result.stdout.splitlines() if l.strip()]


def stderr_lines(result, *words):
    return [l for l in result.stderr.splitlines() if all(w in l for w in words)]


def socksify_cmd(*args):
    return [os.environ.get("SOCKSIFY_BIN", str(REPO / ".build" / "debug" / "socksify"))] + [str(a) for a in args]


# --------------------------------------------------------------------------
# routing by program
# --------------------------------------------------------------------------

def test_programs_take_their_own_proxies(socksify, conf, target):
    path = conf("rule app curl via p1\n"
                "rule app python3* via p2\n"
                "default block\n")
    r = launch(curl(target), path)
    assert r.returncode == 0, r
    assert r.stdout.strip() == "peer %s" % P1_OUT, r

    r = launch(client("127.0.0.1", target.port), path)
    assert answers(r) == ["peer %s" % P2_OUT], r


def test_program_by_full_path(socksify, conf, target):
    real = os.path.realpath(CURL or "/usr/bin/curl")
    path = conf("rule app %s via p2\n"
                "rule app curl via p1\n"
                "default block\n" % real)
    r = launch(curl(target), path)
    assert r.stdout.strip() == "peer %s" % P2_OUT, r


@pytest.mark.parametrize("shell", [BASH, SH])
def test_rule_of_the_program_a_shell_runs(socksify, conf, target, shell):
    """The shell gets bash's rules (none match here); the curl it starts gets curl's."""
    path = conf("rule app bash,sh,dash via p2\n"
                "rule app curl via p1\n"
                "default block\n")
    if not CURL:
        pytest.skip("curl not installed")
    # "; true" makes the shell fork and wait instead of exec'ing curl in its own process
    script = "%s -sS --max-time 10 %s; true" % (CURL, target.url)
    r = launch([shell, "-c", script], path)
    assert r.returncode == 0, r
    assert r.stdout.strip() == "peer %s" % P1_OUT, r
    # and the shell exec'ing curl directly
    r = launch([shell, "-c", "exec %s -sS --max-time 10 %s" % (CURL, target.url)], path)
    assert r.stdout.strip() == "peer %s" % P1_OUT, r


def test_python_started_by_a_shell_gets_its_rule(socksify, conf, target):
    path = conf("rule app curl via p1\n"
                "rule app python3* via p2\n"
                "default block\n")
    script = "'%s' -c \"$CLIENT\" 127.0.0.1 %d" % (PYTHON, target.port)
    r = launch([BASH, "-c", script], path, env={"CLIENT": CLIENT})
    assert answers(r) == ["peer %s" % P2_OUT], r


def test_program_not_matching_falls_to_the_default(socksify, conf, target):
    path = conf("rule app curl via p1\n"
                "rule app python2* via p1\n"
                "default via p2\n")
    r = launch(client("127.0.0.1", target.port), path)
    assert answers(r) == ["peer %s" % P2_OUT], r


# --------------------------------------------------------------------------
# destination and port conditions
# --------------------------------------------------------------------------

def test_port_conditions(socksify, conf, targets):
    a, b, c, d, e = (targets[k].port for k in "abcde")
    lo, hi = min(d, e), max(d, e)
    path = conf("rule port %d via p1\n"         # line 4: single port
                "rule port %d,%d direct\n"      # line 5: list
                "rule port %d-%d via p2\n"      # line 6: range, both ends included
                "default block\n" % (a, b, c, lo, hi))
    r = launch(client("127.0.0.1", a, b, c, d, e), path)
    assert answers(r) == ["peer %s" % P1_OUT, "peer %s" % DIRECT, "peer %s" % DIRECT,
                          "peer %s" % P2_OUT, "peer %s" % P2_OUT], r
    # a port in no rule: the default (block)
    other = next(p for p in range(1024, 65535) if p not in (a, b, c) and not lo <= p <= hi)
    r = launch(client("127.0.0.1", other), path, options=["-v"])
    assert answers(r) == ["errno ECONNREFUSED"], r
    assert stderr_lines(r, "blocked", "line 7"), r


def test_network_conditions(socksify, conf, targets):
    six, far, a = targets["six"], targets["far"], targets["a"]
    path = conf("rule to 127.0.0.4/30 via p2\n"          # 127.0.0.6
                "rule to 10.0.0.0/8,127.0.0.0/24 via p1\n"  # 127.0.0.1
                "rule to 127.0.1.9/32 direct\n"
                "default block\n")
    r = launch(client("127.0.0.6", six.port), path)
    assert answers(r) == ["peer %s" % P2_OUT], r
    r = launch(client("127.0.0.1", a.port), path)
    assert answers(r) == ["peer %s" % P1_OUT], r
    r = launch(client("127.0.1.9", far.port), path)
    assert answers(r) == ["peer %s" % DIRECT], r  # direct: no proxy address


def test_first_match_wins(socksify, conf, targets):
    a = targets["a"]
    path = conf("rule to 127.0.0.1 port %d via p2\n"
                "rule to 127.0.0.0/8 via p1\n"
                "default block\n" % a.port)
    r = launch(client("127.0.0.1", a.port, targets["b"].port), path)
    assert answers(r) == ["peer %s" % P2_OUT, "peer %s" % P1_OUT], r


def test_exact_name_rule_for_a_locally_resolved_name(socksify, conf, targets):
    """socks5 (not socks5h) proxies: libc resolves localhost, the shim remembers the name."""
    a = targets["a"]
    path = conf("rule to localhost via p2\n"
                "rule to 127.0.0.1 via p1\n"
                "default block\n")
    r = launch(client("localhost", a.port), path)
    assert answers(r) == ["peer %s" % P2_OUT], r
    r = launch(client("127.0.0.1", a.port), path)
    assert answers(r) == ["peer %s" % P1_OUT], r


def test_exact_name_rule_for_a_hosts_file_name_with_socks5h(socksify, conf, targets, p1, p2):
    a = targets["a"]
    path = conf("proxy p2h socks5h://127.0.0.1:%d\n"
                "rule to localhost via p2h\n"
                "rule to 127.0.0.1 via p1\n"
                "default block\n" % p2.port)
    r = launch(client("localhost", a.port), path)
    assert answers(r) == ["peer %s" % P2_OUT], r


# --------------------------------------------------------------------------
# block, chain, failover
# --------------------------------------------------------------------------

def test_block_refuses_and_names_the_line(socksify, conf, targets):
    a, b = targets["a"], targets["b"]
    path = conf("rule app python3* port %d block\n"   # line 4
                "default via p1\n" % b.port)
    r = launch(client("127.0.0.1", b.port, a.port), path)
    assert answers(r) == ["errno ECONNREFUSED", "peer %s" % P1_OUT], r
    lines = stderr_lines(r, "blocked")
    assert len(lines) == 1, r
    assert "line 4" in lines[0], r
    assert "127.0.0.1:%d" % b.port in lines[0], r
    assert "ECONNREFUSED" in lines[0], r


def test_default_block_names_the_default_line(socksify, conf, target):
    path = conf("rule app nothing-like-this via p1\n"
                "\n"
                "default block\n")   # line 6
    r = launch(client("127.0.0.1", target.port), path)
    assert answers(r) == ["errno ECONNREFUSED"], r
    assert stderr_lines(r, "blocked", "line 6"), r


@pytest.mark.parametrize("order,last_hop", [("p1 p2", P2_OUT), ("p2 p1", P1_OUT)])
def test_chain_reaches_the_target_through_the_last_hop(socksify, conf, target, order, last_hop):
    path = conf("rule chain %s\n" % order)
    r = launch(client("127.0.0.1", target.port), path, options=["-v"])
    assert answers(r) == ["peer %s" % last_hop], r
    assert stderr_lines(r, "via", " > "), r  # the log shows the whole chain


def test_chain_through_curl(socksify, conf, target):
    path = conf("rule app curl chain p2 p1\ndefault block\n")
    r = launch(curl(target), path)
    assert r.stdout.strip() == "peer %s" % P1_OUT, r


def test_failover_skips_a_dead_proxy(socksify, conf, target):
    dead = dead_port()
    path = conf("proxy dead socks5://127.0.0.1:%d\n"
                "rule failover dead p2\n" % dead)
    # two connections in one process
    r = launch(client("127.0.0.1", target.port, target.port), path, options=["-v"])
    assert answers(r) == ["peer %s" % P2_OUT] * 2, r
    failed = stderr_lines(r, "via dead", "failed")
    assert len(failed) == 1, "the dead proxy is tried once, then skipped (failover-retry)\n%s" % r
    assert "failover 1 of 2" in failed[0], r
    assert "127.0.0.1:%d" % dead in failed[0], r
    # the second connection had only p2 left to try
    assert stderr_lines(r, "via p2", "failover 1 of 1"), r


def test_failover_tries_a_dead_proxy_again_after_failover_retry(socksify, conf, target):
    dead = dead_port()
    path = conf("set failover-retry 0.2\n"
                "proxy dead socks5://127.0.0.1:%d\n"
                "rule failover dead p1\n" % dead)
    r = launch(client("127.0.0.1", target.port, "sleep", target.port), path)
    assert answers(r) == ["peer %s" % P1_OUT] * 2, r
    assert len(stderr_lines(r, "via dead", "failed")) == 2, r


def test_failover_first_candidate_alive(socksify, conf, target):
    path = conf("proxy dead socks5://127.0.0.1:%d\n"
                "rule failover p1 dead\n" % dead_port())
    r = launch(client("127.0.0.1", target.port), path)
    assert answers(r) == ["peer %s" % P1_OUT], r
    assert not stderr_lines(r, "via dead"), r


# --------------------------------------------------------------------------
# socksify check
# --------------------------------------------------------------------------

def test_check_good_file(socksify, conf):
    path = conf("rule app curl via p1\ndefault block\n")
    r = run(socksify_cmd("check", path), env=clean_env())
    assert r.returncode == 0, r
    assert "ok" in r.stdout, r
    assert str(path) in r.stdout, r


def test_check_bad_file_reports_every_problem(socksify, tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("proxy p1 socks5://127.0.0.1:1080\n"     # 1
                    "rule app curl via nowhere\n"             # 2: col 19
                    "frobnicate\n"                            # 3: col 1
                    "\n"
                    "rule port 0 direct\n"                    # 5: col 11
                    "set connect-timeout soon\n")             # 6: col 21
    r = run(socksify_cmd("check", path), env=clean_env())
    assert r.returncode == 1, r
    found = re.findall(r"^(.*):(\d+):(\d+): error: (.*)$", r.stderr, re.M)
    assert [(f, int(l), int(c)) for f, l, c, _ in found] == [
        (str(path), 2, 19), (str(path), 3, 1), (str(path), 5, 11), (str(path), 6, 21)], r
    messages = [m for _, _, _, m in found]
    assert messages[0] == "no proxy named 'nowhere'", r
    assert "frobnicate" in messages[1] and "invalid port '0'" in messages[2] and "soon" in messages[3], r
    hints = re.findall(r"^    hint: (.*)$", r.stderr, re.M)
    assert "defined proxies: p1" in hints, r
    assert len(hints) == 4, r  # every one of these problems comes with a hint
    assert "4 problems in %s" % path in r.stderr, r
    assert "ok" not in r.stdout, r


def test_check_example_file(socksify):
    r = run(socksify_cmd("check", EXAMPLE), env=clean_env({"CORP_PROXY_PASSWORD": "hunter2"}))
    assert r.returncode == 0, r
    assert "ok" in r.stdout, r
    # Without the variable the shipped example still checks clean: a missing password is the
    # environment's problem, reported as a warning.
    r = run(socksify_cmd("check", EXAMPLE), env=clean_env(drop=("CORP_PROXY_PASSWORD",)))
    assert r.returncode == 0 and "ok" in r.stdout and "1 warning" in r.stdout, r
    assert "warning: environment variable CORP_PROXY_PASSWORD is not set" in r.stderr, r
    assert "hint: export CORP_PROXY_PASSWORD=" in r.stderr, r


def test_check_missing_file(socksify, tmp_path):
    r = run(socksify_cmd("check", tmp_path / "nope.conf"), env=clean_env())
    assert r.returncode == 2, r


# --------------------------------------------------------------------------
# broken rules files: nothing runs, nothing goes direct
# --------------------------------------------------------------------------

BROKEN = ("set proxy-loopback\n"
          "proxy p1 socks5://127.0.0.1:1080\n"
          "rule app curl via p9\n"
          "default drop\n")


def test_launcher_refuses_to_start_with_a_bad_file(socksify, tmp_path):
    path = tmp_path / "broken.conf"
    path.write_text(BROKEN)
    flag = tmp_path / "ran"
    r = launch(["touch", flag], path)
    assert r.returncode == 2, r
    assert not flag.exists(), "the program must not have run\n%s" % r
    assert "%s:3:19: error: no proxy named 'p9'" % path in r.stderr, r
    assert "%s:4:9: error: unknown action 'drop'" % path in r.stderr, r
    assert "hint:" in r.stderr, r


def test_launcher_refuses_a_bad_file_found_through_the_environment(socksify, tmp_path):
    path = tmp_path / "broken.conf"
    path.write_text(BROKEN)
    flag = tmp_path / "ran"
    r = launch(["touch", flag], env={"SOCKSIFY_CONFIG": path})
    assert r.returncode == 2, r
    assert not flag.exists(), r
    assert "no proxy named 'p9'" in r.stderr, r


def test_launcher_refuses_an_unreadable_file(socksify, tmp_path):
    flag = tmp_path / "ran"
    r = launch(["touch", flag], tmp_path / "missing.conf")
    assert r.returncode == 2, r
    assert not flag.exists(), r


def test_library_with_a_bad_file_refuses_connections(socksify_lib, tmp_path, target):
    path = tmp_path / "broken.conf"
    path.write_text(BROKEN)
    env = clean_env({"LD_PRELOAD": socksify_lib, "SOCKSIFY_CONFIG": path,
                     # the file's own 'set proxy-loopback' is not read: the file is broken
                     "SOCKSIFY_PROXY_LOOPBACK": "1"})
    r = run(client("127.0.0.1", target.port), env=env)
    assert answers(r) == ["errno ECONNREFUSED"], r  # the target listens: a direct connect would work
    assert "%s:3:19: error: no proxy named 'p9'" % path in r.stderr, r
    assert "%s:4:9: error: unknown action 'drop'" % path in r.stderr, r
    assert "refuse" in r.stderr, r


def test_library_with_a_missing_file_refuses_connections(socksify_lib, tmp_path, target):
    env = clean_env({"LD_PRELOAD": socksify_lib, "SOCKSIFY_CONFIG": tmp_path / "missing.conf",
                     "SOCKSIFY_PROXY_LOOPBACK": "1"})
    r = run(client("127.0.0.1", target.port), env=env)
    assert answers(r) == ["errno ECONNREFUSED"], r
    assert "missing.conf" in r.stderr, r


def test_library_with_a_good_file(socksify_lib, conf, target):
    path = conf("rule app python3* via p2\ndefault block\n")
    env = clean_env({"LD_PRELOAD": socksify_lib, "SOCKSIFY_CONFIG": path})
    r = run(client("127.0.0.1", target.port), env=env)
    assert answers(r) == ["peer %s" % P2_OUT], r


# --------------------------------------------------------------------------
# socksify explain
# --------------------------------------------------------------------------

EXPLAIN_RULES = ("proxy corp socks5://127.0.0.1:1081\n"                # 1
                 "proxy tor socks5h://127.0.0.1:9050\n"                 # 2
                 "rule to *.onion via tor\n"                            # 3
                 "rule app curl to *.corp.example port 443 via corp\n"  # 4
                 "rule to 10.0.0.0/8 direct\n"                          # 5
                 "default block\n")                                     # 6


def explain(path, program, destination, env=None):
    return run(socksify_cmd("explain", "--config", path, program, destination), env=clean_env(env))


def field(result, name):
    for line in result.stdout.splitlines():
        if line.startswith(name + ":"):
            return line[len(name) + 1:].strip()
    raise AssertionError("no %s: line\n%s" % (name, result))


@pytest.mark.parametrize("program,destination,line,action", [
    ("curl", "intranet.corp.example:443", "line 4: rule app curl to *.corp.example port 443 via corp",
     "through corp (socks5 127.0.0.1:1081)"),
    ("curl", "intranet.corp.example:80", "the default, line 6: default block", "block"),        # port does not match
    ("wget", "intranet.corp.example:443", "the default, line 6: default block", "block"),       # program does not match
    ("curl", "corp.example:443", "the default, line 6: default block", "block"),                # *.corp.example is not corp.example
    ("wget", "abcdef.onion:80", "line 3: rule to *.onion via tor", "through tor (socks5h 127.0.0.1:9050)"),
    ("wget", "10.1.2.3", "line 5: rule to 10.0.0.0/8 direct", "direct"),
    ("wget", "[2001:db8::1]:443", "the default, line 6: default block", "block"),
])
def test_explain(socksify, tmp_path, program, destination, line, action):
    path = tmp_path / "explain.conf"
    path.write_text(EXPLAIN_RULES)
    r = explain(path, program, destination)
    assert r.returncode == 0, r
    assert field(r, "matches") == line, r
    assert field(r, "action").startswith(action), r


def test_explain_without_a_default_line(socksify, tmp_path):
    path = tmp_path / "nodefault.conf"
    path.write_text("proxy p socks5://127.0.0.1:1\nrule app curl via p\n")
    r = explain(path, "wget", "192.0.2.1:80")
    assert r.returncode == 0, r
    assert "no rule" in field(r, "matches"), r
    assert field(r, "action").startswith("direct"), r
    r = explain(path, "curl", "192.0.2.1:80")
    assert field(r, "matches") == "line 2: rule app curl via p", r


def test_explain_names_resolution(socksify, tmp_path):
    path = tmp_path / "explain.conf"
    path.write_text(EXPLAIN_RULES)
    r = explain(path, "wget", "abcdef.onion:80")
    assert "resolved by the proxy" in field(r, "name"), r
    r = explain(path, "curl", "intranet.corp.example:443")
    assert "resolved locally" in field(r, "name"), r


def test_explain_bad_file(socksify, tmp_path):
    path = tmp_path / "broken.conf"
    path.write_text(BROKEN)
    r = explain(path, "curl", "example.com:443")
    assert r.returncode == 1, r
    assert "no proxy named 'p9'" in r.stderr, r


def test_explain_finds_the_file_like_the_launcher(socksify, tmp_path):
    xdg = tmp_path / "xdg"
    (xdg / "socksify").mkdir(parents=True)
    (xdg / "socksify" / "config").write_text("rule app curl block\n")
    r = run(socksify_cmd("explain", "curl", "192.0.2.1:80"),
            env=clean_env({"XDG_CONFIG_HOME": xdg}))
    assert r.returncode == 0, r
    assert field(r, "matches") == "line 1: rule app curl block", r


# --------------------------------------------------------------------------
# which file, and --proxy
# --------------------------------------------------------------------------

def test_config_discovery_order(socksify, conf, tmp_path, target):
    explicit = conf("default via p1\n")
    from_env = conf("default via p2\n")
    xdg = tmp_path / "xdg"
    (xdg / "socksify").mkdir(parents=True)
    (xdg / "socksify" / "config").write_text("default direct\n")
    home = tmp_path / "home"
    (home / ".config" / "socksify").mkdir(parents=True)
    (home / ".config" / "socksify" / "config").write_text("default block\n")
    prog = client("127.0.0.1", target.port)

    # --config beats $SOCKSIFY_CONFIG beats $XDG_CONFIG_HOME/socksify/config
    r = launch(prog, explicit, env={"SOCKSIFY_CONFIG": from_env, "XDG_CONFIG_HOME": xdg, "HOME": home})
    assert answers(r) == ["peer %s" % P1_OUT], r
    r = launch(prog, env={"SOCKSIFY_CONFIG": from_env, "XDG_CONFIG_HOME": xdg, "HOME": home})
    assert answers(r) == ["peer %s" % P2_OUT], r
    r = launch(prog, env={"XDG_CONFIG_HOME": xdg, "HOME": home})
    assert answers(r) == ["peer %s" % DIRECT], r
    # without XDG_CONFIG_HOME: ~/.config/socksify/config
    r = launch(prog, env={"HOME": home}, drop=("XDG_CONFIG_HOME",), options=["--proxy-loopback"])
    assert answers(r) == ["errno ECONNREFUSED"], r
    assert stderr_lines(r, "blocked"), r


def test_no_config_anywhere(socksify, tmp_path):
    if os.path.exists("/etc/socksify.conf"):
        pytest.skip("/etc/socksify.conf exists on this machine")
    flag = tmp_path / "ran"
    r = launch(["touch", flag], env={"HOME": tmp_path, "XDG_CONFIG_HOME": tmp_path / "xdg"})
    assert r.returncode == 2, r
    assert not flag.exists(), r


def test_proxy_option_overrides_the_rules_file(socksify, conf, p1, target):
    path = conf("default block\n")
    r = launch(client("127.0.0.1", target.port), path, options=["--proxy", p1.url(), "--proxy-loopback"])
    assert answers(r) == ["peer %s" % P1_OUT], r
    # and a broken file is not even read then
    broken = conf(BROKEN, header=False)
    r = launch(client("127.0.0.1", target.port), broken, options=["--proxy", p1.url(), "--proxy-loopback"])
    assert answers(r) == ["peer %s" % P1_OUT], r


def test_proxy_variable_does_not_override_an_explicit_config(socksify, conf, p1, target):
    path = conf("default via p2\n")
    r = launch(client("127.0.0.1", target.port), path, env={"SOCKSIFY_PROXY": p1.url()})
    assert answers(r) == ["peer %s" % P2_OUT], r


# --------------------------------------------------------------------------
# passwords
# --------------------------------------------------------------------------

def test_password_from_the_environment(socksify, tmp_path, microsocks_auth, target):
    path = tmp_path / "auth.conf"
    path.write_text("set proxy-loopback\n"
                    "proxy a socks5://alice@127.0.0.1:%d password-env SOCKS_PW\n"
                    "default via a\n" % microsocks_auth.port)
    r = launch(client("127.0.0.1", target.port), path, env={"SOCKS_PW": "s3cret"})
    assert answers(r) == ["peer %s" % MICROSOCKS_OUT], r

    r = launch(client("127.0.0.1", target.port), path, env={"SOCKS_PW": "wrong"})
    assert answers(r) == ["errno EACCES"], r

    # Without the variable the program runs, and the first connection through that proxy fails
    # with EACCES and the reason: never a connection without the password, never direct.
    r = launch(client("127.0.0.1", target.port), path, drop=("SOCKS_PW",))
    assert answers(r) == ["errno EACCES"], r
    assert "warning: %s:2:" % path in r.stderr and "environment variable SOCKS_PW is not set" in r.stderr, r
    assert "failed: no password for the proxy: environment variable SOCKS_PW is not set; program sees EACCES" in r.stderr, r


def test_password_from_a_file(socksify, tmp_path, microsocks_auth, target):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pw").write_text("s3cret")
    template = ("set proxy-loopback\n"
                "proxy a socks5://alice@127.0.0.1:%d password-file %s\n"
                "proxy b socks5://alice@127.0.0.1:%d password-file ~/.pw\n"
                "rule port %%s via a\n"
                "default via b\n" % (microsocks_auth.port, secret, microsocks_auth.port))
    for port in (target.port, 1):  # the rule's proxy a, then the default's proxy b (~ is $HOME)
        path = tmp_path / ("auth%d.conf" % port)
        path.write_text(template % port)
        r = launch(client("127.0.0.1", target.port), path, env={"HOME": home})
        assert answers(r) == ["peer %s" % MICROSOCKS_OUT], r


# --------------------------------------------------------------------------
# explain and the shim give one verdict (the same function decides)
# --------------------------------------------------------------------------

AGREE_RULES = ("proxy p socks5h://127.0.0.1:1\n"        # 1: never reached: every case is refused first
               "rule to 192.0.2.0/24 direct\n"           # 2
               "rule to 198.51.100.0/24 block\n"         # 3
               "default via p\n"                         # 4
               "set strict\n")

AGREE_PROBE = r"""
import errno, socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
try:
    if kind == "tcp":
        s.connect((host, port))
    else:
        s.sendto(b"x", (host, port))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


@pytest.mark.parametrize("kind,host,port,errno_name", [
    ("tcp", "192.0.2.1", 80, "EPERM"),          # strict: no direct connection
    ("tcp", "198.51.100.1", 80, "ECONNREFUSED"),  # blocked
    ("udp", "192.0.2.1", 5000, "EPERM"),        # strict: no direct UDP
    ("udp", "192.0.2.1", 53, "EPERM"),          # DNS must not leave
    ("udp", "198.51.100.1", 5000, "EPERM"),     # blocked
])
def test_explain_agrees_with_the_shim_under_strict(socksify, tmp_path, kind, host, port, errno_name):
    path = tmp_path / "strict.conf"
    path.write_text(AGREE_RULES)
    args = ["explain", "--config", path] + (["--udp"] if kind == "udp" else []) + ["python3", "%s:%d" % (host, port)]
    told = field(run(socksify_cmd(*args), env=clean_env()), "verdict")
    assert told.startswith("refused: ") and told.endswith("; the program sees " + errno_name), told
    # The shim, in a network namespace of its own with no route anywhere: even a leak could not leave.
    r = run(["unshare", "-n", "--"] + socksify_cmd("--config", path, PYTHON, "-c", AGREE_PROBE, kind, host, str(port)),
            env=clean_env())
    assert r.stdout.strip() == errno_name, r
    reason = told[len("refused: "):-len("; the program sees " + errno_name)]
    assert ("refused: %s; program sees %s" % (reason, errno_name)) in r.stderr, r
