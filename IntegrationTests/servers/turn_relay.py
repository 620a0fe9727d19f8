#!/usr/bin/env python3
"""A TCP relay that records who spoke when: the turns of each connection.

Usage: turn_relay.py --listen HOST:PORT --upstream HOST:PORT [--log FILE] [--delay-ms N]

Prints "READY <port>" once listening.  Every connection is relayed to --upstream.  When it
ends, one JSON line goes to --log: {"turns": [["c", 13], ["s", 12], ["c", 6], ...]}, the
bytes each side sent, consecutive reads from one side merged into one turn.  Put in front
of any SOCKS server, it shows how many round trips a client's handshake took and what the
client sent before the server's first answer, without the server's help (danted,
microsocks).  The order is causal where it matters: a lockstep client cannot send its next
message before the relay has passed it the answer.

--delay-ms N holds every chunk N ms before passing it on, each way (one round trip is then
2N ms), for measuring what a saved round trip is worth (bench/pipeline_latency.py).

Network rule: loopback only, like every test server here.
"""

import argparse
import heapq
import json
import select
import signal
import socket
import sys
import threading
import time


def parse_hostport(text):
    if text.startswith("["):
        end = text.index("]")
        return text[1:end], int(text[end + 2:])
    host, _, port = text.rpartition(":")
    return host, int(port)


class Relay:
    def __init__(self, args):
        self.upstream = args.upstream
        self.delay = args.delay_ms / 1000.0
        self.log_path = args.log
        self.lock = threading.Lock()

    def log(self, turns):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"turns": turns}) + "\n")

    def handle(self, client):
        try:
            host, port = self.upstream
            server = socket.create_connection((host, port), timeout=10)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        side = {client: "c", server: "s"}
        peer = {client: server, server: client}
        turns = []
        pending = []        # (due, seq, destination, bytes): chunks held back by --delay-ms
        seq = 0
        reading = {client, server}
        shut = set()        # sides whose EOF is still to be passed on, once pending is empty
        try:
            while reading or pending or shut:
                timeout = None
                if pending:
                    timeout = max(0.0, pending[0][0] - time.monotonic())
                readable = []
                if reading:
                    readable, _, _ = select.select(list(reading), [], [], timeout)
                elif timeout:
                    time.sleep(timeout)
                for s in readable:
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        reading.discard(s)
                        shut.add(s)
                        continue
                    who = side[s]
                    if turns and turns[-1][0] == who:
                        turns[-1][1] += len(data)
                    else:
                        turns.append([who, len(data)])
                    seq += 1
                    heapq.heappush(pending, (time.monotonic() + self.delay, seq, peer[s], data))
                now = time.monotonic()
                while pending and pending[0][0] <= now:
                    _, _, dst, data = heapq.heappop(pending)
                    dst.setblocking(True)
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
                    finally:
                        dst.setblocking(False)
                for s in list(shut):
                    if not any(p[2] is peer[s] for p in pending):
                        shut.discard(s)
                        try:
                            peer[s].shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
        finally:
            self.log(turns)
            client.close()
            server.close()

    def serve(self, host, port):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(128)
        sys.stdout.write("READY %d\n" % ls.getsockname()[1])
        sys.stdout.flush()
        while True:
            client, _ = ls.accept()
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True, type=parse_hostport)
    p.add_argument("--upstream", required=True, type=parse_hostport)
    p.add_argument("--log")
    p.add_argument("--delay-ms", type=float, default=0.0)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        Relay(args).serve(*args.listen)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
