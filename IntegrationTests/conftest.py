"""Shared fixtures and helpers for the socksify integration tests.

Run with:  python3 -m pytest IntegrationTests -q

Every server used here is a real process bound to loopback only
(127.0.0.0/8 or ::1).  All processes are started in their own session and are
stopped (SIGTERM, then SIGKILL of their process group) by the fixtures, and a
session-wide finalizer sweeps anything left behind.

Environment:
  SOCKSIFY_BIN      launcher  (default <repo>/.build/debug/socksify)
  SOCKSIFY_LIB      library   (default <repo>/.build/debug/libsocksify-preload.so)
  SOCKSIFY_REQUIRE  if set to 1, a missing socksify binary/library is a test
                    failure instead of a skip (use this in CI after a build)
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVERS = HERE / "servers"
SCRIPTS = HERE / "scripts"
CLIENTS = HERE / "clients"
PROBE = SCRIPTS / "probe.py"

SOCKSIFY_BIN = os.environ.get("SOCKSIFY_BIN", str(REPO / ".build" / "debug" / "socksify"))
SOCKSIFY_LIB = os.environ.get("SOCKSIFY_LIB", str(REPO / ".build" / "debug" / "libsocksify-preload.so"))
REQUIRE_SOCKSIFY = os.environ.get("SOCKSIFY_REQUIRE", "") not in ("", "0")

PYTHON = sys.executable  # a real ELF interpreter (not a shell shim), so LD_PRELOAD applies

MICROSOCKS = "/usr/bin/microsocks"
DANTED = "/usr/sbin/danted"

# Outgoing source addresses of the proxies, so a target can tell who connected.
MICROSOCKS_OUT = "127.0.0.2"
DANTED_OUT = "127.0.0.3"
TINYPROXY = "/usr/bin/tinyproxy"
TINYPROXY_OUT = "127.0.0.5"     # what the target sees behind tinyproxy
HTTP_PROXY_OUT = "127.0.0.6"    # ... behind servers/http_test_proxy.py
HTTP_ONLY_NAME = "only-http-proxy.test"  # resolved by tinyproxy's own /etc/hosts (root) alone
PROJECT_OUT = "127.0.0.4"

DEFAULT_TIMEOUT = 30

_PROXY_ENV_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy",
                   "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY",
                   "SOCKS_PROXY", "socks_proxy")


# --------------------------------------------------------------------------
# process management
# --------------------------------------------------------------------------

_ALL_PROCS = []
_ALL_PROCS_LOCK = threading.Lock()


class ManagedProcess:
    """A background server process that is always cleaned up."""

    def __init__(self, argv, name, log_dir, read_ready=False, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.stderr_path = Path(log_dir) / ("%s.%d.stderr" % (name, id(self)))
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if read_ready else subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
            env=env,
        )
        with _ALL_PROCS_LOCK:
            _ALL_PROCS.append(self)
        self.ready_port = None
        if read_ready:
            self.ready_port = self._read_ready()

    def _read_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                chunk = os.read(fd, 256)
                if not chunk:
                    break
                buf += chunk
                if b"\n" in buf:
                    line = buf.split(b"\n", 1)[0].decode().strip()
                    if line.startswith("READY "):
                        return int(line.split()[1])
                    break
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("%s did not become ready (stdout=%r, stderr=%r)"
                           % (self.name, buf, self.stderr_text()))

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        p = self.proc
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # the process group we created (danted forks children)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if p.stdout:
            p.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()
        with _ALL_PROCS_LOCK:
            if self in _ALL_PROCS:
                _ALL_PROCS.remove(self)


@pytest.fixture(scope="session", autouse=True)
def _sweep_processes():
    yield
    with _ALL_PROCS_LOCK:
        leftovers = list(_ALL_PROCS)
    for p in leftovers:
        p.stop()


@pytest.fixture(scope="session")
def log_dir():
    d = Path(tempfile.mkdtemp(prefix="socksify-it-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------

def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=5.0, proc=None):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            return False
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect((host, port))
                return True
            except OSError:
                time.sleep(0.05)
    return False


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def url_host(host):
    return "[%s]" % host if ":" in host else host


# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

class TargetServer:
    def __init__(self, log_dir, host="127.0.0.1", raw=False):
        self.host = host
        argv = [PYTHON, SERVERS / "target_server.py", "--listen", hostport(host, 0)]
        if raw:
            argv.append("--raw")
        self.proc = ManagedProcess(argv, "target", log_dir, read_ready=True)
        self.port = self.proc.ready_port

    @property
    def url(self):
        return "http://%s:%d/" % (url_host(self.host), self.port)

    def stop(self):
        self.proc.stop()


class ProxyBase:
    scheme = "socks5"
    host = "127.0.0.1"
    port = 0
    user = None
    password = None

    def url(self, scheme=None, user=None, password=None):
        scheme = scheme or self.scheme
        user = self.user if user is None else user
        password = self.password if password is None else password
        auth = ""
        if user is not None:
            auth = user if password is None else "%s:%s" % (user, password)
            auth += "@"
        return "%s://%s%s" % (scheme, auth, hostport(self.host, self.port))

    @property
    def address(self):
        return hostport(self.host, self.port)


class ProjectSocksServer(ProxyBase):
    """servers/socks_test_server.py"""

    def __init__(self, log_dir, host="127.0.0.1", mode=None, user=None, password=None,
                 bind_out=PROJECT_OUT, log=True, extra_args=()):
        self.host = host
        self.user = user
        self.password = password
        self.log_path = None
        argv = [PYTHON, SERVERS / "socks_test_server.py", "--listen", hostport(host, 0)]
        if mode:
            argv += ["--mode", mode]
        if user is not None:
            argv += ["--user", user, "--password", password or ""]
        if bind_out:
            argv += ["--bind-out", bind_out]
        if log:
            self.log_path = Path(tempfile.mkstemp(prefix="socks-log-", suffix=".jsonl",
                                                  dir=str(log_dir))[1])
            argv += ["--log", self.log_path]
        argv += list(extra_args)  # e.g. ["--connect-delay", "0.05"]
        self.proc = ManagedProcess(argv, "socks_test_server", log_dir, read_ready=True)
        self.port = self.proc.ready_port

    def entries(self):
        if not self.log_path or not self.log_path.exists():
            return []
        out = []
        for line in self.log_path.read_text().splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    def stop(self):
        self.proc.stop()


class Microsocks(ProxyBase):
    def __init__(self, log_dir, host="127.0.0.1", user=None, password=None,
                 bind_out=MICROSOCKS_OUT):
        if not os.path.exists(MICROSOCKS):
            pytest.skip("microsocks not installed (%s missing; apt-get install microsocks)"
                        % MICROSOCKS)
        self.host = host
        self.user = user
        self.password = password
        last_err = None
        for _ in range(3):
            self.port = free_port(host)
            argv = [MICROSOCKS, "-i", host, "-p", str(self.port)]
            if bind_out:
                argv += ["-b", bind_out]
            if user is not None:
                argv += ["-u", user, "-P", password]
            self.proc = ManagedProcess(argv, "microsocks", log_dir)
            if wait_port(host, self.port, 5.0, self.proc):
                return
            last_err = self.proc.stderr_text()
            self.proc.stop()
        raise RuntimeError("microsocks did not start: %s" % last_err)

    def stop(self):
        self.proc.stop()


class Tinyproxy(ProxyBase):
    """Debian's tinyproxy as an HTTP CONNECT proxy: outgoing connections from TINYPROXY_OUT,
    optionally with Basic auth or CONNECT limited to some ports. As root it runs in its own
    mount namespace whose /etc/hosts knows HTTP_ONLY_NAME (a name only the proxy resolves)."""
    scheme = "http"

    def __init__(self, log_dir, user=None, password=None, connect_ports=(), bind_out=TINYPROXY_OUT):
        if not os.path.exists(TINYPROXY):
            pytest.skip("tinyproxy not installed (%s missing; apt-get install tinyproxy)" % TINYPROXY)
        self.user = user
        self.password = password
        self.names_known = False
        last_err = None
        for _ in range(3):
            self.port = free_port()
            # tinyproxy drops to nobody before opening its log: a folder it may enter
            logs = Path(tempfile.mkdtemp(prefix="tinyproxy-", dir=str(log_dir)))
            os.chmod(logs, 0o755)
            os.chmod(log_dir, 0o755)
            self.log_path = logs / "tinyproxy.log"
            conf = ["Port %d" % self.port, "Listen 127.0.0.1", "Bind %s" % bind_out, "Timeout 30",
                    "MaxClients 100", "LogLevel Info", "LogFile \"%s\"" % self.log_path, "Allow 127.0.0.0/8"]
            if os.geteuid() == 0:
                conf += ["User nobody", "Group nogroup"]
                self.log_path.touch()
                os.chmod(self.log_path, 0o666)
            if user is not None:
                conf.append("BasicAuth %s %s" % (user, password))
            conf += ["ConnectPort %d" % p for p in connect_ports]
            conf_path = Path(log_dir) / ("tinyproxy-%d.conf" % self.port)
            conf_path.write_text("\n".join(conf) + "\n")
            argv = [TINYPROXY, "-d", "-c", conf_path]
            if os.geteuid() == 0 and shutil.which("unshare"):
                hosts = Path(log_dir) / ("tinyproxy-%d.hosts" % self.port)
                hosts.write_text("127.0.0.1 localhost\n127.0.0.1 %s\n" % HTTP_ONLY_NAME)
                argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" /etc/hosts && shift && exec "$@"', "tinyproxy-hosts", str(hosts)] + argv
                self.names_known = True
            self.proc = ManagedProcess(argv, "tinyproxy", log_dir)
            if wait_port("127.0.0.1", self.port, 5.0, self.proc):
                return
            last_err = self.proc.stderr_text()
            self.proc.stop()
        raise RuntimeError("tinyproxy did not start: %s" % last_err)

    def requests(self):
        """The CONNECT request lines tinyproxy logged, in order."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [l.split("): ", 1)[1] for l in text.splitlines() if "Request (file descriptor" in l and "): " in l]

    def stop(self):
        self.proc.stop()


class HTTPTestProxy(ProxyBase):
    """servers/http_test_proxy.py: an HTTP CONNECT proxy with fault injection."""
    scheme = "http"

    def __init__(self, log_dir, mode=None):
        self.log_path = Path(tempfile.mkstemp(prefix="http-proxy-", suffix=".jsonl", dir=str(log_dir))[1])
        argv = [PYTHON, SERVERS / "http_test_proxy.py", "--listen", "127.0.0.1:0", "--bind-out", HTTP_PROXY_OUT,
                "--log", self.log_path]
        if mode:
            argv += ["--mode", mode]
        self.proc = ManagedProcess(argv, "http_test_proxy", log_dir, read_ready=True)
        self.port = self.proc.ready_port

    def entries(self):
        return [json.loads(l) for l in self.log_path.read_text().splitlines() if l.strip()]

    def stop(self):
        self.proc.stop()


class Vsftpd:
    """Debian's vsftpd, anonymous and read-only, serving `file.txt`, in the foreground as the
    launching user; active mode allowed to any address (port_promiscuous: the data connection's
    address is the proxy's, not the control connection's peer). Logs the FTP protocol."""

    CONTENT = "hello over active ftp\n"

    def __init__(self, log_dir):
        binary = shutil.which("vsftpd") or "/usr/sbin/vsftpd"
        if not os.path.exists(binary):
            pytest.skip("vsftpd not installed (apt-get install vsftpd)")
        if os.geteuid() != 0:
            pytest.skip("vsftpd refuses to run as a normal user without its own configuration")
        root = Path(tempfile.mkdtemp(prefix="ftp-root-", dir=str(log_dir)))
        empty = Path(tempfile.mkdtemp(prefix="ftp-empty-", dir=str(log_dir)))
        os.chmod(root, 0o755)
        os.chmod(log_dir, 0o755)
        (root / "file.txt").write_text(self.CONTENT)
        self.log_path = Path(log_dir) / ("vsftpd-%d.log" % id(self))
        last_err = None
        for _ in range(3):
            self.port = free_port()
            conf = Path(log_dir) / ("vsftpd-%d.conf" % self.port)
            conf.write_text("\n".join([
                "listen=YES", "listen_ipv6=NO", "listen_address=127.0.0.1", "listen_port=%d" % self.port,
                "background=NO", "anonymous_enable=YES", "anon_root=%s" % root, "no_anon_password=YES",
                "local_enable=NO", "write_enable=NO", "connect_from_port_20=NO", "port_enable=YES",
                "pasv_enable=YES", "port_promiscuous=YES", "secure_chroot_dir=%s" % empty, "seccomp_sandbox=NO",
                "xferlog_enable=YES", "vsftpd_log_file=%s" % self.log_path, "dual_log_enable=YES",
                "log_ftp_protocol=YES", "run_as_launching_user=YES"]) + "\n")
            self.proc = ManagedProcess([binary, conf], "vsftpd", log_dir)
            if wait_port("127.0.0.1", self.port, 5.0, self.proc):
                return
            last_err = self.proc.stderr_text()
            self.proc.stop()
        raise RuntimeError("vsftpd did not start: %s" % last_err)

    def url(self, path="file.txt"):
        return "ftp://127.0.0.1:%d/%s" % (self.port, path)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        self.proc.stop()


DANTED_CONF = """\
logoutput: {log}
internal: 127.0.0.1 port = {port}
{internal6}
external: {external}
{external6}
socksmethod: {socksmethod}
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{
  from: 0/0 to: 0/0
  log: error connect disconnect
}}
socks pass {{
  from: 0/0 to: 0/0
  log: error connect disconnect
}}
"""


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _private_user_files(log_dir, user, password):
    """Copies of /etc/passwd and /etc/shadow with one more user, for danted's username
    method to check against: mounted over the real ones in danted's own mount namespace,
    so the machine's user database is never touched."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("openssl"):
        pytest.skip("danted with a login needs root, unshare and openssl")
    digest = subprocess.run(["openssl", "passwd", "-6", password], capture_output=True,
                            text=True, check=True).stdout.strip()
    passwd = Path(log_dir) / "danted-passwd"
    shadow = Path(log_dir) / "danted-shadow"
    passwd.write_text(Path("/etc/passwd").read_text() +
                      "%s:x:64999:65534::/nonexistent:/usr/sbin/nologin\n" % user)
    shadow.write_text(Path("/etc/shadow").read_text() + "%s:%s:19000:0:99999:7:::\n" % (user, digest))
    os.chmod(shadow, 0o600)
    return passwd, shadow


class Danted(ProxyBase):
    def __init__(self, log_dir, external=DANTED_OUT, ipv6=True, user=None, password=None):
        if not os.path.exists(DANTED):
            pytest.skip("danted not installed (%s missing; apt-get install dante-server)" % DANTED)
        self.host = "127.0.0.1"
        self.user = user
        self.password = password
        argv_prefix = []
        if user is not None:
            passwd, shadow = _private_user_files(log_dir, user, password)
            ipv6 = False  # one address is enough for the tests that log in
            argv_prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow && shift 2 && exec "$@"',
                           "danted-login", str(passwd), str(shadow)]
        self.ipv6 = ipv6 and _has_ipv6_loopback()
        last_err = None
        for attempt in range(3):
            self.port = free_port("127.0.0.1")
            if self.ipv6:
                # the same port must also be free on ::1
                try:
                    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                        s.bind(("::1", self.port))
                except OSError:
                    continue
            self.log_path = Path(log_dir) / ("danted-%d.log" % self.port)
            self.conf_path = Path(log_dir) / ("danted-%d.conf" % self.port)
            self.conf_path.write_text(DANTED_CONF.format(
                log=self.log_path, port=self.port, external=external,
                internal6=("internal: ::1 port = %d" % self.port) if self.ipv6 else "",
                external6="external: ::1" if self.ipv6 else "",
                socksmethod="username" if user is not None else "none"))
            self.proc = ManagedProcess(argv_prefix + [DANTED, "-f", self.conf_path], "danted", log_dir)
            ok = wait_port("127.0.0.1", self.port, 8.0, self.proc)
            if ok and self.ipv6:
                ok = wait_port("::1", self.port, 3.0, self.proc)
            if ok:
                return
            last_err = self.proc.stderr_text() + self.log_text()
            self.proc.stop()
        raise RuntimeError("danted did not start: %s" % last_err)

    def url6(self, scheme="socks5"):
        return "%s://[::1]:%d" % (scheme, self.port)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        self.proc.stop()


class TurnRelay(ProxyBase):
    """servers/turn_relay.py in front of a proxy: the turns of each connection."""

    def __init__(self, log_dir, upstream, delay_ms=0):
        self.upstream = upstream
        self.user = upstream.user
        self.password = upstream.password
        self.log_path = Path(tempfile.mkstemp(prefix="turns-", suffix=".jsonl", dir=str(log_dir))[1])
        argv = [PYTHON, SERVERS / "turn_relay.py", "--listen", "127.0.0.1:0",
                "--upstream", upstream.address, "--log", self.log_path, "--delay-ms", str(delay_ms)]
        self.proc = ManagedProcess(argv, "turn_relay", log_dir, read_ready=True)
        self.port = self.proc.ready_port

    def connections(self, count=1, timeout=5.0):
        """The turns of the first `count` connections, once they have ended."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.log_path.read_text().splitlines() if l.strip()]
            if len(lines) >= count or time.monotonic() > deadline:
                return [json.loads(l)["turns"] for l in lines]
            time.sleep(0.05)

    def stop(self):
        self.proc.stop()


# --------------------------------------------------------------------------
# running things under socksify
# --------------------------------------------------------------------------

class Result:
    def __init__(self, argv, returncode, stdout, stderr, elapsed):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed

    def json(self):
        lines = [l for l in self.stdout.splitlines() if l.strip()]
        if not lines:
            raise AssertionError("no JSON output\n%s" % self)
        try:
            return json.loads(lines[-1])
        except ValueError:
            raise AssertionError("bad JSON output\n%s" % self)

    def __str__(self):
        return ("command: %s\nexit: %s  elapsed: %.2fs\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(map(str, self.argv)), self.returncode, self.elapsed,
                   self.stdout, self.stderr))

    __repr__ = __str__


def clean_env(extra=None, drop=()):
    env = dict(os.environ)
    for k in _PROXY_ENV_VARS:
        env.pop(k, None)
    for k in list(env):
        if k.startswith("SOCKSIFY_") and k not in ("SOCKSIFY_BIN", "SOCKSIFY_LIB"):
            env.pop(k)
    env.pop("LD_PRELOAD", None)
    for k in drop:
        env.pop(k, None)
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


def run(argv, env=None, timeout=DEFAULT_TIMEOUT, input=None):
    argv = [str(a) for a in argv]
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=env if env is not None else clean_env(),
                           stdin=subprocess.DEVNULL if input is None else None,
                           input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        err = (e.stderr or b"").decode(errors="replace")
        raise AssertionError("timed out after %ss: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                             % (timeout, " ".join(argv), out, err))
    return Result(argv, p.returncode, p.stdout.decode(errors="replace"),
                  p.stderr.decode(errors="replace"), time.monotonic() - t0)


class Socksify:
    """Runs programs under the socksify launcher or with LD_PRELOAD."""

    bin = SOCKSIFY_BIN
    lib = SOCKSIFY_LIB

    def cmd(self, program, proxy=None, loopback=True, verbose=False, quiet=False,
            options=()):
        argv = [self.bin]
        if proxy is not None:
            argv += ["-p", proxy]
        if loopback:
            argv.append("--proxy-loopback")
        if verbose:
            argv.append("-v")
        if quiet:
            argv.append("-q")
        argv += list(options)
        argv.append("--")
        argv += list(program)
        return argv

    def run(self, program, proxy=None, loopback=True, verbose=False, quiet=False,
            options=(), env=None, timeout=DEFAULT_TIMEOUT):
        return run(self.cmd(program, proxy, loopback, verbose, quiet, options),
                   env=clean_env(env), timeout=timeout)

    def preload(self, program, proxy, loopback=True, verbose=False, env=None,
                timeout=DEFAULT_TIMEOUT):
        extra = {"LD_PRELOAD": self.lib, "SOCKSIFY_PROXY": proxy}
        if loopback:
            extra["SOCKSIFY_PROXY_LOOPBACK"] = "1"
        if verbose:
            extra["SOCKSIFY_VERBOSE"] = "1"
        if env:
            extra.update(env)
        return run(program, env=clean_env(extra), timeout=timeout)

    # convenience wrappers ---------------------------------------------------

    def probe(self, sub, host, port, proxy, timeout=DEFAULT_TIMEOUT, **kw):
        return self.run([PYTHON, PROBE, sub, host, str(port)], proxy=proxy,
                        timeout=timeout, **kw)

    def curl(self, url, proxy, extra_args=(), timeout=DEFAULT_TIMEOUT, **kw):
        return self.run(curl_argv(url, extra_args), proxy=proxy, timeout=timeout, **kw)


def curl_argv(url, extra_args=()):
    if not shutil.which("curl"):
        pytest.skip("curl not installed")
    return [shutil.which("curl"), "-sS", "--max-time", "15"] + \
        list(extra_args) + [url]


def _missing(path):
    return not (os.path.isfile(path) and os.access(path, os.R_OK))


@pytest.fixture(scope="session")
def socksify():
    missing = [p for p in (SOCKSIFY_BIN, SOCKSIFY_LIB) if _missing(p)]
    if missing:
        msg = "socksify not built: missing %s (run `swift build`)" % ", ".join(missing)
        if REQUIRE_SOCKSIFY:
            pytest.fail(msg)
        pytest.skip(msg)
    return Socksify()


@pytest.fixture(scope="session")
def socksify_lib():
    if _missing(SOCKSIFY_LIB):
        msg = "libsocksify not built: missing %s (run `swift build`)" % SOCKSIFY_LIB
        if REQUIRE_SOCKSIFY:
            pytest.fail(msg)
        pytest.skip(msg)
    return SOCKSIFY_LIB


# --------------------------------------------------------------------------
# server fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def target(log_dir):
    t = TargetServer(log_dir, "127.0.0.1")
    yield t
    t.stop()


@pytest.fixture(scope="session")
def raw_target(log_dir):
    """Target that sends the peer line at once (for clients that read first)."""
    t = TargetServer(log_dir, "127.0.0.1", raw=True)
    yield t
    t.stop()


@pytest.fixture(scope="session")
def target6(log_dir):
    if not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    t = TargetServer(log_dir, "::1")
    yield t
    t.stop()


@pytest.fixture
def socks_server(log_dir):
    """Factory: socks_server(mode=..., user=..., password=..., host=..., extra_args=...)."""
    started = []

    def make(mode=None, user=None, password=None, host="127.0.0.1", bind_out=PROJECT_OUT,
             extra_args=()):
        if ":" in host and not _has_ipv6_loopback():
            pytest.skip("no IPv6 loopback (::1) on this machine")
        s = ProjectSocksServer(log_dir, host=host, mode=mode, user=user, password=password,
                               bind_out=bind_out, extra_args=extra_args)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def microsocks(log_dir):
    m = Microsocks(log_dir)
    yield m
    m.stop()


@pytest.fixture(scope="session")
def vsftpd(log_dir):
    v = Vsftpd(log_dir)
    yield v
    v.stop()


@pytest.fixture(scope="session")
def tinyproxy(log_dir):
    t = Tinyproxy(log_dir)
    yield t
    t.stop()


@pytest.fixture(scope="session")
def tinyproxy_auth(log_dir):
    t = Tinyproxy(log_dir, user="alice", password="s3cret")
    yield t
    t.stop()


@pytest.fixture
def http_proxy(log_dir):
    """Factory: http_proxy(mode=...) starts servers/http_test_proxy.py."""
    started = []

    def make(mode=None):
        p = HTTPTestProxy(log_dir, mode)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


@pytest.fixture(scope="session")
def microsocks_auth(log_dir):
    m = Microsocks(log_dir, user="alice", password="s3cret")
    yield m
    m.stop()


@pytest.fixture(scope="session")
def microsocks6(log_dir):
    if not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    m = Microsocks(log_dir, host="::1", bind_out=None)
    yield m
    m.stop()


@pytest.fixture(scope="session")
def danted(log_dir):
    d = Danted(log_dir)
    yield d
    d.stop()


@pytest.fixture
def setuid_copies():
    """Factory: setuid_copies("curl", "cat") -> {name: path}, each a setuid-root copy of that
    program in a folder another user can reach; removed after the test."""
    import tempfile
    folders = []

    def make(*names):
        folder = tempfile.mkdtemp(prefix="socksify-setuid-")
        folders.append(folder)
        os.chmod(folder, 0o755)
        copies = {}
        for name in names:
            copies[name] = os.path.join(folder, "setuid-" + name)
            shutil.copy(shutil.which(name), copies[name])
            os.chmod(copies[name], 0o4755)  # root's, run by someone else
        return copies

    yield make
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def dead_port(host="127.0.0.1"):
    """A port on which (very probably) nothing listens."""
    return free_port(host)


def errno_of(name):
    import errno as _errno
    return getattr(_errno, name)


def assert_via(result, expected_peer):
    """The target's answer shows the connection came from expected_peer."""
    assert ("peer %s" % expected_peer) in result.stdout, str(result)
