"""The shared name map of a socks5h run lives as long as any process of the run uses it.

A run's map is a System V shared memory segment (SOCKSIFY_DNS_MAP=sysv:ID:TOKEN). These tests
run real processes on loopback: a run whose first process exits while a background process
keeps resolving and connecting, a second run starting meanwhile (it removes the maps of
earlier runs that nothing uses), maps nothing uses being removed, and attempts to remove the
map under a running process.

Names end in .sxtest: socksify hands them to the proxy, the project's SOCKS server, started
here so that it resolves every .sxtest name to 127.0.0.1, where the target listens.
"""

import ctypes
import json
import os
import shutil
import time

import pytest

from conftest import (PYTHON, PROJECT_OUT, SERVERS, ManagedProcess, ProjectSocksServer, clean_env, run)

# Longer than NameMapCleanup.quietSeconds (2): a segment touched more recently is left alone
# whatever else is true, and these tests want the other reasons to be what keeps a map.
QUIET = 2.5

# The project's SOCKS server, with .sxtest names resolving to 127.0.0.1.
NAMED_SERVER = r'''
import runpy, socket, sys
real = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".sxtest"):
        host = "127.0.0.1"
    return real(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
path = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name="__main__")
'''

# The program a run starts: resolves NAME, starts BACKGROUND (a process of the same run, in its
# own session, holding none of the launcher's pipes) with the synthetic address, and exits.
# With SX_WITHOUT_LIBRARY=1 the background process starts without the library (and so without
# the map attached) and gets it back when it execs: a process between exec and attach.
FIRST = r'''
import os, socket, subprocess, sys
name, background, errors = sys.argv[1:4]
ip = socket.gethostbyname(name)
env = dict(os.environ)
if os.environ.get("SX_WITHOUT_LIBRARY") == "1":
    env["SX_RESTORE_PRELOAD"] = env.pop("LD_PRELOAD")
with open(errors, "w") as err:
    subprocess.Popen([sys.executable, background, ip] + sys.argv[4:], env=env, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
print(ip)
'''

# The background process: reports the map it was given, waits for GO, then connects to the
# address the first process resolved, resolves and connects to another name, and runs curl
# (a new program, attaching the map after whatever happened meanwhile) to the first address.
BACKGROUND = r'''
import errno, json, os, socket, subprocess, sys, time
ip, out, go, port, later, curl = sys.argv[1:7]
port = int(port)

def emit(**fields):
    with open(out, "a") as f:
        f.write(json.dumps(fields) + "\n")

def get(address, host):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(15)
    try:
        s.connect(address)
        s.sendall(b"GET / HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")
    except OSError as e:
        return "error " + errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()

if "SX_AFTER_EXEC" not in os.environ:
    emit(event="ready", map=os.environ.get("SOCKSIFY_DNS_MAP"), pid=os.getpid(),
         preloaded="LD_PRELOAD" in os.environ)
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        emit(event="timeout")
        sys.exit(2)
    time.sleep(0.05)
if "SX_RESTORE_PRELOAD" in os.environ:
    env = dict(os.environ)
    env["LD_PRELOAD"] = env.pop("SX_RESTORE_PRELOAD")
    env["SX_AFTER_EXEC"] = "1"
    emit(event="exec", pid=os.getpid())
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
emit(event="first", answer=get((ip, port), "first"))
try:
    address = socket.getaddrinfo(later, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
    emit(event="later", address=address[0], answer=get(address, later))
except OSError as e:
    emit(event="later", address=None, answer="error %s" % e)
r = subprocess.run([curl, "-sS", "--max-time", "15", "http://%s:%d/" % (ip, port)],
                   capture_output=True, text=True, timeout=30)
emit(event="child", answer=r.stdout + r.stderr, rc=r.returncode)
emit(event="done")
'''

# A run's program that resolves a name and fetches from it, printing the map it used.
FETCH = r'''
import json, os, socket, sys
name, port = sys.argv[1], int(sys.argv[2])
address = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
s = socket.create_connection(address, timeout=15)
s.sendall(b"GET / HTTP/1.0\r\nHost: " + name.encode() + b"\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(json.dumps({"map": os.environ.get("SOCKSIFY_DNS_MAP"), "address": address[0], "answer": data.decode()}))
'''

# ---------------------------------------------------------------------------------------------
# System V segments, as the kernel lists them


def segments():
    """{id: {"nattch", "cpid", "size", "perms"}} from /proc/sysvipc/shm."""
    out = {}
    with open("/proc/sysvipc/shm") as f:
        header = f.readline().split()
        for line in f:
            fields = dict(zip(header, line.split()))
            out[int(fields["shmid"])] = {"nattch": int(fields["nattch"]), "cpid": int(fields["cpid"]),
                                         "size": int(fields["size"]), "perms": int(fields["perms"], 8)}
    return out


def segment_of(map_value):
    assert map_value and map_value.startswith("sysv:"), map_value
    return int(map_value.split(":")[1])


_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0


def make_segment(size, mode=0o600):
    shmid = _libc.shmget(IPC_PRIVATE, size, IPC_CREAT | mode)
    assert shmid >= 0, os.strerror(ctypes.get_errno())
    return shmid


def remove_segment(shmid):
    """IPC_RMID, what `ipcrm -m` does; True if the segment was there."""
    return _libc.shmctl(shmid, IPC_RMID, None) == 0


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


# ---------------------------------------------------------------------------------------------
# fixtures


class NamedSocksServer(ProjectSocksServer):
    """The project's SOCKS server, resolving .sxtest to 127.0.0.1, logging every request."""

    def __init__(self, log_dir):
        self.host, self.user, self.password = "127.0.0.1", None, None
        self.log_path = log_dir / "named-proxy.jsonl"
        self.log_path.write_text("")
        self.proc = ManagedProcess(
            [PYTHON, "-c", NAMED_SERVER, SERVERS / "socks_test_server.py", "--listen", "127.0.0.1:0",
             "--bind-out", PROJECT_OUT, "--log", self.log_path],
            "named_proxy", log_dir, read_ready=True)
        self.port = self.proc.ready_port


@pytest.fixture(scope="module")
def named_proxy(log_dir):
    server = NamedSocksServer(log_dir)
    yield server
    server.stop()


@pytest.fixture
def curl():
    path = shutil.which("curl")
    if not path:
        pytest.skip("curl not installed")
    return path


class Runs:
    """Runs of socksify with socks5h through the named proxy, and what they leave behind: the
    background processes are killed and the segments the test learnt of removed at the end."""

    def __init__(self, socksify, proxy, target, folder):
        self.socksify, self.proxy, self.target, self.folder = socksify, proxy, target, folder
        self.pids, self.segments = [], set()
        for name, text in (("first.py", FIRST), ("background.py", BACKGROUND), ("fetch.py", FETCH)):
            (folder / name).write_text(text)

    def launch(self, program, env=None):
        argv = self.socksify.cmd(program, proxy=self.proxy.url(scheme="socks5h"), loopback=False)
        return run(argv, env=clean_env(env))

    def fetch(self, name):
        """A whole run: resolve NAME, fetch from it through the proxy."""
        r = self.launch([PYTHON, self.folder / "fetch.py", name, self.target.port])
        assert r.returncode == 0, r
        result = r.json()
        self.segments.add(segment_of(result["map"]))
        assert "peer %s" % PROJECT_OUT in result["answer"], r
        return result

    def start_background(self, tag, curl, without_library=False):
        """A run whose program resolves first-TAG.sxtest, leaves a background process, exits."""
        out, go, errors = (self.folder / ("%s.%s" % (tag, x)) for x in ("jsonl", "go", "err"))
        env = {"SX_WITHOUT_LIBRARY": "1"} if without_library else None
        r = self.launch([PYTHON, self.folder / "first.py", "first-%s.sxtest" % tag, self.folder / "background.py",
                         errors, out, go, self.target.port, "later-%s.sxtest" % tag, curl], env=env)
        assert r.returncode == 0, r
        job = Background(out, go, errors, ip=r.stdout.strip())
        assert job.ip.startswith("127.19"), r  # a synthetic address (127.192.0.0/10)
        ready = job.wait("ready")
        self.pids.append(ready["pid"])
        job.pid, job.map = ready["pid"], ready["map"]
        job.segment = segment_of(job.map)
        self.segments.add(job.segment)
        assert ready["preloaded"] != without_library, ready
        return job

    def finish(self):
        for pid in self.pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        for shmid in self.segments:
            listed = segments().get(shmid)
            if listed and listed["nattch"] == 0:
                remove_segment(shmid)


class Background:
    def __init__(self, out, go, errors, ip):
        self.out, self.go, self.errors, self.ip = out, go, errors, ip

    def events(self):
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def wait(self, event, timeout=30):
        def found():
            return next((e for e in self.events() if e["event"] in (event, "timeout")), None)
        try:
            e = wait_for(found, timeout, "the background process to report %r" % event)
        except AssertionError:
            raise AssertionError("%s\nevents: %s\nstderr: %s" % (event, self.events(), self.errors.read_text()))
        assert e["event"] == event, self.events()
        return e

    def go_and_finish(self):
        self.go.write_text("go")
        self.wait("done", timeout=60)
        return {e["event"]: e for e in self.events()}


@pytest.fixture
def runs(socksify, named_proxy, target, tmp_path):
    r = Runs(socksify, named_proxy, target, tmp_path)
    yield r
    r.finish()


def assert_worked(job, results, proxy):
    """Everything the background process did went through the proxy and reached the target."""
    ctx = "%s\nstderr:\n%s" % (json.dumps(results, indent=1), job.errors.read_text())
    assert "peer %s" % PROJECT_OUT in results["first"]["answer"], ctx
    assert results["later"]["address"].startswith("127.19"), ctx
    assert "peer %s" % PROJECT_OUT in results["later"]["answer"], ctx
    assert results["child"]["rc"] == 0, ctx
    assert "peer %s" % PROJECT_OUT in results["child"]["answer"], ctx
    hosts = [e["host"] for e in proxy.entries() if e["result"] == "ok"]
    assert hosts.count(job.first_name) >= 2 and job.later_name in hosts, (hosts, ctx)
    assert "SIGBUS" not in job.errors.read_text() and "Bus error" not in job.errors.read_text(), ctx


# ---------------------------------------------------------------------------------------------
# (a) a run's first process exits; its background process keeps working while a new run starts


def test_background_process_keeps_the_map_while_a_new_run_cleans_up(runs, named_proxy, curl):
    job = runs.start_background("a", curl)
    job.first_name, job.later_name = "first-a.sxtest", "later-a.sxtest"
    listed = segments()[job.segment]
    assert not alive(listed["cpid"]), "the launcher's pid (the first program) has exited"
    assert listed["nattch"] >= 1, "the background process is attached: %s" % listed
    time.sleep(QUIET)

    second = runs.fetch("second-a.sxtest")  # a new run, which removes the maps nothing uses
    assert segment_of(second["map"]) != job.segment
    assert job.segment in segments(), "the new run removed a map a running process uses"

    results = job.go_and_finish()
    assert_worked(job, results, named_proxy)


def test_process_between_exec_and_attach_keeps_the_map(runs, named_proxy, curl):
    """Nobody is attached and the launcher is gone, but a process of the run has the map in its
    environment and will load the library again when it execs: the map stays."""
    job = runs.start_background("exec", curl, without_library=True)
    job.first_name, job.later_name = "first-exec.sxtest", "later-exec.sxtest"
    listed = wait_for(lambda: segments()[job.segment]["nattch"] == 0 and segments()[job.segment],
                      what="the first process to detach")
    assert not alive(listed["cpid"])
    time.sleep(QUIET)

    runs.fetch("second-exec.sxtest")
    assert job.segment in segments(), "the new run removed the map of a process about to exec"

    results = job.go_and_finish()
    assert "exec" in results
    assert_worked(job, results, named_proxy)


# ---------------------------------------------------------------------------------------------
# (b) a map no process uses is removed by the next run; nothing else is


def test_unused_map_is_removed_by_the_next_run(runs):
    first = runs.fetch("gone-b.sxtest")
    old = segment_of(first["map"])
    listed = segments().get(old)
    assert listed and listed["nattch"] == 0, listed
    size = listed["size"]
    # Segments of the same shape that are not socksify's maps: no header, or open to others.
    foreign = [make_segment(size), make_segment(size, 0o644)]
    try:
        time.sleep(QUIET)
        second = runs.fetch("next-b.sxtest")
        now = segments()
        assert old not in now, "a map nothing uses was left behind"
        assert segment_of(second["map"]) in now
        for shmid in foreign:
            assert shmid in now, "removed a segment that is not a socksify map"
    finally:
        for shmid in foreign:
            remove_segment(shmid)


def test_recently_used_map_is_left_for_a_later_run(runs):
    """Within NameMapCleanup.quietSeconds of its last use a map stays (an exec may be under way)."""
    old = segment_of(runs.fetch("recent-b.sxtest")["map"])
    runs.fetch("recent2-b.sxtest")
    assert old in segments()
    time.sleep(QUIET)
    runs.fetch("recent3-b.sxtest")
    assert old not in segments()


# ---------------------------------------------------------------------------------------------
# (c) the map cannot be broken under a process


def test_no_file_to_truncate_and_removal_does_not_hurt(runs, named_proxy, curl):
    job = runs.start_background("c", curl)
    job.first_name, job.later_name = "first-c.sxtest", "later-c.sxtest"
    # The map is no file anyone could truncate: the process maps a System V segment, and no file.
    maps = open("/proc/%d/maps" % job.pid).read().splitlines()
    sysv = [line for line in maps if "/SYSV" in line and line.split()[4] == str(job.segment)]
    assert sysv, "\n".join(maps)
    assert not [line for line in maps if "socksify-names" in line], "\n".join(maps)

    # ipcrm under the running process: the map stays until the last process of the run detaches.
    assert remove_segment(job.segment)
    assert job.segment in segments()
    results = job.go_and_finish()
    assert_worked(job, results, named_proxy)
    wait_for(lambda: job.segment not in segments(), what="the removed map to go with its last process")


def test_a_map_that_cannot_be_attached_fails_closed(socksify, named_proxy, target):
    """A process whose run's map is gone refuses names and synthetic addresses, with log lines
    naming the map; nothing reaches the proxy, nothing goes direct."""
    shmid = make_segment(4096)
    remove_segment(shmid)  # nobody attached: gone at once
    before = len(named_proxy.entries())
    program = [PYTHON, "-c", r'''
import errno, json, socket
out = {}
try:
    socket.getaddrinfo("gone-c.sxtest", 80, socket.AF_INET, socket.SOCK_STREAM)
    out["resolve"] = "resolved"
except socket.gaierror as e:
    out["resolve"] = "failed"
s = socket.socket()
s.settimeout(10)
try:
    s.connect(("127.192.0.7", %d))
    out["connect"] = "connected"
except OSError as e:
    out["connect"] = errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps(out))
''' % target.port]
    for value, why in (("sysv:%d:00000000000000a1" % shmid, "there is no shared memory segment %d" % shmid),
                       ("/dev/shm/socksify-names-1-2", "is not sysv:ID:TOKEN")):
        r = socksify.preload(program, named_proxy.url(scheme="socks5h"), loopback=False,
                             env={"SOCKSIFY_DNS_MAP": value})
        assert r.returncode == 0, r
        assert r.json() == {"resolve": "failed", "connect": "EHOSTUNREACH"}, r
        assert "cannot use the run's name map" in r.stderr and why in r.stderr, r
        assert "127.192.0.7 is a synthetic address, and the run's name map cannot be used" in r.stderr, r
        assert "program sees EHOSTUNREACH" in r.stderr, r
    assert len(named_proxy.entries()) == before, "something reached the proxy"
