#!/usr/bin/env python3
"""Python event-loop clients for test_event_loops.py; run under socksify.

Each prints one JSON line; times are time.monotonic(), measured here.

  asyncio HOST PORT N
      N concurrent asyncio.open_connection + "GET / HTTP/1.0" each, while a ticker
      task (asyncio.sleep(0.001) in a loop) records the longest stall of the loop.
      {"ok", "responses", "bodies": {body: count}, "errors", "max_stall_ms", "total_ms"}
  server_first HOST PORT poll|epoll|select
      non-blocking connect_ex, then wait for *readable only* (the protocol's server
      speaks first: SMTP, SSH, FTP, ...), read the banner, send a line, read its echo.
      {"ok", "connect_ex", "wait_ms", "so_error", "banner", "echo", "total_ms"}
  settimeout HOST PORT SECONDS
      sock.settimeout(SECONDS); sock.connect(): the program's own limit.
      {"outcome": "timeout" | "connected" | "<ERRNO>", "elapsed_ms", "detail"}
"""

import asyncio
import errno
import json
import select
import socket
import sys
import time


def emit(obj, code=None):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    if code is None:
        code = 0 if obj.get("ok", True) else 1
    sys.exit(code)


def ms(t):
    return round(t * 1000.0, 3)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# --------------------------------------------------------------------------

def cmd_asyncio(host, port, n):
    async def one(i, bodies, errors):
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /?%d HTTP/1.0\r\nHost: target\r\n\r\n" % i)
            await writer.drain()
            data = await reader.read()
            writer.close()
            head, _, body = data.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append("bad response %r" % data[:60])
                return
            key = body.decode(errors="replace").strip()
            bodies[key] = bodies.get(key, 0) + 1
        except Exception as e:  # noqa: BLE001 - report, do not crash
            errors.append("%s: %s" % (type(e).__name__, e))

    async def main():
        state = {"max": 0.0, "stop": False, "measuring": False, "last": 0.0}

        async def ticker():
            while not state["stop"]:
                await asyncio.sleep(0.001)
                t = time.monotonic()
                if state["measuring"]:
                    state["max"] = max(state["max"], t - state["last"])
                state["last"] = t

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.2)  # let the loop settle
        bodies, errors = {}, []
        t0 = time.monotonic()
        state["last"] = t0
        state["measuring"] = True
        try:
            await asyncio.wait_for(
                asyncio.gather(*(one(i, bodies, errors) for i in range(n))), 15)
        except asyncio.TimeoutError:
            errors.append("gave up after 15 s")
        total = time.monotonic() - t0
        await asyncio.sleep(0.005)  # one more tick, so a stall at the end is seen
        state["stop"] = True
        await tick
        responses = sum(bodies.values())
        return {"ok": responses == n and not errors, "responses": responses,
                "bodies": bodies, "errors": errors[:10],
                "max_stall_ms": ms(state["max"]), "total_ms": ms(total)}

    emit(asyncio.run(main()))


# --------------------------------------------------------------------------

def wait_readable(sock, how, timeout):
    """Wait until sock is readable (or in error); only readability is asked for."""
    fd = sock.fileno()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if how == "poll":
            p = select.poll()
            p.register(fd, select.POLLIN)
            if p.poll(left * 1000):
                return True
        elif how == "epoll":
            ep = select.epoll()
            try:
                ep.register(fd, select.EPOLLIN)
                if ep.poll(left):
                    return True
            finally:
                ep.close()
        elif how == "select":
            r, _, x = select.select([fd], [], [fd], left)
            if r or x:
                return True
        else:
            raise SystemExit("unknown wait %r" % how)


def cmd_server_first(host, port, how):
    res = {"ok": False, "wait": how}
    t0 = time.monotonic()
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex((host, port))
    res["connect_ex"] = errno.errorcode.get(rc, rc) if rc else 0
    res["connect_ms"] = ms(time.monotonic() - t0)
    if rc not in (0, errno.EINPROGRESS):
        res["stage"] = "connect_ex"
        emit(res)
    if not wait_readable(s, how, 15):
        res["stage"] = "wait"
        emit(res)
    res["wait_ms"] = ms(time.monotonic() - t0)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    res["so_error"] = errno.errorcode.get(err, err) if err else 0
    if err:
        res["stage"] = "so_error"
        emit(res)
    banner = b""
    try:
        while not banner.endswith(b"\n"):
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                if not wait_readable(s, how, 5):
                    break
                continue
            if not chunk:
                break
            banner += chunk
    except OSError as e:
        res["stage"] = "recv"
        res["errno"] = errno.errorcode.get(e.errno, e.errno)
        emit(res)
    res["banner"] = banner.decode(errors="replace").strip()
    # the tunnel also carries what the client says after the banner
    s.setblocking(True)
    s.settimeout(5)
    try:
        s.sendall(b"hello\n")
        echo = b""
        while not echo.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            echo += chunk
        res["echo"] = echo.decode(errors="replace").strip()
    except OSError as e:
        res["stage"] = "echo"
        res["errno"] = errno.errorcode.get(e.errno, e.errno) if e.errno else str(e)
        emit(res)
    res["total_ms"] = ms(time.monotonic() - t0)
    res["ok"] = bool(res["banner"]) and res.get("echo") == "hello"
    s.close()
    emit(res)


# --------------------------------------------------------------------------

def cmd_settimeout(host, port, seconds):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(seconds)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
        outcome, detail = "connected", ""
    except socket.timeout as e:
        # Python's own timeout has no errno; a kernel (or socksify) ETIMEDOUT has one
        if e.errno is None:
            outcome, detail = "timeout", str(e)
        else:
            outcome, detail = errno.errorcode.get(e.errno, str(e.errno)), str(e)
    except OSError as e:
        outcome, detail = errno.errorcode.get(e.errno, str(e.errno)), str(e)
    elapsed = time.monotonic() - t0
    s.close()
    emit({"outcome": outcome, "elapsed_ms": ms(elapsed), "detail": detail}, code=0)


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    cmd, host, port = argv[1], argv[2], int(argv[3])
    if cmd == "asyncio":
        cmd_asyncio(host, port, int(argv[4]) if len(argv) > 4 else 100)
    elif cmd == "server_first":
        cmd_server_first(host, port, argv[4] if len(argv) > 4 else "poll")
    elif cmd == "settimeout":
        cmd_settimeout(host, port, float(argv[4]) if len(argv) > 4 else 2.0)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
