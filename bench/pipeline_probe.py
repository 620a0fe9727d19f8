#!/usr/bin/env python3
"""Does a SOCKS5 server accept a pipelined handshake?  Standard library only.

RFC 1928 is lockstep: greeting -> method selection -> [RFC 1929 username/password ->
status] -> CONNECT request -> reply.  A client that knows which method the server will
pick can send several of those messages in one write.  This script tries, against one
server, each way of doing so and reports what came back.

Usage:
  pipeline_probe.py HOST:PORT [--user U --password P] [--timeout S] [--cases abcdef]
  pipeline_probe.py HOST:PORT [...] --delay-ms 20 --runs 50     (timing, see below)

It starts its own TCP target (echo server) on loopback (--target-listen, default
127.0.0.1:0) and asks the SOCKS server to CONNECT to it (by IPv4 address, or by name
with --target-name).  The target records every byte it receives, so the script can tell
whether application bytes sent early arrived intact.

Cases (one output line each):
  a  lockstep            greeting, [auth], request, then application bytes, each after
                         its answer.  Offers 00 (00 and 02 with credentials), as
                         socksify does today.
  b  greet+req           greeting offering only 00, and the request, in one write.
                         With credentials given this is the "wrong guess" case: the
                         server will want 02.
  c  greet+auth+req      greeting offering only 02, the RFC 1929 sub-negotiation and
                         the request in one write (only with --user).
  d  greet+[auth+]req+data   as b (c with --user), plus the first application bytes,
                         all in one write.
  e  req+data            lockstep negotiation, then the request and the first
                         application bytes in one write (tells whether d's problem is
                         the handshake or the data).
  f  auth+req            (only with --user) greeting offering only 02 alone, then the
                         sub-negotiation and the request in one write: half the
                         pipelining, one round trip saved instead of two.

Each line: verdict, the answers as received (method, auth status, reply code and bound
address), ms from connect() to the CONNECT reply and to the first echoed byte, and what
the target saw.  Verdicts:
  OK        every answer right, application bytes echoed intact
  REFUSED   a clean SOCKS refusal (method FF, auth status != 0, reply code != 0)
  STALL     nothing more arrived for --timeout seconds while an answer was due
  CLOSED    the server closed while an answer was due
  DATALOSS  the server replied success, but the application bytes sent with the
            handshake never reached the target
  BAD       something that is not SOCKS5, or an answer missing (the line says
            what came instead and how the exchange went on)

Timing mode (--runs N): a delaying relay (--delay-ms each way, default 20; 0 = no
relay, straight to the server) is started in front of the server; N rounds of every
case that worked are run through it, interleaved, and the median / p10 / p90 of
connect-to-first-echoed-byte are printed.  The relay delays every chunk, so it models
the round trips of the SOCKS exchange, not the TCP handshake (the client's connect()
to the relay is local): add one round trip to every row for a real network.

--quickack sets TCP_QUICKACK on the client socket after every write and before every
read.  A server without TCP_NODELAY holds a second small answer until the first is
acknowledged (Nagle); once the client has answered quickly after a read, Linux delays
its ACKs (up to 40 ms).  Pipelining after a lockstep step (cases e, f) meets exactly
that; compare the direct timings (--delay-ms 0) with and without --quickack.

Network rule: everything stays on loopback.  The script refuses a non-loopback server
or target address.
"""

import argparse
import ipaddress
import os
import queue
import select
import socket
import statistics
import struct
import sys
import threading
import time


# ---------------------------------------------------------------------------------------
# the target: an echo server that remembers what each connection sent
# ---------------------------------------------------------------------------------------

class Target:
    def __init__(self, host, port):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ls = socket.socket(fam, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((host, port))
        self.ls.listen(128)
        self.host = host
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []          # dicts: peer, data (bytearray), closed
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, peer = self.ls.accept()
            except OSError:
                return
            rec = {"peer": peer, "data": bytearray(), "closed": False}
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._serve, args=(c, rec), daemon=True).start()

    def _serve(self, c, rec):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                with self.lock:
                    rec["data"] += d
                c.sendall(d)
        except OSError:
            pass
        finally:
            rec["closed"] = True
            c.close()

    def count(self):
        with self.lock:
            return len(self.conns)

    def since(self, n):
        with self.lock:
            return [dict(r, data=bytes(r["data"])) for r in self.conns[n:]]


# ---------------------------------------------------------------------------------------
# the delaying relay (timing mode): every chunk is forwarded --delay-ms after it arrived
# ---------------------------------------------------------------------------------------

class DelayRelay:
    def __init__(self, upstream, delay):
        self.upstream = upstream
        self.delay = delay
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(128)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.upstream)
            except OSError:
                c.close()
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            state = {"open": 2, "lock": threading.Lock()}
            for a, b in ((c, u), (u, c)):
                q = queue.Queue()
                threading.Thread(target=self._read, args=(a, q), daemon=True).start()
                threading.Thread(target=self._write, args=(b, q, (c, u), state),
                                 daemon=True).start()

    @staticmethod
    def _read(src, q):
        try:
            while True:
                d = src.recv(65536)
                q.put((time.monotonic(), d))
                if not d:
                    return
        except OSError:
            q.put((time.monotonic(), b""))

    def _write(self, dst, q, both, state):
        while True:
            t, d = q.get()
            wait = t + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not d:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                break
            try:
                dst.sendall(d)
            except OSError:
                break
        with state["lock"]:
            state["open"] -= 1
            last = state["open"] == 0
        if last:
            for s in both:
                s.close()


# ---------------------------------------------------------------------------------------
# the client side
# ---------------------------------------------------------------------------------------

class Stall(Exception):
    pass


class Closed(Exception):
    pass


class Bad(Exception):
    pass


class Conn:
    """A socket with a read buffer and a per-read timeout."""

    def __init__(self, addr, timeout, quickack=False):
        self.t0 = time.monotonic()
        self.s = socket.create_connection(addr, timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.quickack = quickack
        self.timeout = timeout
        self.buf = b""
        self.raw = b""

    def ms(self):
        return (time.monotonic() - self.t0) * 1000.0

    def send(self, data):
        self.s.sendall(data)   # one write: sendall on a fresh socket does one send()
        if self.quickack:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def peek(self, n):
        data = self.read(n)
        self.buf = data + self.buf
        return data

    def read(self, n):
        while len(self.buf) < n:
            r, _, _ = select.select([self.s], [], [], self.timeout)
            if not r:
                raise Stall()
            if self.quickack:
                # Linux clears it again by itself: set before every read so each answer
                # is acknowledged at once, not held back to ride on our next message.
                self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                raise Closed("reset")
            if not d:
                raise Closed("eof")
            self.buf += d
            self.raw += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def greeting(methods):
    return bytes([5, len(methods)]) + bytes(methods)


def auth_msg(user, password):
    u, p = user.encode(), password.encode()
    return bytes([1, len(u)]) + u + bytes([len(p)]) + p


def request(host, port, by_name):
    if by_name:
        h = host.encode()
        return bytes([5, 1, 0, 3, len(h)]) + h + struct.pack("!H", port)
    ip = ipaddress.ip_address(host)
    atyp = 1 if ip.version == 4 else 4
    return bytes([5, 1, 0, atyp]) + ip.packed + struct.pack("!H", port)


class Exchange:
    """Reads the answers of one attempt and keeps a readable account of them."""

    def __init__(self, conn):
        self.c = conn
        self.seen = []
        self.reply_ms = None
        self.echo_ms = None
        self.missing_method = False

    def method(self):
        v, m = self.c.read(2)
        self.seen.append("method=%02x" % m if v == 5 else "method?%02x%02x" % (v, m))
        if v != 5:
            raise Bad("method selection version %d" % v)
        return m

    def auth_status(self):
        v, st = self.c.read(2)
        self.seen.append("auth=%02x" % st)
        if v != 1:
            raise Bad("auth reply version %d" % v)
        return st

    def reply(self):
        v, rep, _rsv, atyp = self.c.read(4)
        if v != 5:
            self.seen.append("reply?%02x%02x" % (v, rep))
            raise Bad("reply version %d" % v)
        if atyp == 1:
            addr = socket.inet_ntop(socket.AF_INET, self.c.read(4))
        elif atyp == 4:
            addr = "[%s]" % socket.inet_ntop(socket.AF_INET6, self.c.read(16))
        elif atyp == 3:
            addr = self.c.read(self.c.read(1)[0]).decode("latin-1")
        else:
            self.seen.append("reply=%02x atyp?%02x" % (rep, atyp))
            raise Bad("reply atyp %d" % atyp)
        port = struct.unpack("!H", self.c.read(2))[0]
        self.reply_ms = self.c.ms()
        self.seen.append("reply=%02x(%s:%d)" % (rep, addr, port))
        return rep

    def echo(self, payload):
        first = self.c.read(1)
        self.echo_ms = self.c.ms()
        rest = self.c.read(len(payload) - 1)
        if first + rest != payload:
            self.seen.append("echo differs")
            raise Bad("echo differs")
        self.seen.append("echo ok")


class Outcome:
    def __init__(self, case):
        self.case = case
        self.verdict = None
        self.detail = ""
        self.seen = []
        self.reply_ms = None
        self.echo_ms = None
        self.total_ms = None
        self.target = ""
        self.raw = b""


CASES = {
    "a": "lockstep",
    "b": "greet+req",
    "c": "greet+auth+req",
    "d": "greet+req+data",
    "e": "req+data",
    "f": "auth+req",
}


def run_case(case, proxy, target_addr, args, target, quiet_target=False):
    user, password = args.user, args.password
    req = request(target_addr[0], target_addr[1], bool(args.target_name))
    payload = ("PIPE-%s-%s-" % (case, os.urandom(6).hex())).encode()
    payload += b"x" * (64 - len(payload))
    if case in ("c", "f") and user is None:
        return None   # these need credentials
    out = Outcome(case)
    n_before = target.count() if target else 0
    conn = None
    ex = None
    data_sent_early = False
    try:
        conn = Conn(proxy, args.timeout, args.quickack)
        ex = Exchange(conn)

        def negotiate_lockstep():
            conn.send(greeting([0, 2] if user is not None else [0]))
            m = ex.method()
            if m == 2:
                if user is None:
                    raise Bad("server chose 02, not offered")
                conn.send(auth_msg(user, password))
                if ex.auth_status() != 0:
                    return False
            elif m != 0:
                return False
            return True

        def expect_pipelined_answers():
            if user is not None and conn.peek(1) == b"\x01":
                # Not a method selection but an RFC 1929 status: the server answered
                # the greeting and the sub-negotiation, read together, with only the
                # last answer (Tor does).  Read on to see what follows.
                ex.seen.append("method=MISSING")
                ex.missing_method = True
                return ex.auth_status() == 0
            m = ex.method()
            if user is not None:
                if m != 2:
                    return False
                if ex.auth_status() != 0:
                    return False
            elif m != 0:
                return False
            return True

        if case == "a":
            if not negotiate_lockstep():
                out.verdict = "REFUSED"
            else:
                conn.send(req)
                if ex.reply() != 0:
                    out.verdict = "REFUSED"
                else:
                    conn.send(payload)
                    ex.echo(payload)
                    out.verdict = "OK"
        elif case == "b":
            conn.send(greeting([0]) + req)
            m = ex.method()
            if m != 0:
                out.verdict = "REFUSED"
                if m == 2:
                    out.detail = "server wants 02; the pipelined request was read as auth"
                    # see what the server makes of the request read as RFC 1929
                    try:
                        ex.auth_status()
                    except (Stall, Closed, Bad):
                        pass
            elif ex.reply() != 0:
                out.verdict = "REFUSED"
            else:
                conn.send(payload)
                ex.echo(payload)
                out.verdict = "OK"
        elif case in ("c", "d"):
            head = greeting([2]) + auth_msg(user, password) if user is not None else greeting([0])
            msg = head + req + (payload if case == "d" else b"")
            data_sent_early = case == "d"
            conn.send(msg)
            if not expect_pipelined_answers() or ex.reply() != 0:
                out.verdict = "REFUSED"
            else:
                if case == "c":
                    conn.send(payload)
                ex.echo(payload)
                out.verdict = "OK"
        elif case == "f":
            conn.send(greeting([2]))
            if ex.method() != 2:
                out.verdict = "REFUSED"
            else:
                conn.send(auth_msg(user, password) + req)
                if ex.auth_status() != 0 or ex.reply() != 0:
                    out.verdict = "REFUSED"
                else:
                    conn.send(payload)
                    ex.echo(payload)
                    out.verdict = "OK"
        elif case == "e":
            if not negotiate_lockstep():
                out.verdict = "REFUSED"
            else:
                data_sent_early = True
                conn.send(req + payload)
                if ex.reply() != 0:
                    out.verdict = "REFUSED"
                else:
                    ex.echo(payload)
                    out.verdict = "OK"
        if ex.missing_method:
            out.detail = "no method-selection reply, the answers start with the auth " \
                         "status; a strict client fails here (then: %s)" % out.verdict
            out.verdict = "BAD"
        elif out.verdict == "REFUSED" and not out.detail:
            out.detail = "clean refusal"
    except Stall:
        out.verdict = "STALL"
        out.detail = "nothing for %.1f s" % args.timeout
    except Closed as e:
        out.verdict = "CLOSED"
        out.detail = "server closed (%s)" % e
    except Bad as e:
        out.verdict = "BAD"
        out.detail = str(e)
    except OSError as e:
        out.verdict = "CLOSED"
        out.detail = "socket error: %s" % e
    finally:
        if ex is not None:
            out.seen = list(ex.seen)
            out.reply_ms = ex.reply_ms
            out.echo_ms = ex.echo_ms
        if conn is not None:
            out.raw = conn.raw
            out.total_ms = conn.ms()
            conn.close()

    if target is not None and not quiet_target:
        time.sleep(0.2)   # let the target take what the server relays
        recs = target.since(n_before)
        if not recs:
            out.target = "target: no connection"
        else:
            parts = []
            for r in recs:
                d = r["data"]
                if d == payload:
                    parts.append("data intact")
                elif not d:
                    parts.append("connected, 0 bytes")
                else:
                    parts.append("%d bytes, not what was sent" % len(d))
            out.target = "target: " + "; ".join(parts)
        # The server said the tunnel was up, yet the bytes sent with the handshake never
        # reached the target: they were dropped.
        if data_sent_early and out.verdict in ("STALL", "CLOSED") and \
                any(x.startswith("reply=00") for x in out.seen) and \
                not any(r["data"] == payload for r in recs):
            out.verdict = "DATALOSS"
    return out


def fmt(out):
    def ms(v):
        return "%7.1f" % v if v is not None else "      -"
    raw = ""
    if out.verdict in ("BAD", "CLOSED", "STALL", "DATALOSS"):
        raw = "  bytes: " + (out.raw[:40].hex(" ") or "none")
    return "%s %-15s %-8s reply@%s ms echo@%s ms  %-52s %s%s%s" % (
        out.case, CASES[out.case], out.verdict, ms(out.reply_ms), ms(out.echo_ms),
        " ".join(out.seen) or "(no answer)", out.target,
        ("  [" + out.detail + "]") if out.detail and out.verdict != "OK" else "", raw)


def hostport(text):
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError("want HOST:PORT")
    host = host.strip("[]")
    return host, int(port)


def require_loopback(host, what):
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except socket.gaierror as e:
        sys.exit("%s %s: %s" % (what, host, e))
    for info in infos:
        if not ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback:
            sys.exit("%s %s is not loopback; this probe stays on loopback" % (what, host))


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("proxy", type=hostport, help="SOCKS5 server HOST:PORT (loopback)")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--timeout", type=float, default=3.0,
                    help="seconds without an answer before a case counts as STALL")
    ap.add_argument("--cases", default="abcdef")
    ap.add_argument("--target-listen", type=hostport, default=("127.0.0.1", 0),
                    help="where the echo target listens (loopback)")
    ap.add_argument("--target-name",
                    help="send this name (ATYP 3) instead of the target's address; it must "
                         "resolve to the target at the server")
    ap.add_argument("--quickack", action="store_true",
                    help="set TCP_QUICKACK before every read (see the timing notes)")
    ap.add_argument("--label", default="", help="printed in the header line")
    ap.add_argument("--delay-ms", type=float, default=20.0,
                    help="timing mode: relay delay each way")
    ap.add_argument("--runs", type=int, default=0,
                    help="timing mode: rounds through the delaying relay (0: no timing)")
    args = ap.parse_args()
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")
    require_loopback(args.proxy[0], "server")
    require_loopback(args.target_listen[0], "target")

    target = Target(*args.target_listen)
    taddr = (args.target_name or target.host, target.port)
    print("# %s server %s:%d%s target %s:%d%s" % (
        args.label + " " if args.label else "", args.proxy[0], args.proxy[1],
        " user=%s" % args.user if args.user else " no-auth",
        target.host, target.port, " as %s" % args.target_name if args.target_name else ""))
    results = {}
    for case in args.cases:
        if case not in CASES:
            ap.error("unknown case %r" % case)
        out = run_case(case, args.proxy, taddr, args, target)
        if out is None:
            continue
        results[case] = out
        print(fmt(out), flush=True)

    if args.runs:
        if args.delay_ms > 0:
            relay = DelayRelay(args.proxy, args.delay_ms / 1000.0)
            via = ("127.0.0.1", relay.port)
        else:
            via = args.proxy   # --delay-ms 0: straight to the server, no relay
        good = [c for c, o in results.items() if o.verdict == "OK"]
        times = {c: [] for c in good}
        fails = {c: 0 for c in good}
        for _ in range(args.runs):
            for c in good:
                o = run_case(c, via, taddr, args, target,
                             quiet_target=True)
                if o.verdict == "OK" and o.echo_ms is not None:
                    times[c].append(o.echo_ms)
                else:
                    fails[c] += 1
        print("# timing: %s, %d rounds, connect() to first echoed byte%s"
              % ("relay %.0f ms each way" % args.delay_ms if args.delay_ms > 0
                 else "direct (no relay)", args.runs,
                 ", TCP_QUICKACK" if args.quickack else ""))
        base = statistics.median(times["a"]) if times.get("a") else None
        for c in good:
            xs = times[c]
            if not xs:
                print("T %s %-15s no successful run" % (c, CASES[c]))
                continue
            med = statistics.median(xs)
            print("T %s %-15s median %6.1f ms  p10 %6.1f  p90 %6.1f  n=%d fail=%d%s" % (
                c, CASES[c], med, percentile(xs, 0.1), percentile(xs, 0.9), len(xs),
                fails[c], "  saves %.1f ms" % (base - med) if base is not None and c != "a"
                else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
