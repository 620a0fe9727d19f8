#!/usr/bin/env python3
"""A small nameserver for tests: answers A queries for the names it is given, NXDOMAIN for the
rest, over UDP and TCP on one address, and logs every query it gets (one JSON line each), so a
test can tell whether a query reached it.

  dns_test_server.py --listen 127.0.0.77:53 --name local-only.test=127.0.0.1 --log FILE
                     [--truncate-udp]   (answer UDP with TC set and no records: resolvers retry over TCP)

Prints "READY PORT" when both sockets listen.
"""

import argparse
import json
import socket
import struct
import sys
import threading


def parse_question(packet):
    """(name, type, end of question) of a query with one question; None if it is not one."""
    if len(packet) < 12 or packet[2] & 0x80 or struct.unpack("!H", packet[4:6])[0] != 1:
        return None
    labels, at = [], 12
    while at < len(packet):
        n = packet[at]
        at += 1
        if n == 0:
            break
        if n > 63 or at + n > len(packet):
            return None
        labels.append(packet[at:at + n].decode("ascii", "replace"))
        at += n
    if at + 4 > len(packet):
        return None
    qtype = struct.unpack("!H", packet[at:at + 2])[0]
    return ".".join(labels), qtype, at + 4


def answer(packet, names, truncate=False):
    parsed = parse_question(packet)
    if parsed is None:
        return None
    name, qtype, end = parsed
    address = names.get(name.lower())
    records = []
    if address and qtype == 1 and not truncate:
        records.append(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address))
    flags = 0x8180 | (0x0200 if truncate else 0) | (3 if address is None else 0)
    header = packet[0:2] + struct.pack("!HHHHH", flags, 1, len(records), 0, 0)
    return header + packet[12:end] + b"".join(records)


class Server:
    def __init__(self, args):
        self.args = args
        self.names = dict(n.lower().split("=", 1) for n in args.name)
        self.lock = threading.Lock()

    def log(self, transport, packet):
        parsed = parse_question(packet)
        line = {"transport": transport, "name": parsed[0] if parsed else None, "type": parsed[1] if parsed else None}
        if self.args.log:
            with self.lock, open(self.args.log, "a") as f:
                f.write(json.dumps(line) + "\n")

    def serve_udp(self, sock):
        while True:
            packet, peer = sock.recvfrom(65536)
            self.log("udp", packet)
            reply = answer(packet, self.names, truncate=self.args.truncate_udp)
            if reply:
                sock.sendto(reply, peer)

    def serve_tcp_client(self, conn):
        with conn:
            while True:
                head = self.recv_exact(conn, 2)
                if not head:
                    return
                packet = self.recv_exact(conn, struct.unpack("!H", head)[0])
                if not packet:
                    return
                self.log("tcp", packet)
                reply = answer(packet, self.names)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    @staticmethod
    def recv_exact(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def serve_tcp(self, sock):
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=self.serve_tcp_client, args=(conn,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", required=True, help="HOST:PORT (one address, UDP and TCP)")
    p.add_argument("--name", action="append", default=[], metavar="NAME=IPV4")
    p.add_argument("--truncate-udp", action="store_true")
    p.add_argument("--log")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((host, int(port)))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((host, udp.getsockname()[1]))
    tcp.listen(16)
    server = Server(args)
    threading.Thread(target=server.serve_udp, args=(udp,), daemon=True).start()
    threading.Thread(target=server.serve_tcp, args=(tcp,), daemon=True).start()
    sys.stdout.write("READY %d\n" % udp.getsockname()[1])
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
