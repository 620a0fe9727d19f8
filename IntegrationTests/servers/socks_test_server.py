#!/usr/bin/env python3
"""Project-owned SOCKS4/4a/5 test server with fault injection.

Standard library only, one thread per client.  Used by the integration tests
to act as a well-behaved proxy (with a request log) or as a broken one.

Usage:
  socks_test_server.py --listen HOST:PORT [--user U --password P]
                       [--mode MODE] [--bind-out ADDR] [--log FILE]
                       [--connect-delay SECONDS] [--nagle] [--tor-answers]

HOST may be an IPv6 address in brackets ([::1]:0).  Port 0 picks an
ephemeral port.  Once listening, prints exactly one line "READY <port>".

Modes:
  normal           behave (default)
  reply=N          answer every CONNECT with SOCKS5 reply code N
                   (SOCKS4: code N if N >= 90, else 91), then close
  silent           accept, read, never answer; keep open until client closes
  close            close right after accept
  garbage          after the greeting answer with non-SOCKS bytes, close
  badversion       SOCKS5 method selection reply with version 0x04
                   (SOCKS4: reply with VN 0x05)
  truncated        SOCKS5: valid method selection, then only the first 3 bytes
                   of the CONNECT reply, close.  SOCKS4: 4 of the 8 bytes.
  slow=SECONDS     sleep before each reply
  noacceptable     answer the SOCKS5 method selection with 0xFF
                   (SOCKS4: reply 91)
  oversized        CONNECT reply with ATYP 3, domain length 255 but only a
                   few bytes, then close (SOCKS4: behaves normally)
  badatyp          SOCKS5 CONNECT reply (success) with ATYP 0x09 (SOCKS4: normal)
  badreply         SOCKS5 CONNECT reply with version 0x04 instead of 0x05, a full
                   10-byte reply (SOCKS4: normal)

Every SOCKS5 log entry has "early": for each answer before the CONNECT reply (the
method selection, then the login's status), how many bytes the client had already sent
past what that answer is for.  A lockstep client waits for each answer ([0] or [0, 0]);
a pipelined one sent everything in its first write ([10] for an IPv4 CONNECT without
login).  Bytes counted before the answer was sent cannot have been a reaction to it, so
the count is exact, never a race.

Options besides the mode (they combine with any mode):
  --tor-answers    with a login: when the login arrived together with the greeting,
                   leave out the method selection and answer with the login's status
                   alone, as Tor 0.4.9 does (docs/async-handshake.md, "Pipelining").
  --connect-delay SECONDS  sleep this long before the server's own connect to the
                   destination (CONNECT only; the client has sent its request and
                   waits for the reply), like a proxy reaching a far destination.
                   With slow=S the reply then comes S + SECONDS after the request.
  --nagle          leave Nagle's algorithm on for client connections.  By default
                   every accepted client socket gets TCP_NODELAY, so a second small
                   answer (e.g. the CONNECT reply after a pipelined request) is not
                   held back ~40 ms waiting for the client's delayed ACK.  --nagle
                   reproduces the old behaviour (docs/async-handshake.md, "Nagle").

Network rule: this server only ever connects where clients ask it to; the
integration tests only ever ask for loopback targets.
"""

import argparse
import errno
import ipaddress
import json
import select
import signal
import socket
import struct
import sys
import threading
import time

GARBAGE = b"HTTP/1.0 400 Bad\r\n\r\n"

CLIENT_IO_TIMEOUT = 30.0  # seconds a handshake read may block (not in silent mode)
CONNECT_TIMEOUT = 10.0


class ClientGone(Exception):
    """The client closed the connection or sent something unusable."""


def parse_hostport(text):
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise argparse.ArgumentTypeError("bad address %r" % text)
        host, port = text[1:end], text[end + 2:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise argparse.ArgumentTypeError("bad address %r (want HOST:PORT)" % text)
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in %r" % text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("bad port in %r" % text)
    return host, port


def parse_mode(text):
    name, _, arg = text.partition("=")
    if name in ("normal", "silent", "close", "garbage", "badversion",
                "truncated", "noacceptable", "oversized", "badatyp", "badreply"):
        if arg:
            raise argparse.ArgumentTypeError("mode %s takes no argument" % name)
        return (name, None)
    if name == "reply":
        try:
            n = int(arg, 0)
        except ValueError:
            raise argparse.ArgumentTypeError("reply=N needs an integer")
        if not 0 <= n <= 255:
            raise argparse.ArgumentTypeError("reply code out of range")
        return (name, n)
    if name == "slow":
        try:
            s = float(arg)
        except ValueError:
            raise argparse.ArgumentTypeError("slow=SECONDS needs a number")
        if s < 0:
            raise argparse.ArgumentTypeError("slow=SECONDS must be >= 0")
        return (name, s)
    raise argparse.ArgumentTypeError("unknown mode %r" % text)


def non_negative_seconds(text):
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds" % text)
    if not s >= 0 or s == float("inf"):
        raise argparse.ArgumentTypeError("seconds must be a finite number >= 0")
    return s


class Logger:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def log(self, **fields):
        if not self.path:
            return
        ordered = {k: fields.get(k) for k in ("version", "cmd", "host", "port", "atyp", "user")}
        ordered.update((k, v) for k, v in fields.items() if k != "result")
        ordered["result"] = fields.get("result")
        line = json.dumps(ordered)
        with self.lock:
            try:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
            except OSError as e:
                sys.stderr.write("socks_test_server: cannot write log: %s\n" % e)


class Server:
    def __init__(self, args):
        self.args = args
        self.mode, self.mode_arg = args.mode
        self.logger = Logger(args.log)
        self.bind_out = args.bind_out
        self.bind_out_family = None
        if self.bind_out:
            self.bind_out_family = (socket.AF_INET6
                                    if ipaddress.ip_address(self.bind_out).version == 6
                                    else socket.AF_INET)

    # ---- low level helpers -------------------------------------------------

    @staticmethod
    def recv_exact(sock, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = sock.recv(n - len(buf))
            except (OSError, socket.timeout):
                raise ClientGone()
            if not chunk:
                raise ClientGone()
            buf += chunk
        return buf

    @staticmethod
    def recv_until_nul(sock, limit=1024):
        buf = b""
        while True:
            c = Server.recv_exact(sock, 1)
            if c == b"\x00":
                return buf
            buf += c
            if len(buf) > limit:
                raise ClientGone()

    @staticmethod
    def buffered(sock):
        """How many bytes the client has sent that are not read yet, without waiting."""
        timeout = sock.gettimeout()
        sock.settimeout(0)  # with a timeout Python would wait for data before the peek
        try:
            return len(sock.recv(65536, socket.MSG_PEEK))
        except OSError:  # BlockingIOError: nothing there
            return 0
        finally:
            sock.settimeout(timeout)

    def maybe_slow(self):
        if self.mode == "slow":
            time.sleep(self.mode_arg)

    def send(self, sock, data):
        try:
            sock.sendall(data)
        except OSError:
            raise ClientGone()

    @staticmethod
    def drain_until_closed(sock):
        """Read and discard everything until the client closes."""
        sock.settimeout(None)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
        except OSError:
            return

    # ---- outgoing connection ----------------------------------------------

    def resolve(self, host, port):
        known = dict(h.split("=", 1) for h in self.args.host)
        host = known.get(host.lower() if isinstance(host, str) else host, host)
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        if not infos:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        if self.bind_out_family is not None:
            for info in infos:
                if info[0] == self.bind_out_family:
                    return info
        return infos[0]

    def connect_out(self, host, port):
        if self.args.connect_delay:
            time.sleep(self.args.connect_delay)
        family, socktype, proto, _, sockaddr = self.resolve(host, port)
        s = socket.socket(family, socktype, proto)
        try:
            if self.bind_out and family == self.bind_out_family:
                s.bind((self.bind_out, 0))
            s.settimeout(CONNECT_TIMEOUT)
            s.connect(sockaddr)
            s.settimeout(None)
            return s
        except BaseException:
            s.close()
            raise

    @staticmethod
    def socks5_code_for(exc):
        if isinstance(exc, socket.gaierror):
            return 0x04
        if isinstance(exc, socket.timeout):
            return 0x06
        code = getattr(exc, "errno", None)
        return {
            errno.ECONNREFUSED: 0x05,
            errno.ENETUNREACH: 0x03,
            errno.EHOSTUNREACH: 0x04,
            errno.ETIMEDOUT: 0x06,
            errno.EAFNOSUPPORT: 0x08,
            errno.EACCES: 0x02,
            errno.EPERM: 0x02,
        }.get(code, 0x01)

    # ---- relay ---------------------------------------------------------------

    @staticmethod
    def relay(a, b):
        a.settimeout(None)
        b.settimeout(None)
        open_read = {a: True, b: True}
        peer = {a: b, b: a}
        try:
            while open_read[a] or open_read[b]:
                readers = [s for s in (a, b) if open_read[s]]
                r, _, _ = select.select(readers, [], [], 300)
                if not r:
                    return  # idle for 5 minutes: give up
                for s in r:
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        try:
                            peer[s].sendall(data)
                        except OSError:
                            return
                    else:
                        open_read[s] = False
                        try:
                            peer[s].shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    # ---- client handling -----------------------------------------------------

    def handle(self, client, addr):
        try:
            if self.mode == "close":
                return
            if self.mode == "silent":
                self.drain_until_closed(client)
                return
            client.settimeout(CLIENT_IO_TIMEOUT)
            ver = self.recv_exact(client, 1)[0]
            if ver == 4:
                self.handle_socks4(client)
            elif ver == 5:
                self.handle_socks5(client)
            else:
                self.logger.log(version=ver, cmd=None, host=None, port=None,
                                atyp=None, user=None, result="bad_version")
        except ClientGone:
            pass
        except Exception as e:  # never crash the server on one client
            try:
                sys.stderr.write("socks_test_server: client error: %r\n" % (e,))
            except Exception:
                pass
        finally:
            try:
                client.close()
            except OSError:
                pass

    def handle_socks4(self, client):
        head = self.recv_exact(client, 7)
        cmd = head[0]
        port = struct.unpack("!H", head[1:3])[0]
        ip = head[3:7]
        userid = self.recv_until_nul(client).decode("utf-8", "replace")
        atyp = "4"
        if ip[0:3] == b"\x00\x00\x00" and ip[3] != 0:
            host = self.recv_until_nul(client).decode("utf-8", "replace")
            atyp = "4a"
        else:
            host = socket.inet_ntoa(ip)
        entry = dict(version=4, cmd=cmd, host=host, port=port, atyp=atyp,
                     user=userid if userid else None)

        def reply(code, bnd_port=0, bnd_ip=b"\x00\x00\x00\x00", vn=0):
            self.maybe_slow()
            self.send(client, struct.pack("!BBH", vn, code, bnd_port) + bnd_ip)

        mode = self.mode
        if mode == "garbage":
            self.logger.log(result="garbage", **entry)
            self.maybe_slow()
            self.send(client, GARBAGE)
            return
        if mode == "truncated":
            self.logger.log(result="truncated", **entry)
            self.maybe_slow()
            self.send(client, bytes([0, 90, 0, 0]))
            return
        if mode == "reply":
            code = self.mode_arg if self.mode_arg >= 90 else 91
            self.logger.log(result="reply %d" % code, **entry)
            reply(code)
            return
        if mode == "noacceptable":
            self.logger.log(result="reply 91", **entry)
            reply(91)
            return
        if mode == "badversion":
            self.logger.log(result="badversion", **entry)
            reply(90, vn=5)
            return
        if cmd != 1:
            self.logger.log(result="unsupported_cmd", **entry)
            reply(91)
            return
        if self.args.user is not None and userid != self.args.user:
            self.logger.log(result="auth_failed", **entry)
            reply(93)
            return
        try:
            out = self.connect_out(host, port)
        except Exception as e:
            self.logger.log(result="connect_failed: %s" % (e,), **entry)
            reply(91)
            return
        try:
            bnd = out.getsockname()
            bnd_ip = socket.inet_aton(bnd[0]) if out.family == socket.AF_INET else b"\x00" * 4
            self.logger.log(result="ok", **entry)
            reply(90, bnd[1], bnd_ip)
        except BaseException:
            out.close()
            raise
        self.relay(client, out)

    def handle_socks5(self, client):
        nmethods = self.recv_exact(client, 1)[0]
        methods = self.recv_exact(client, nmethods) if nmethods else b""
        mode = self.mode

        if mode == "garbage":
            self.maybe_slow()
            self.send(client, GARBAGE)
            return
        if mode == "noacceptable":
            self.maybe_slow()
            self.send(client, b"\x05\xff")
            return

        if self.args.user is not None:
            method = 0x02 if 0x02 in methods else 0xFF
        elif 0x00 in methods:
            method = 0x00
        elif 0x02 in methods:
            method = 0x02  # no credentials configured: accept any
        else:
            method = 0xFF

        self.maybe_slow()
        if mode == "badversion":
            self.send(client, bytes([0x04, method if method != 0xFF else 0x00]))
            return
        early = [self.buffered(client)]
        # Tor answers only the last of the messages one read brought: a login sent with the
        # greeting gets its status alone. (2 bytes: enough to tell a login is there.)
        omit_selection = self.args.tor_answers and method == 0x02 and early[0] >= 2
        if not omit_selection:
            self.send(client, bytes([0x05, method]))
        if method == 0xFF:
            self.logger.log(version=5, cmd=None, host=None, port=None, atyp=None,
                            user=None, result="no_acceptable_method", early=early)
            return

        user = None
        if method == 0x02:
            sub_ver = self.recv_exact(client, 1)[0]
            ulen = self.recv_exact(client, 1)[0]
            uname = self.recv_exact(client, ulen) if ulen else b""
            plen = self.recv_exact(client, 1)[0]
            passwd = self.recv_exact(client, plen) if plen else b""
            user = uname.decode("utf-8", "replace")
            ok = sub_ver == 0x01
            if self.args.user is not None:
                ok = ok and uname == self.args.user.encode() and \
                    passwd == (self.args.password or "").encode()
            self.maybe_slow()
            early.append(self.buffered(client))
            if not ok:
                self.logger.log(version=5, cmd=None, host=None, port=None, atyp=None,
                                user=user, result="auth_failed", early=early)
                self.send(client, b"\x01\x01")
                return
            self.send(client, b"\x01\x00")

        ver, cmd, _rsv, atyp = self.recv_exact(client, 4)
        if ver != 5:
            self.logger.log(version=ver, cmd=cmd, host=None, port=None, atyp=atyp,
                            user=user, result="bad_request_version")
            return
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, self.recv_exact(client, 4))
        elif atyp == 3:
            n = self.recv_exact(client, 1)[0]
            host = self.recv_exact(client, n).decode("utf-8", "replace")
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, self.recv_exact(client, 16))
        else:
            self.logger.log(version=5, cmd=cmd, host=None, port=None, atyp=atyp,
                            user=user, result="bad_atyp")
            self.maybe_slow()
            self.send(client, self.socks5_reply(0x08))
            return
        port = struct.unpack("!H", self.recv_exact(client, 2))[0]
        entry = dict(version=5, cmd=cmd, host=host, port=port, atyp=atyp, user=user, early=early)

        if mode == "truncated":
            self.logger.log(result="truncated", **entry)
            self.maybe_slow()
            self.send(client, self.socks5_reply(0x00)[:3])
            return
        if mode == "oversized":
            self.logger.log(result="oversized", **entry)
            self.maybe_slow()
            self.send(client, b"\x05\x00\x00\x03\xffabc")
            return
        if mode == "badatyp":
            self.logger.log(result="badatyp", **entry)
            self.maybe_slow()
            self.send(client, b"\x05\x00\x00\x09" + b"\x00" * 6)
            return
        if mode == "badreply":
            self.logger.log(result="badreply", **entry)
            self.maybe_slow()
            self.send(client, b"\x04" + self.socks5_reply(0x00)[1:])
            return
        if mode == "reply":
            self.logger.log(result="reply %d" % self.mode_arg, **entry)
            self.maybe_slow()
            self.send(client, self.socks5_reply(self.mode_arg))
            return
        if cmd != 1:
            self.logger.log(result="unsupported_cmd", **entry)
            self.maybe_slow()
            self.send(client, self.socks5_reply(0x07))
            return
        try:
            out = self.connect_out(host, port)
        except Exception as e:
            code = self.socks5_code_for(e)
            self.logger.log(result="connect_failed: %s" % (e,), **entry)
            self.maybe_slow()
            self.send(client, self.socks5_reply(code))
            return
        try:
            bnd = out.getsockname()
            self.logger.log(result="ok", **entry)
            self.maybe_slow()
            self.send(client, self.socks5_reply(0x00, bnd[0], bnd[1]))
        except BaseException:
            out.close()
            raise
        self.relay(client, out)

    @staticmethod
    def socks5_reply(code, host="0.0.0.0", port=0):
        if ":" in host:
            addr = b"\x04" + socket.inet_pton(socket.AF_INET6, host.split("%")[0])
        else:
            addr = b"\x01" + socket.inet_pton(socket.AF_INET, host)
        return bytes([0x05, code, 0x00]) + addr + struct.pack("!H", port)

    # ---- main loop -----------------------------------------------------------

    def serve(self):
        host, port = self.args.listen
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            try:
                ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            except OSError:
                pass
        ls.bind((host, port))
        ls.listen(128)
        sys.stdout.write("READY %d\n" % ls.getsockname()[1])
        sys.stdout.flush()
        try:
            while True:
                try:
                    client, addr = ls.accept()
                except InterruptedError:
                    continue
                except OSError as e:
                    if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        time.sleep(0.05)
                        continue
                    if e.errno in (errno.ECONNABORTED, errno.EPROTO):
                        continue
                    raise
                if not self.args.nagle:
                    try:
                        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    except OSError:
                        pass
                t = threading.Thread(target=self.handle, args=(client, addr), daemon=True)
                t.start()
        finally:
            ls.close()


def main(argv=None):
    p = argparse.ArgumentParser(description="SOCKS test server with fault injection")
    p.add_argument("--listen", required=True, type=parse_hostport)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--mode", type=parse_mode, default=("normal", None))
    p.add_argument("--bind-out")
    p.add_argument("--log")
    p.add_argument("--connect-delay", type=non_negative_seconds, default=0.0,
                   metavar="SECONDS",
                   help="sleep before connecting to the destination of a CONNECT")
    p.add_argument("--nagle", action="store_true",
                   help="do not set TCP_NODELAY on client connections")
    p.add_argument("--host", action="append", default=[], metavar="NAME=IP",
                   help="resolve NAME to IP before asking the system (a name only the proxy knows)")
    p.add_argument("--tor-answers", action="store_true",
                   help="answer a login sent with the greeting with its status alone, as Tor")
    args = p.parse_args(argv)
    if args.password is not None and args.user is None:
        p.error("--password needs --user")

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    except (AttributeError, ValueError):
        pass
    try:
        Server(args).serve()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
