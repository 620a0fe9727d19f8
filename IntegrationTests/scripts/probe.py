#!/usr/bin/env python3
"""Client programs run *under* socksify by the integration tests.

Every sub-command prints exactly one JSON object on stdout and exits 0 on
success, 1 on a (reported) failure.  Errors are reported as
{"ok": false, "errno": N, "errname": "ECONNREFUSED", ...} so the tests can
compare errno numbers, not strings.

Sub-commands:
  connect HOST PORT       plain blocking socket.connect
  create HOST PORT        socket.create_connection
  asyncio HOST PORT       asyncio.open_connection (non-blocking connect)
  nonblocking HOST PORT   setblocking(False) + connect_ex + select + SO_ERROR
  fdleak HOST PORT N      N connect/close cycles, compare /proc/self/fd
  udp HOST PORT           UDP sendto/recvfrom and connected UDP send/recv
  unix                    AF_UNIX socketpair and a named stream socket

The target server answers "peer <ip>\\n" and then echoes; the clients send
"hello\\n" and expect to read both back.
"""

import asyncio
import errno
import fcntl
import json
import os
import select
import socket
import sys
import tempfile
import time

IO_TIMEOUT = 10.0


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def errname(n):
    if n is None:
        return None
    return errno.errorcode.get(n, str(n))


def emit(obj, code=None):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    if code is None:
        code = 0 if obj.get("ok") else 1
    sys.exit(code)


def fail(exc, **extra):
    n = getattr(exc, "errno", None)
    if isinstance(exc, socket.timeout) and n is None:
        n = errno.ETIMEDOUT
    d = {"ok": False, "errno": n, "errname": errname(n), "error": repr(exc)}
    d.update(extra)
    emit(d)


def read_exchange(sock):
    """Send hello, read 'peer X\\n' + 'hello\\n' with a blocking socket."""
    sock.settimeout(IO_TIMEOUT)
    sock.sendall(b"hello\n")
    buf = b""
    while buf.count(b"\n") < 2:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    lines = buf.decode("utf-8", "replace").split("\n")
    return lines[0], (lines[1] if len(lines) > 1 else None)


def addr_tuple(a):
    return [a[0], a[1]]


def cmd_connect(host, port, use_create=False):
    try:
        if use_create:
            s = socket.create_connection((host, port), timeout=None)
        else:
            s = socket.socket(family_of(host), socket.SOCK_STREAM)
            s.connect((host, port))
    except OSError as e:
        fail(e)
    try:
        peername = s.getpeername()
        peer, echo = read_exchange(s)
    except OSError as e:
        fail(e, stage="exchange")
    s.close()
    emit({"ok": True, "peer": peer, "echo": echo, "peername": addr_tuple(peername)})


def cmd_asyncio(host, port):
    async def run():
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), IO_TIMEOUT * 2)
        sock = writer.get_extra_info("socket")
        peername = writer.get_extra_info("peername")
        blocking_flag = bool(fcntl.fcntl(sock.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK)
        writer.write(b"hello\n")
        await writer.drain()
        peer = await asyncio.wait_for(reader.readline(), IO_TIMEOUT)
        echo = await asyncio.wait_for(reader.readline(), IO_TIMEOUT)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return {"ok": True, "peer": peer.decode().rstrip("\n"),
                "echo": echo.decode().rstrip("\n"),
                "peername": addr_tuple(peername), "nonblocking": blocking_flag}

    try:
        result = asyncio.run(run())
    except asyncio.TimeoutError as e:
        fail(OSError(errno.ETIMEDOUT, "asyncio timeout"))
    except OSError as e:
        fail(e)
    emit(result)


def cmd_nonblocking(host, port):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setblocking(False)
    t0 = time.monotonic()
    rc = s.connect_ex((host, port))
    connect_ms = (time.monotonic() - t0) * 1000
    result = {"connect_ex": rc, "connect_ex_name": errname(rc) if rc else "0",
              "connect_ex_ms": round(connect_ms, 1)}
    if rc not in (0, errno.EINPROGRESS):
        result.update(ok=False, errno=rc, errname=errname(rc), stage="connect_ex")
        emit(result)
    _, w, _ = select.select([], [s], [], IO_TIMEOUT * 2)
    if not w:
        result.update(ok=False, errno=errno.ETIMEDOUT, errname="ETIMEDOUT",
                      stage="select-timeout")
        emit(result)
    so_error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    result["so_error"] = so_error
    result["so_error_name"] = errname(so_error) if so_error else "0"
    if so_error:
        result.update(ok=False, errno=so_error, errname=errname(so_error), stage="so_error")
        emit(result)
    flags = fcntl.fcntl(s.fileno(), fcntl.F_GETFL)
    result["nonblocking_after_connect"] = bool(flags & os.O_NONBLOCK)
    try:
        result["peername"] = addr_tuple(s.getpeername())
    except OSError as e:
        result.update(ok=False, errno=e.errno, errname=errname(e.errno), stage="getpeername")
        emit(result)
    # exchange data with the non-blocking socket via select
    out = b"hello\n"
    buf = b""
    deadline = time.monotonic() + IO_TIMEOUT
    try:
        while time.monotonic() < deadline and (out or buf.count(b"\n") < 2):
            r, w, _ = select.select([s], [s] if out else [], [], 1.0)
            if w and out:
                n = s.send(out)
                out = out[n:]
            if r:
                try:
                    chunk = s.recv(4096)
                except BlockingIOError:
                    chunk = None
                if chunk == b"":
                    break
                if chunk:
                    buf += chunk
    except OSError as e:
        result.update(ok=False, errno=e.errno, errname=errname(e.errno), stage="exchange")
        emit(result)
    lines = buf.decode("utf-8", "replace").split("\n")
    result["peer"] = lines[0]
    result["echo"] = lines[1] if len(lines) > 1 else None
    result["nonblocking_after_io"] = bool(fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK)
    s.close()
    result["ok"] = result["echo"] == "hello"
    emit(result)


def count_fds():
    return len(os.listdir("/proc/self/fd"))


def cmd_fdleak(host, port, n):
    def one():
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        try:
            s.settimeout(IO_TIMEOUT)
            s.connect((host, port))
            peer, echo = read_exchange(s)
            return peer
        except OSError as e:
            return errname(e.errno) or repr(e)
        finally:
            s.close()

    warm = one()  # lets the library set up anything it keeps for the process
    before = count_fds()
    outcomes = {}
    for _ in range(n):
        r = one()
        outcomes[r] = outcomes.get(r, 0) + 1
    after = count_fds()
    emit({"ok": True, "warmup": warm, "before": before, "after": after,
          "outcomes": outcomes, "fds": sorted(os.listdir("/proc/self/fd"), key=int)})


def cmd_udp(host, port):
    fam = family_of(host)
    res = {}
    try:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(IO_TIMEOUT)
        s.sendto(b"ping-unconnected", (host, port))
        data, addr = s.recvfrom(2048)
        res["unconnected"] = data.decode()
        res["unconnected_from"] = addr_tuple(addr)
        s.close()
        c = socket.socket(fam, socket.SOCK_DGRAM)
        c.settimeout(IO_TIMEOUT)
        c.connect((host, port))
        c.send(b"ping-connected")
        res["connected"] = c.recv(2048).decode()
        res["connected_peer"] = addr_tuple(c.getpeername())
        c.close()
    except OSError as e:
        fail(e, partial=res)
    res["ok"] = True
    emit(res)


def cmd_unix():
    res = {}
    try:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        a.sendall(b"pair")
        res["socketpair"] = b.recv(100).decode()
        a.close()
        b.close()
        d = tempfile.mkdtemp(prefix="socksify-unix-")
        path = os.path.join(d, "sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cli.settimeout(IO_TIMEOUT)
        cli.connect(path)
        conn, _ = srv.accept()
        cli.sendall(b"named")
        res["named"] = conn.recv(100).decode()
        res["peername"] = cli.getpeername()
        # non-blocking AF_UNIX connect too
        cli2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cli2.setblocking(False)
        res["nonblocking_connect_ex"] = cli2.connect_ex(path)
        conn2, _ = srv.accept()
        conn2.sendall(b"nb")
        select.select([cli2], [], [], IO_TIMEOUT)
        res["nonblocking"] = cli2.recv(100).decode()
        for x in (cli, cli2, conn, conn2, srv):
            x.close()
        os.unlink(path)
        os.rmdir(d)
    except OSError as e:
        fail(e, partial=res)
    res["ok"] = True
    emit(res)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd in ("connect", "create", "asyncio", "nonblocking"):
        host, port = argv[2], int(argv[3])
        {"connect": lambda: cmd_connect(host, port),
         "create": lambda: cmd_connect(host, port, use_create=True),
         "asyncio": lambda: cmd_asyncio(host, port),
         "nonblocking": lambda: cmd_nonblocking(host, port)}[cmd]()
    elif cmd == "fdleak":
        cmd_fdleak(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "udp":
        cmd_udp(argv[2], int(argv[3]))
    elif cmd == "unix":
        cmd_unix()
    else:
        sys.stderr.write("unknown command %s\n" % cmd)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
