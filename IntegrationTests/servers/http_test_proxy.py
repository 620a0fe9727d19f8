#!/usr/bin/env python3
"""An HTTP CONNECT proxy for tests, with fault injection.

  http_test_proxy.py --listen 127.0.0.1:0 [--mode MODE] [--bind-out IP] [--log FILE]

Modes:
  normal        200, then relay (the head and the destination's first bytes in one write
                when the destination speaks first, so a client that reads past the head loses them)
  status=NNN    answer NNN with a reason and close
  garbage       answer bytes that are not HTTP
  oversized     a head of 20 KiB of header fields, never ending in time
  cut           half a status line, then close
  silent        read the request, answer nothing, keep the connection open
  slow=S        wait S seconds before answering 200

Prints "READY PORT"; logs one JSON line per request ({"request": first line, "headers": {...}}).
"""

import argparse
import json
import socket
import sys
import threading
import time


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Proxy:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()

    def log(self, line):
        if self.args.log:
            with self.lock, open(self.args.log, "a") as f:
                f.write(json.dumps(line) + "\n")

    def handle(self, conn):
        with conn:
            head, rest = read_head(conn)
            if head is None:
                return
            lines = head.split("\r\n")
            headers = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
            self.log({"request": lines[0], "headers": headers})
            mode, arg = self.args.mode
            if mode == "status":
                conn.sendall(b"HTTP/1.1 %d Test Status\r\nContent-Length: 0\r\n\r\n" % arg)
                return
            if mode == "garbage":
                conn.sendall(b"\x05\x00garbage\r\n\r\n")
                return
            if mode == "oversized":
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for i in range(400):
                    conn.sendall(b"X-Padding-%d: %s\r\n" % (i, b"a" * 40))
                time.sleep(5)
                return
            if mode == "cut":
                conn.sendall(b"HTTP/1.1 20")
                return
            if mode == "silent":
                time.sleep(60)
                return
            if mode == "slow":
                time.sleep(arg)
            method, target, _ = lines[0].split(" ", 2)
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            try:
                out = socket.create_connection((host, int(port)), timeout=5,
                                               source_address=(self.args.bind_out, 0) if self.args.bind_out else None)
            except OSError:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                return
            out.settimeout(None)
            # Give a destination that speaks first the time to do so: its first bytes then go
            # out in the same write as the head.
            out.settimeout(0.2)
            try:
                first = out.recv(65536)
            except socket.timeout:
                first = b""
            out.settimeout(None)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n" + first + rest)
            t = threading.Thread(target=relay, args=(out, conn), daemon=True)
            t.start()
            relay(conn, out)
            t.join()
            out.close()


def parse_mode(text):
    name, _, arg = text.partition("=")
    if name == "status":
        return (name, int(arg))
    if name == "slow":
        return (name, float(arg))
    if name in ("normal", "garbage", "oversized", "cut", "silent"):
        return (name, None)
    raise argparse.ArgumentTypeError("unknown mode %s" % text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--mode", type=parse_mode, default=("normal", None))
    p.add_argument("--bind-out")
    p.add_argument("--log")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(64)
    proxy = Proxy(args)
    sys.stdout.write("READY %d\n" % ls.getsockname()[1])
    sys.stdout.flush()
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=proxy.handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
