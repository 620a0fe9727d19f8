"""Descriptors under socksify: the shim never leaks, steals or confuses a program's descriptor.

A proxied UDP socket has state in the shim: a mark on its descriptor number (so read, write,
recv... unwrap and wrap datagrams) and a SOCKS5 UDP association whose TCP control connection is
a descriptor the shim owns.  These tests run clients/fd_udp.c under the launcher with
--proxy-loopback, through danted with UDP allowed (external 127.0.0.3), to a UDP echo server on
127.0.0.1 that answers "from SRC:PORT|payload": a reply "from 127.0.0.3:...|payload" went through
the relay and was unwrapped for the program.  What is checked:

  * the shim's own descriptor lives at >= 1000 (or half of a soft RLIMIT_NOFILE <= 1016), is
    close-on-exec, and no other descriptor appears in the program;
  * a program that dup2s a file onto that number keeps its file, intact; the shim moved first;
  * dup(), fcntl(F_DUPFD/F_DUPFD_CLOEXEC), syscall(SYS_dup/SYS_fcntl) copies of a connected
    proxied socket send and receive through the relay, also after the original is closed;
  * close_range, closefrom, syscall(SYS_close/SYS_close_range) end the associations (the control
    connections close, danted ends its sessions) and leave no mark on the numbers: a file
    opened there reads and writes normally; CLOSE_RANGE_CLOEXEC closes nothing;
  * no descriptor leaks over many proxied sockets, whatever way they are copied and closed.

Run:  swift build && IntegrationTests/clients/build.sh && \
      python3 -m pytest IntegrationTests/test_descriptors.py -q
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import (CLIENTS, DANTED, DANTED_OUT, PYTHON, REQUIRE_SOCKSIFY, ManagedProcess,
                      ProxyBase, clean_env, free_port, run, wait_port)
from netns_udp import UDP_ECHO_SERVER, danted_udp_conf

FD_UDP = CLIENTS / "bin" / "fd_udp"
RUN_TIMEOUT = 20
VIA = "from %s:" % DANTED_OUT


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

def build_client(path):
    """Builds the C clients (idempotent) and returns path, or skips/fails when it cannot."""
    r = run(["bash", CLIENTS / "build.sh"], timeout=120)
    if r.returncode != 0 or not os.access(path, os.X_OK):
        msg = "%s not built (IntegrationTests/clients/build.sh)\n%s" % (path, r)
        if REQUIRE_SOCKSIFY:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="module")
def fd_udp():
    return build_client(FD_UDP)


class UdpDanted(ProxyBase):
    """danted with UDP ASSOCIATE allowed, outgoing from 127.0.0.3; its log shows sessions end."""

    def __init__(self, log_dir):
        if not os.path.exists(DANTED):
            pytest.skip("danted not installed (%s missing; apt-get install dante-server)" % DANTED)
        self.host = "127.0.0.1"
        last_err = None
        for _ in range(3):
            self.port = free_port("127.0.0.1")
            self.log_path = Path(log_dir) / ("danted-desc-%d.log" % self.port)
            conf = Path(log_dir) / ("danted-desc-%d.conf" % self.port)
            conf.write_text(danted_udp_conf(self.log_path, "127.0.0.1", self.port, DANTED_OUT))
            self.proc = ManagedProcess([DANTED, "-f", conf], "danted-desc", log_dir)
            if wait_port("127.0.0.1", self.port, 8.0, self.proc):
                return
            last_err = self.proc.stderr_text() + self.log_text()
            self.proc.stop()
        raise RuntimeError("danted (UDP) did not start: %s" % last_err)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def udp_sessions_ended(self):
        """How many UDP associations danted has ended (one log line each)."""
        return sum(1 for line in self.log_text().splitlines() if "udp/udpassociate ]" in line)

    def wait_sessions_ended(self, at_least, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.udp_sessions_ended() < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.udp_sessions_ended()

    def stop(self):
        self.proc.stop()


@pytest.fixture(scope="module")
def udp_proxy(log_dir):
    d = UdpDanted(log_dir)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def echo(log_dir):
    p = ManagedProcess([PYTHON, "-c", UDP_ECHO_SERVER, "127.0.0.1"], "udp-echo-desc", log_dir,
                       read_ready=True)
    yield p.ready_port
    p.stop()


def run_fd_udp(socksify, fd_udp, udp_proxy, echo, *args, timeout=RUN_TIMEOUT):
    argv = [fd_udp, echo, udp_proxy.port] + [str(a) for a in args]
    r = socksify.run(argv, proxy=udp_proxy.url(), timeout=timeout)
    assert r.returncode == 0, r
    return r, r.json()


def via_proxy(reply, payload):
    return reply.startswith(VIA) and reply.endswith("|" + payload)


def fds(out, key):
    return {e["fd"]: e for e in out[key]}


def control_kind(udp_proxy):
    return "tcp->%d" % udp_proxy.port


def high_base(nofile):
    """Where the shim puts its descriptors: 1000, or half the soft limit when that is <= 1016."""
    return 1000 if nofile == -1 or nofile > 1016 else nofile // 2


# --------------------------------------------------------------------------
# 1. the shim's own descriptors: high, close-on-exec, nothing else appears
# --------------------------------------------------------------------------

@pytest.mark.parametrize("nofile", [None, 1000, 512, "exec512"])
def test_shim_descriptor_is_high_and_cloexec(socksify, fd_udp, udp_proxy, echo, nofile):
    """None: the machine's limit; 1000, 512: the program lowers its soft limit first;
    exec512: the limit is 512 from the start (prlimit runs the launcher under it)."""
    if nofile == "exec512":
        if not shutil.which("prlimit"):
            pytest.skip("prlimit (util-linux) not installed")
        argv = [shutil.which("prlimit"), "--nofile=512:512", "--"] + socksify.cmd(
            [fd_udp, echo, udp_proxy.port, "high"], proxy=udp_proxy.url())
        r = run(argv, env=clean_env(), timeout=RUN_TIMEOUT)
        assert r.returncode == 0, r
        out = r.json()
        nofile = 512
    else:
        args = ["high"] + (["--nofile", nofile] if nofile else [])
        r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, *args)
    limit = out["nofile"]
    if nofile:
        assert limit == nofile, r
    base = high_base(limit)
    assert via_proxy(out["connected_reply"], "hello-high"), r
    assert via_proxy(out["unconnected_reply"], "hello-second"), r

    before = fds(out, "fds_before")
    for key, program_fds, controls in (("fds_one", [out["connected_fd"]], 1),
                                       ("fds_two", [out["connected_fd"], out["unconnected_fd"]], 2)):
        now = fds(out, key)
        new = sorted(set(now) - set(before))
        shim = [fd for fd in new if fd not in program_fds]
        # the only descriptors that appeared besides the program's sockets: one control
        # connection per association, each high, below the limit, close-on-exec
        assert len(shim) == controls, "%s: new descriptors %s\n%s" % (key, new, r)
        for fd in shim:
            e = now[fd]
            assert e["kind"] == control_kind(udp_proxy), (key, e, str(r))
            assert base <= fd < (limit if limit > 0 else 1 << 30), \
                "%s: shim descriptor %d not in [%d, %d)\n%s" % (key, fd, base, limit, r)
            assert e["cloexec"] is True, "%s: shim descriptor %d without FD_CLOEXEC\n%s" % (key, fd, r)
        # no low-numbered descriptor of the shim's: the program's sockets took the lowest numbers
        low_new = [fd for fd in new if fd < base]
        assert sorted(low_new) == sorted(program_fds), "%s: %s\n%s" % (key, low_new, r)
        # what the program had is untouched
        for fd, e in before.items():
            assert now.get(fd) == e, "%s: descriptor %d changed: %s -> %s\n%s" % (
                key, fd, e, now.get(fd), r)
    assert out["fds_after"] == out["fds_before"], r
    assert out["controls_after"] == 0, r


# --------------------------------------------------------------------------
# 2. the program puts a file onto the shim's descriptor number
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["dup2", "dup3", "sys_dup2", "sys_dup3"])
def test_dup2_onto_shim_descriptor_keeps_the_programs_file(socksify, fd_udp, udp_proxy, echo, op):
    ended = udp_proxy.udp_sessions_ended()
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, "dup2file", op)
    assert via_proxy(out["reply_before"], "before"), r
    shim = out["shim_fd"]
    assert shim >= 1000, r
    assert out["dup_rc"] == shim, r
    # the association survived: the shim moved its control connection before the number changed
    assert via_proxy(out["reply_after_dup"], "after-dup"), r
    assert via_proxy(out["reply_after_dup_write"], "after-dup-write"), r
    assert out["controls_mid"] == 1, r
    mid = fds(out, "fds_mid")
    assert mid[shim]["kind"] == "file", r
    moved = [fd for fd, e in mid.items() if e["kind"] == control_kind(udp_proxy)]
    assert len(moved) == 1 and moved[0] >= 1000 and mid[moved[0]]["cloexec"], r
    assert out["close_udp"] == 0, r
    # after the socket is closed: the file is still at that number, the same file, whole
    assert out["same_file"] is True, r
    assert out["file_cloexec"] is (op == "dup3"), r
    assert out["pread"] == "intact-data\n", r
    assert out["write_n"] == 5, r
    assert out["read"] == "intact-data\nmore\n", r
    # and the association is gone: no control connection, the program's file is all there is
    assert out["controls_after"] == 0, r
    assert [(e["fd"], e["kind"]) for e in out["fds_after"]] == [(shim, "file")], r
    assert udp_proxy.wait_sessions_ended(ended + 1) >= ended + 1, \
        "danted did not see the association end\n%s\n%s" % (r, udp_proxy.log_text()[-2000:])


# --------------------------------------------------------------------------
# 3. copies of a proxied socket: dup, fcntl(F_DUPFD...), syscall(SYS_dup...)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["dup", "fcntl_dupfd", "fcntl_dupfd_500", "fcntl_dupfd_cloexec",
                                "sys_dup", "sys_fcntl_dupfd"])
def test_copy_of_proxied_socket_sends_and_receives(socksify, fd_udp, udp_proxy, echo, op):
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, "dup", op)
    assert via_proxy(out["reply_orig"], "orig"), r
    d = out["dup_fd"]
    assert isinstance(d, int) and d > out["udp_fd"], r
    if op == "fcntl_dupfd_500":
        assert d == 500, r
    assert out["dup_cloexec"] is (op in ("fcntl_dupfd_cloexec", "sys_fcntl_dupfd")), r
    for key, payload in (("dup_write", "dup-write"), ("dup_send", "dup-send"),
                         ("dup_recvfrom", "dup-recvfrom"), ("orig_after_dup", "orig-again"),
                         ("dup_after_close_orig", "dup-alone")):
        assert via_proxy(out[key], payload), "%s: %r\n%s" % (key, out[key], r)
    # recvfrom on the copy names the program's peer, not the relay
    assert out["dup_recvfrom_sender"] == "127.0.0.1:%d" % echo, r
    # the copy keeps the association alive; it ends with the last descriptor
    assert out["close_orig"] == 0 and out["controls_after_close_orig"] == 1, r
    assert out["close_dup"] == 0 and out["controls_after"] == 0, r
    assert out["fds_after"] == [], r


# --------------------------------------------------------------------------
# 4. close_range, closefrom, syscall(SYS_close...): marks die with the descriptors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["close_range", "sys_close_range", "closefrom", "close", "sys_close"])
def test_closing_everything_ends_associations_and_frees_numbers(socksify, fd_udp, udp_proxy, echo, op):
    ended = udp_proxy.udp_sessions_ended()
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, "closeall", op)
    assert out["fds_before"] == [], r
    assert via_proxy(out["reply1"], "one") and via_proxy(out["reply2"], "two"), r
    assert via_proxy(out["reply3"], "three"), r
    # two sockets (one with a dup copy): two associations
    assert out["controls_open"] == 2, r
    assert out["rc"] == 0, r
    # nothing is left: not the program's sockets, not the shim's control connections
    assert out["fds_after"] == [], r
    assert out["controls_after"] == 0, r
    # the lowest number is free again and a file opened there is just a file
    assert out["file_fd"] == out["u1"], r
    assert out["file_is_regular"] is True, r
    assert out["file_write"] == 9, r
    assert out["file_lseek"] == 0, r
    assert out["file_read"] == "file-data", r
    assert out["file_pread"] == "data", r
    assert out["file_recv"] == "ENOTSOCK", r  # the kernel's answer for a file
    # the shim goes on working: a new socket gets a new association, closed with it
    assert via_proxy(out["reply_new"], "new-socket"), r
    assert out["controls_end"] == 0 and out["fds_end"] == [], r
    # danted saw both associations of the closed sockets end (and the new one's)
    assert udp_proxy.wait_sessions_ended(ended + 3) >= ended + 3, \
        "danted did not see the associations end\n%s\n%s" % (r, udp_proxy.log_text()[-3000:])


@pytest.mark.parametrize("op", ["close_range", "sys_close_range"])
def test_close_range_cloexec_closes_nothing(socksify, fd_udp, udp_proxy, echo, op):
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, "cloexec", op)
    assert via_proxy(out["reply_before"], "before"), r
    assert out["rc"] == 0, r
    before = fds(out, "fds_open")
    after = fds(out, "fds_after")
    assert sorted(after) == sorted(before), r
    assert all(e["cloexec"] for e in after.values()), r
    assert after[out["udp_fd"]]["kind"] == "udp", r
    assert out["controls_after"] == 1, r
    assert via_proxy(out["reply_after"], "after-cloexec"), r
    assert via_proxy(out["reply_after_recvfrom"], "after-cloexec-2"), r
    assert out["controls_closed"] == 0 and out["fds_closed"] == [], r


# --------------------------------------------------------------------------
# 5. no leak over many sockets
# --------------------------------------------------------------------------

def test_no_fd_leak_many_sockets_copied_and_closed(socksify, fd_udp, udp_proxy, echo):
    n = 60  # ten of each of the six ways to copy and close
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, "leak", n, "--via", DANTED_OUT,
                        timeout=60)
    assert out["ok"] == n, r
    assert out["after"] == out["before"], r
    assert out["controls"] == 0, r
    assert out["fds_after"] == [], r


# --------------------------------------------------------------------------
# the program closes everything but its proxied socket
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["close_range", "closefrom", "loop"])
def test_closing_the_rest_spares_the_shims_descriptor(socksify, fd_udp, udp_proxy, echo, op):
    """close_range(u+1, ~0U), closefrom(u+1), close() on every number: the program keeps its
    proxied socket, so its association (a descriptor the program never opened) must stay."""
    args = ["keep", op] + (["--nofile", 2048] if op == "loop" else [])
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, *args)
    assert via_proxy(out["reply_before"], "before"), r
    assert out["rc"] == 0, r
    assert out["controls_after"] == 1, r
    after = fds(out, "fds_after")
    assert after[out["udp_fd"]]["kind"] == "udp", r
    assert all(e["fd"] >= 1000 and e["cloexec"] for e in after.values() if e["fd"] != out["udp_fd"]), r
    # the same association: the relay's port towards the echo did not change
    port = out["reply_before"].split("|")[0]
    assert out["reply_after"] == port + "|after", r
    assert out["reply_after_write"] == port + "|after-write", r
    assert out["controls_closed"] == 0 and out["fds_closed"] == [], r


# --------------------------------------------------------------------------
# a child closes descriptors before exec: fork, vfork (shared memory!)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["fork_closefrom", "vfork_close_range", "vfork_close"])
def test_child_closing_descriptors_leaves_parents_sockets_alone(socksify, fd_udp, udp_proxy, echo, op):
    """Spawn code closes every descriptor in the child before exec. After vfork the child shares
    the parent's memory, so the shim's bookkeeping there is the parent's: the parent's sockets
    and associations must be as they were, and nothing may leak."""
    r, out = run_fd_udp(socksify, fd_udp, udp_proxy, echo, "child", op)
    assert via_proxy(out["connected_before"], "before-a"), r
    assert via_proxy(out["unconnected_before"], "before-b"), r
    assert out["child_status"] == 0, r
    assert out["fds_after_child"] == out["fds_open"], r
    # the parent's associations are the ones it had (same relay port towards the echo)
    a_port = out["connected_before"].split("|")[0]
    b_port = out["unconnected_before"].split("|")[0]
    assert out["connected_after"] == a_port + "|after-a", \
        "the parent's connected proxied socket broke after the child closed its copy\n%s" % r
    assert out["unconnected_after"] == b_port + "|after-b", \
        "the parent's unconnected socket lost its association (a new one was opened)\n%s" % r
    assert out["fds_after_use"] == out["fds_open"], r
    assert out["controls_closed"] == 0 and out["fds_closed"] == [], \
        "descriptors leaked after the parent closed its sockets\n%s" % r


PY_SUBPROCESS = r"""
import json, os, socket, subprocess, sys
dest = ("127.0.0.1", int(sys.argv[1]))
def fds():
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            pass
    return out
def ask(s, data, connected):
    try:
        s.send(data) if connected else s.sendto(data, dest)
        return s.recv(1000).decode(errors="replace")
    except OSError as e:
        return "ERR " + str(e)
out = {"use_vfork": getattr(subprocess, "_USE_VFORK", None)}
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.settimeout(2); a.connect(dest)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.settimeout(2)
out["a_before"] = ask(a, b"a-before", True)
out["b_before"] = ask(b, b"b-before", False)
out["fds_before"] = fds()
out["child"] = subprocess.run(["/bin/true"]).returncode   # close_fds=True: the child closes all
out["fds_after_child"] = fds()
out["a_after"] = ask(a, b"a-after", True)
out["b_after"] = ask(b, b"b-after", False)
a.close(); b.close()
out["fds_closed"] = fds()
print(json.dumps(out))
"""


def test_python_subprocess_keeps_parents_associations(socksify, udp_proxy, echo):
    """subprocess.run (close_fds=True; CPython uses vfork) in a program with proxied UDP sockets."""
    r = socksify.run([PYTHON, "-c", PY_SUBPROCESS, echo], proxy=udp_proxy.url(), timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r
    out = r.json()
    assert via_proxy(out["a_before"], "a-before") and via_proxy(out["b_before"], "b-before"), r
    assert out["child"] == 0, r
    assert out["fds_after_child"] == out["fds_before"], r
    assert out["a_after"] == out["a_before"].split("|")[0] + "|a-after", \
        "connected proxied socket broken by the child's close_fds\n%s" % r
    assert out["b_after"] == out["b_before"].split("|")[0] + "|b-after", \
        "the association was forgotten (a second one opened) after the child's close_fds\n%s" % r
    leftover = {fd: link for fd, link in out["fds_closed"].items() if int(fd) >= 3}
    assert leftover == {}, "descriptors leaked\n%s" % r


# --------------------------------------------------------------------------
# glibc's exported second names: __dup2, __fcntl(F_DUPFD), __send, __close
# --------------------------------------------------------------------------

PY_ALIASES = r"""
import ctypes, json, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
dest = ("127.0.0.1", int(sys.argv[1]))
def fds():
    return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
out = {}
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.settimeout(2); a.connect(dest)
a.send(b"first"); out["first"] = a.recv(1000).decode()
before = fds()
# __dup2 and __fcntl(F_DUPFD) copies carry the association, __send sends through it.
libc.__dup2(a.fileno(), 40)
copy = libc.__fcntl(a.fileno(), 0, 50)  # F_DUPFD from 50
out["copy"] = copy
for fd, word in ((40, b"via-dup2"), (copy, b"via-fcntl")):
    n = libc.__send(fd, word, len(word), 0)
    s = socket.socket(fileno=os.dup(fd)); s.settimeout(2)
    out[word.decode()] = [n, s.recv(1000).decode()]
    s.close()
# __close on every copy and the original: the association ends, no descriptor is left.
for fd in (40, copy):
    libc.__close(fd)
a.close()
out["leftover"] = [fd for fd in fds() if fd >= 3 and fd not in before]
out["after"] = [fd for fd in fds() if fd >= 3]
print(json.dumps(out))
"""


def test_glibc_second_names_keep_the_registry_true(socksify, udp_proxy, echo):
    """__dup2, __fcntl, __send and __close: glibc exports them; a program linked against them is
    treated as one calling dup2, fcntl, send and close."""
    r = socksify.run([PYTHON, "-c", PY_ALIASES, echo], proxy=udp_proxy.url(), timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r
    out = r.json()
    assert via_proxy(out["first"], "first"), r
    for word in ("via-dup2", "via-fcntl"):
        sent, reply = out[word]
        assert sent == len(word), r
        assert via_proxy(reply, word), "the copy did not send through the association\n%s" % r
    # (listdir's own descriptor shows in both lists)
    assert out["leftover"] == [], "descriptors left after closing every copy\n%s" % r
    assert [fd for fd in out["after"] if fd >= 1000] == [], "the association's control connection stayed\n%s" % r
