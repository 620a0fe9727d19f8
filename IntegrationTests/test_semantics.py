"""Socket semantics a socksified program relies on: getpeername after dup and
fd reuse, connect() called again on a non-blocking socket, fork, data that
arrives together with the SOCKS reply, bulk data."""

import textwrap

import pytest

from conftest import MICROSOCKS_OUT, PROJECT_OUT, PYTHON, PROBE


def py(socksify, code, proxy, **kw):
    return socksify.run([PYTHON, "-c", textwrap.dedent(code)], proxy=proxy, **kw)


DUP_CALLS = {
    "dup": "libc.dup(fd)",
    "dup2": "libc.dup2(fd, 150)",
    "dup3": "libc.dup3(fd, 151, os.O_CLOEXEC)",
    "F_DUPFD": "fcntl.fcntl(fd, fcntl.F_DUPFD, 0)",
    "F_DUPFD_CLOEXEC": "fcntl.fcntl(fd, 1030, 0)",  # F_DUPFD_CLOEXEC
}


@pytest.mark.parametrize("call", sorted(DUP_CALLS))
def test_getpeername_after_dup(socksify, socks_server, target, call):
    """A duplicate of a proxied fd reports the target too, also once the
    original is closed, and carries the tunnel."""
    srv = socks_server()
    r = py(socksify, """
        import ctypes, fcntl, os, socket
        libc = ctypes.CDLL(None, use_errno=True)
        s = socket.create_connection(("127.0.0.1", %d), timeout=10)
        fd = s.fileno()
        new = %s
        assert new >= 0, ctypes.get_errno()
        d = socket.socket(fileno=new)
        d.settimeout(10)
        print(d.getpeername()[1])
        s.close()
        print(d.getpeername()[1])
        d.sendall(b"x\\n")
        print(d.recv(100).decode().split("\\n")[0])
    """ % (target.port, DUP_CALLS[call]), srv.url())
    assert r.returncode == 0, r
    assert r.stdout.split("\n")[:3] == [str(target.port)] * 2 + ["peer %s" % PROJECT_OUT], r


def test_getpeername_after_fd_reuse(socksify, socks_server, target, log_dir):
    """A closed proxied fd number reused by an unrelated socket must not keep
    reporting the old target."""
    srv = socks_server()
    r = py(socksify, """
        import os, socket
        s = socket.create_connection(("127.0.0.1", %d), timeout=10)
        fd = s.fileno()
        s.close()
        # a socket connected directly (to the proxy itself) reuses the fd number
        u = socket.create_connection(("127.0.0.1", %d), timeout=10)
        print(u.fileno() == fd, u.getpeername()[1] == %d)
        u.close()
        # the same after os.close() of a raw fd
        s = socket.create_connection(("127.0.0.1", %d), timeout=10)
        fd = s.detach()
        os.close(fd)
        u = socket.create_connection(("127.0.0.1", %d), timeout=10)
        print(u.fileno() == fd, u.getpeername()[1] == %d)
    """ % (target.port, srv.port, srv.port, target.port, srv.port, srv.port), srv.url())
    assert r.returncode == 0, r
    lines = r.stdout.split("\n")
    assert lines[0] == "True True", r
    assert lines[1] == "True True", r


def test_getpeername_after_dup2_over_proxied_fd(socksify, socks_server, target):
    srv = socks_server()
    r = py(socksify, """
        import os, socket
        s = socket.create_connection(("127.0.0.1", %d), timeout=10)
        u = socket.create_connection(("127.0.0.1", %d), timeout=10)  # direct: the proxy itself
        os.dup2(u.fileno(), s.fileno())   # s's fd now refers to the direct socket
        print(s.getpeername()[1] == %d)
    """ % (target.port, srv.port, srv.port), srv.url())
    assert r.returncode == 0, r
    assert r.stdout.strip() == "True", r


def test_nonblocking_connect_polled_with_connect(socksify, socks_server, target):
    """Old-style loop: call connect() again until EISCONN (EALREADY/EINPROGRESS meanwhile)."""
    srv = socks_server(mode="slow=0.2")
    r = py(socksify, """
        import errno, socket, time
        s = socket.socket()
        s.setblocking(False)
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rc = s.connect_ex(("127.0.0.1", %d))
            seen.append(errno.errorcode.get(rc, str(rc)) if rc else "0")
            if rc in (0, errno.EISCONN):
                break
            if rc not in (errno.EINPROGRESS, errno.EALREADY):
                break
            time.sleep(0.02)
        print(seen[0], seen[-1], sorted(set(seen)))
        s.setblocking(True)
        s.settimeout(10)
        s.sendall(b"x\\n")
        print(s.recv(100).decode().split("\\n")[0])
    """ % target.port, srv.url(), options=["--handshake-timeout", "5"])
    assert r.returncode == 0, r
    first, rest = r.stdout.split("\n", 1)
    parts = first.split(" ", 2)
    assert parts[0] in ("0", "EINPROGRESS"), r
    assert parts[1] in ("0", "EISCONN"), r
    for name in ("EBADF", "ECONNREFUSED", "EINVAL", "EPROTO", "ECONNRESET"):
        assert name not in parts[2], r
    assert rest.startswith("peer %s" % PROJECT_OUT), r


def test_connect_twice_blocking_gives_eisconn(socksify, socks_server, target):
    srv = socks_server()
    r = py(socksify, """
        import errno, socket
        s = socket.create_connection(("127.0.0.1", %d), timeout=10)
        rc = s.connect_ex(("127.0.0.1", %d))
        print(errno.errorcode.get(rc, rc))
    """ % (target.port, target.port), srv.url())
    assert r.returncode == 0, r
    assert r.stdout.strip() == "EISCONN", r
    assert len(srv.entries()) == 1, srv.entries()


def test_fork_child_uses_proxied_connection(socksify, socks_server, target):
    srv = socks_server()
    r = py(socksify, """
        import os, socket
        s = socket.create_connection(("127.0.0.1", %d), timeout=10)
        pid = os.fork()
        if pid == 0:
            s.sendall(b"from-child\\n")
            buf = b""
            while buf.count(b"\\n") < 2:
                c = s.recv(100)
                if not c: break
                buf += c
            print(buf.decode().replace("\\n", "|"), s.getpeername()[1], flush=True)
            os._exit(0)
        _, st = os.waitpid(pid, 0)
        # and the child process makes its own proxied connection too
        pid = os.fork()
        if pid == 0:
            t = socket.create_connection(("127.0.0.1", %d), timeout=10)
            t.sendall(b"y\\n")
            print(t.recv(100).decode().split("\\n")[0], flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    """ % (target.port, target.port), srv.url())
    assert r.returncode == 0, r
    lines = r.stdout.strip().split("\n")
    assert lines[0] == "peer %s|from-child| %d" % (PROJECT_OUT, target.port), r
    assert lines[1] == "peer %s" % PROJECT_OUT, r
    assert len(srv.entries()) == 2, srv.entries()


def test_subprocess_inherits_socksification(socksify, microsocks, target):
    """A python program that runs curl: the grandchild goes through the proxy too."""
    import shutil
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl not installed")
    r = py(socksify, """
        import subprocess
        print(subprocess.run([%r, "-sS", "--max-time", "10", "http://127.0.0.1:%d/"],
                             capture_output=True, text=True, timeout=20).stdout, end="")
    """ % (curl, target.port), microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


@pytest.mark.parametrize("which", ["project", "microsocks", "danted"])
def test_target_data_right_after_reply_not_lost(socksify, request, raw_target, which):
    """The target talks first: its bytes can arrive in the same read as the
    SOCKS reply and must reach the program intact."""
    if which == "project":
        proxy = request.getfixturevalue("socks_server")().url()
        expected = PROJECT_OUT
    elif which == "microsocks":
        proxy = request.getfixturevalue("microsocks").url()
        expected = MICROSOCKS_OUT
    else:
        proxy = request.getfixturevalue("danted").url()
        expected = "127.0.0.3"
    r = py(socksify, """
        import socket, time
        out = []
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", %d), timeout=10)
            time.sleep(0.01)   # let the greeting land in the buffer with the reply
            buf = b""
            while not buf.endswith(b"\\n"):
                c = s.recv(1)
                if not c: break
                buf += c
            out.append(buf.decode().strip())
            s.close()
        print(sorted(set(out)))
    """ % raw_target.port, proxy)
    assert r.returncode == 0, r
    assert r.stdout.strip() == "['peer %s']" % expected, r


@pytest.mark.parametrize("which", ["project", "microsocks"])
def test_bulk_data_integrity(socksify, request, target, which):
    """4 MiB each way through the tunnel, byte for byte (no half-close: microsocks
    tears the whole relay down on the first EOF)."""
    if which == "project":
        proxy = request.getfixturevalue("socks_server")().url()
        expected = PROJECT_OUT
    else:
        proxy = request.getfixturevalue("microsocks").url()
        expected = MICROSOCKS_OUT
    r = py(socksify, """
        import hashlib, os, socket, threading
        data = os.urandom(4 * 1024 * 1024)
        s = socket.create_connection(("127.0.0.1", %d), timeout=30)
        s.sendall(b"start\\n")
        head = b"peer %s\\nstart\\n"
        t = threading.Thread(target=s.sendall, args=(data,))
        t.start()
        buf = bytearray()
        while len(buf) < len(head) + len(data):
            c = s.recv(1 << 16)
            if not c: break
            buf += c
        t.join()
        print(bytes(buf[:len(head)]) == head, len(buf) - len(head),
              hashlib.sha256(buf[len(head):]).digest() == hashlib.sha256(data).digest())
    """ % (target.port, expected), proxy, timeout=60)
    assert r.returncode == 0, r
    assert r.stdout.strip() == "True %d True" % (4 * 1024 * 1024), r


def test_verbose_reports_direct_decision(socksify, socks_server, target):
    srv = socks_server()
    r = socksify.probe("connect", target.host, target.port, srv.url(), loopback=False,
                       verbose=True)
    assert r.returncode == 0, r
    assert any("127.0.0.1:%d" % target.port in l for l in r.stderr.splitlines()), r
    assert srv.entries() == []
