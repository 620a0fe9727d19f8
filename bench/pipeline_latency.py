#!/usr/bin/env python3
"""What pipelining saves through socksify: connect-to-first-byte, lockstep against pipelined.

Usage: bench/pipeline_latency.py [--delay-ms 20] [--runs 50] [--socksify .build/release/socksify]

A SOCKS server (the project's test server without and with a login; danted when installed)
sits behind IntegrationTests/servers/turn_relay.py, which holds every chunk --delay-ms
each way, so one round trip costs 2 x delay.  A Python client under socksify makes --runs
connections to a loopback echo target and times each from connect() to the first byte of
the echo (one round trip of its own after the tunnel is up).  Rows take turns, one
connection at a time, so a slow moment of the machine hits every row alike; the table has
median, p10 and p90 in ms.  "by hand" is the same exchange written out in Python without
socksify (pipelined), the floor.  The relay's own TCP handshake is local: on a real
network every row gains one round trip.

Loopback only.  Results: docs/async-handshake.md, "Pipelining".
"""

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVERS = REPO / "IntegrationTests" / "servers"
DANTED = "/usr/sbin/danted"

# Run under socksify: N timed connections, one line of milliseconds each on stdout.
CLIENT = r"""
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for line in sys.stdin:          # one connection per line read: the rows take turns
    s = socket.socket()
    t0 = time.monotonic()
    s.connect(("127.0.0.1", port))
    s.sendall(b"x")
    s.recv(1)
    print("%.3f" % ((time.monotonic() - t0) * 1000), flush=True)
    s.close()
"""


def start(argv):
    """A server that prints READY <port>."""
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    line = p.stdout.readline().decode()
    if not line.startswith("READY "):
        raise SystemExit("did not start: %s" % argv)
    return p, int(line.split()[1])


def echo_target():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)

    def serve(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            d = c.recv(4096)
            if not d:
                break
            c.sendall(d)
        c.close()

    def accept():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return ls.getsockname()[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def danted(tmp):
    if not os.path.exists(DANTED) or os.geteuid() != 0:
        return None, None
    port = free_port()
    conf = Path(tmp) / "danted.conf"
    conf.write_text("logoutput: %s/danted.log\ninternal: 127.0.0.1 port = %d\nexternal: 127.0.0.1\n"
                    "socksmethod: none\nclientmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\n"
                    "client pass {\n from: 0/0 to: 0/0\n}\nsocks pass {\n from: 0/0 to: 0/0\n}\n" % (tmp, port))
    p = subprocess.Popen([DANTED, "-f", str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    return p, None


class Row:
    def __init__(self, name, socksify, url, target):
        self.name = name
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKSIFY_")}
        self.proc = subprocess.Popen([socksify, "--proxy-loopback", "-p", url, "--", sys.executable, "-c", CLIENT,
                                      str(target), "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self.times = []

    def once(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("%s: the client ended" % self.name)
        self.times.append(float(line))

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait()


class ByHand:
    """The pipelined exchange written out, no socksify: the floor."""

    def __init__(self, name, relay_port, target, login=None):
        self.name, self.relay_port, self.target, self.login = name, relay_port, target, login
        self.times = []

    def once(self):
        s = socket.socket()
        t0 = time.monotonic()
        s.connect(("127.0.0.1", self.relay_port))
        hello = b"\x05\x01\x00"
        if self.login:
            u, p = (x.encode() for x in self.login)
            hello = b"\x05\x01\x02" + bytes([1, len(u)]) + u + bytes([len(p)]) + p
        s.sendall(hello + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", self.target))
        need = 2 + (2 if self.login else 0) + 10
        got = b""
        while len(got) < need:
            got += s.recv(need - len(got))
        s.sendall(b"x")
        s.recv(1)
        self.times.append((time.monotonic() - t0) * 1000)
        s.close()

    def stop(self):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delay-ms", type=float, default=20)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--socksify", default=str(REPO / ".build" / "release" / "socksify"))
    args = ap.parse_args()
    target = echo_target()
    procs = []
    tmp = tempfile.mkdtemp(prefix="pipeline-bench-")
    try:
        servers = []
        p, port = start([sys.executable, SERVERS / "socks_test_server.py", "--listen", "127.0.0.1:0"])
        procs.append(p)
        servers.append(("test server", port, None))
        p, port = start([sys.executable, SERVERS / "socks_test_server.py", "--listen", "127.0.0.1:0",
                         "--user", "u", "--password", "pw"])
        procs.append(p)
        servers.append(("test server, login", port, ("u", "pw")))
        p, port = danted(tmp)
        if p:
            procs.append(p)
        if port:
            servers.append(("danted", port, None))
        rows = []
        for name, port, login in servers:
            p, relay = start([sys.executable, SERVERS / "turn_relay.py", "--listen", "127.0.0.1:0",
                              "--upstream", "127.0.0.1:%d" % port, "--delay-ms", str(args.delay_ms)])
            procs.append(p)
            auth = "%s:%s@" % login if login else ""
            url = "socks5://%s127.0.0.1:%d" % (auth, relay)
            rows.append([Row(name + ": lockstep", args.socksify, url, target),
                         Row(name + ": pipelined", args.socksify, url + "?pipeline=1", target),
                         ByHand(name + ": by hand, pipelined", relay, target, login)])
        every = [r for group in rows for r in group]
        for r in every:  # one untimed round: start-up, first connection
            r.once()
            r.times.clear()
        for _ in range(args.runs):
            for r in every:
                r.once()
        print("delay %.0f ms each way (round trip %.0f ms), %d connections per row; ms from connect() to the "
              "first echoed byte" % (args.delay_ms, 2 * args.delay_ms, args.runs))
        print("%-40s %8s %8s %8s" % ("", "median", "p10", "p90"))
        for group in rows:
            for r in group:
                t = sorted(r.times)
                q = statistics.quantiles(t, n=10)
                print("%-40s %8.1f %8.1f %8.1f" % (r.name, statistics.median(t), q[0], q[-1]))
                r.stop()
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, 15)
            except ProcessLookupError:
                pass
            p.wait()


if __name__ == "__main__":
    main()
