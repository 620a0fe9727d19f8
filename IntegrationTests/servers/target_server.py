#!/usr/bin/env python3
"""TCP target for the integration tests: tells each client where it came from.

Usage: target_server.py --listen HOST:PORT [--raw] [--first-wait SECONDS]

Prints "READY <port>" once listening.  For each connection:
  * if the client's first bytes start with an HTTP method (GET/HEAD/POST/...),
    answers "HTTP/1.1 200 OK" (Connection: close) with body "peer <source-ip>\\n";
  * otherwise writes "peer <source-ip>\\n" and echoes everything it receives
    until the client closes.
A client that sends nothing gets the peer line after --first-wait seconds
(default 0.3).  With --raw the peer line is sent at once, without looking for
HTTP (for clients that read before they write, e.g. stress tests).
"""

import argparse
import select
import signal
import socket
import sys
import threading
import time

HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ")


def parse_hostport(text):
    if text.startswith("["):
        end = text.index("]")
        return text[1:end], int(text[end + 2:])
    host, _, port = text.rpartition(":")
    return host, int(port)


def peer_ip(addr):
    ip = addr[0]
    if ip.startswith("::ffff:") and "." in ip:
        ip = ip[7:]
    return ip


def looks_like_http_prefix(data):
    """True if data could still become an HTTP request line."""
    return any(m.startswith(data[:len(m)]) for m in HTTP_METHODS)


def handle(conn, addr, args):
    line = ("peer %s\n" % peer_ip(addr)).encode()
    try:
        conn.settimeout(30)
        first = b""
        if not args.raw:
            r, _, _ = select.select([conn], [], [], args.first_wait)
            if r:
                first = conn.recv(65536)
                if not first:
                    return
                # gather enough bytes to decide whether this is HTTP
                while len(first) < 8 and looks_like_http_prefix(first):
                    r, _, _ = select.select([conn], [], [], 1.0)
                    if not r:
                        break
                    more = conn.recv(65536)
                    if not more:
                        break
                    first += more
        if first.startswith(HTTP_METHODS):
            # read the request head (best effort) then answer
            while b"\r\n\r\n" not in first and len(first) < 65536:
                r, _, _ = select.select([conn], [], [], 2.0)
                if not r:
                    break
                more = conn.recv(65536)
                if not more:
                    break
                first += more
            head_only = first.startswith(b"HEAD ")
            resp = (b"HTTP/1.1 200 OK\r\n"
                    b"Content-Type: text/plain\r\n"
                    b"Content-Length: %d\r\n"
                    b"Connection: close\r\n\r\n" % len(line))
            if not head_only:
                resp += line
            conn.sendall(resp)
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            # let the client read everything before we close
            conn.settimeout(5)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass
            return
        conn.sendall(line)
        if first:
            conn.sendall(first)
        conn.settimeout(300)
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except (OSError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, type=parse_hostport)
    p.add_argument("--raw", action="store_true")
    p.add_argument("--first-wait", type=float, default=0.3)
    args = p.parse_args()

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    host, port = args.listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    ls.bind((host, port))
    ls.listen(512)
    sys.stdout.write("READY %d\n" % ls.getsockname()[1])
    sys.stdout.flush()
    try:
        while True:
            try:
                conn, addr = ls.accept()
            except InterruptedError:
                continue
            except OSError:
                time.sleep(0.01)
                continue
            threading.Thread(target=handle, args=(conn, addr, args), daemon=True).start()
    finally:
        ls.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
