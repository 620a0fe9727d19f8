"""Network-namespace helpers for the DNS-leak tests (test_dns_leak.py).

Builds a closed three-namespace topology, runs processes inside it, captures
the client's wire traffic with tcpdump and parses the capture (pcap) in Python:

    sxc (client) 10.200.1.1 --veth-- 10.200.1.2 sxp (proxy) 10.200.2.1 --veth-- 10.200.2.2 sxt (target)

Nothing is connected to the host's network: the veth pairs only join these
namespaces, no namespace has a default route, forwarding is off everywhere and
there is no NAT.  The client's one extra route sends 10.200.9.9 (the
nameserver in its resolv.conf, which exists nowhere) to the proxy host, which
drops it (forwarding off): a direct DNS query therefore *appears on the
client's wire* (so a leak is visible in the capture) but can never be answered
and never goes anywhere.

Two options (off by default, used by test_fail_closed.py) widen what a direct attempt can
show without giving it anywhere to go:
  route_target=True  the client also routes 10.200.2.2 (the target) via the proxy host, which
                     drops it: a direct packet to the target shows on the client's wire;
  ipv6=True          IPv6 beside IPv4 on both links (fd00:200:1::/64 client--proxy,
                     fd00:200:2::/64 proxy--target; no router advertisements, no DAD), a second
                     target server on [fd00:200:2::2]:80, and the client routes fd00:200:2::2
                     via the proxy host (IPv6 forwarding is off there too).  The client's wire
                     then also carries IPv6 neighbour discovery and MLD.

Per-namespace files live in /etc/netns/<ns>/ (bind-mounted over /etc/ by
`ip netns exec`).  Everything is removed by Topology.teardown(), which is also
registered with atexit as a last resort.
"""

import atexit
import ipaddress
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

IP = shutil.which("ip") or "/usr/sbin/ip"
TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"

CLIENT_NS = "sxc"
PROXY_NS = "sxp"
TARGET_NS = "sxt"
ALL_NS = (CLIENT_NS, PROXY_NS, TARGET_NS)

CLIENT_IF = "sxc-p"      # in sxc, towards the proxy
PROXY_IF_C = "sxp-c"     # in sxp, towards the client
PROXY_IF_T = "sxp-t"     # in sxp, towards the target
TARGET_IF = "sxt-p"      # in sxt, towards the proxy

CLIENT_IP = "10.200.1.1"
PROXY_IP = "10.200.1.2"      # proxy, client side
PROXY_OUT_IP = "10.200.2.1"  # proxy, target side: what the target sees
TARGET_IP = "10.200.2.2"
DEAD_DNS_IP = "10.200.9.9"   # the client's nameserver: exists nowhere
# only with Topology(ipv6=True)
CLIENT_IP6 = "fd00:200:1::1"
PROXY_IP6 = "fd00:200:1::2"
PROXY_OUT_IP6 = "fd00:200:2::1"  # what the target sees over IPv6
TARGET_IP6 = "fd00:200:2::2"
PROXY_PORT = 1080
TARGET_NAME = "target.test"

ETC_NETNS = Path("/etc/netns")

CLIENT_HOSTS = "127.0.0.1 localhost\n"
# timeout/attempts keep the negative control (a real, unanswered query) short
CLIENT_RESOLV = "nameserver %s\noptions timeout:1 attempts:1\n" % DEAD_DNS_IP
PROXY_HOSTS = "127.0.0.1 localhost\n%s %s\n" % (TARGET_IP, TARGET_NAME)
# the proxy resolves target.test from its hosts file; should anything fall
# back to DNS there, 10.200.9.9 has no route in sxp (fails at once, sends nothing)
OTHER_RESOLV = "nameserver %s\noptions timeout:1 attempts:1\n" % DEAD_DNS_IP


class NetnsError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# running commands
# --------------------------------------------------------------------------

class Completed:
    def __init__(self, argv, returncode, stdout, stderr, elapsed):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed

    def __str__(self):
        return ("command: %s\nexit: %s  elapsed: %.2fs\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.argv), self.returncode, self.elapsed, self.stdout, self.stderr))

    __repr__ = __str__


class CommandTimeout(AssertionError):
    pass


def run(argv, timeout=30, env=None, check=False, input=None):
    """Run argv in its own process group; on timeout kill the whole group."""
    argv = [str(a) for a in argv]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _killpg(p)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        raise CommandTimeout("timed out after %ss: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                             % (timeout, " ".join(argv), out.decode(errors="replace"),
                                err.decode(errors="replace")))
    finally:
        if p.poll() is None:
            _killpg(p)
    res = Completed(argv, p.returncode, out.decode(errors="replace"),
                    err.decode(errors="replace"), time.monotonic() - t0)
    if check and res.returncode != 0:
        raise NetnsError("command failed\n%s" % res)
    return res


def _killpg(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def ip(*args, timeout=15):
    return run([IP] + list(args), timeout=timeout, check=True)


def in_ns(ns, argv):
    """argv prefixed to run inside namespace ns (with its /etc/netns files)."""
    return [IP, "netns", "exec", ns] + [str(a) for a in argv]


def ns_exists(ns):
    r = run([IP, "netns", "list"], timeout=10)
    return any(line.split()[0] == ns for line in r.stdout.splitlines() if line.strip())


def netns_available():
    """(ok, reason): can we create network namespaces here?"""
    if os.geteuid() != 0:
        return False, "not root (network namespaces, veth and tcpdump need root)"
    if not os.path.exists(IP):
        return False, "iproute2 `ip` not installed"
    probe = "sxprobe%d" % os.getpid()
    try:
        r = run([IP, "netns", "add", probe], timeout=10)
        if r.returncode != 0:
            return False, "`ip netns add` failed: %s" % r.stderr.strip()
        r = run([IP, "netns", "exec", probe, IP, "link", "show", "lo"], timeout=10)
        if r.returncode != 0:
            return False, "`ip netns exec` failed: %s" % r.stderr.strip()
        return True, ""
    except (OSError, AssertionError) as e:
        return False, "`ip netns` unusable: %s" % e
    finally:
        run([IP, "netns", "del", probe], timeout=10)


# --------------------------------------------------------------------------
# background processes inside a namespace
# --------------------------------------------------------------------------

class NsProcess:
    """A long-running process inside a namespace, always cleaned up."""

    def __init__(self, ns, argv, name, log_dir, ready_line=None, ready_stream="stdout",
                 timeout=10.0, env=None):
        self.ns = ns
        self.name = name
        self.argv = in_ns(ns, argv)
        self.stdout_path = Path(log_dir) / ("%s.%d.stdout" % (name, id(self)))
        self.stderr_path = Path(log_dir) / ("%s.%d.stderr" % (name, id(self)))
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, start_new_session=True, env=env)
        if ready_line is not None:
            path = self.stdout_path if ready_stream == "stdout" else self.stderr_path
            deadline = time.monotonic() + timeout
            while True:
                text = path.read_text(errors="replace")
                if ready_line in text:
                    break
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise NetnsError("%s did not become ready (%r not seen)\nstdout: %s\nstderr: %s"
                                     % (name, ready_line, self.stdout_text(), self.stderr_text()))
                time.sleep(0.05)

    def stdout_text(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, grace=5.0):
        p = self.proc
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self._out, self._err):
            if not f.closed:
                f.close()


def wait_tcp_in_ns(ns, host, port, timeout=10.0):
    """Poll (from inside ns) until host:port accepts a TCP connection."""
    code = ("import socket,sys,time\n"
            "d=time.monotonic()+%f\n"
            "while time.monotonic()<d:\n"
            "  s=socket.socket()\n"
            "  s.settimeout(0.5)\n"
            "  try:\n"
            "    s.connect((%r,%d)); sys.exit(0)\n"
            "  except OSError: time.sleep(0.05)\n"
            "  finally: s.close()\n"
            "sys.exit(1)\n" % (timeout, host, port))
    r = run(in_ns(ns, ["python3", "-c", code]), timeout=timeout + 10)
    return r.returncode == 0


# --------------------------------------------------------------------------
# the topology
# --------------------------------------------------------------------------

class Topology:
    """sxc -- sxp (microsocks) -- sxt (HTTP target).  Call setup(), then teardown()."""

    def __init__(self, log_dir, microsocks, target_server, python, ipv6=False,
                 route_target=False):
        self.log_dir = Path(log_dir)
        self.ipv6 = ipv6
        self.route_target = route_target
        self.microsocks = microsocks
        self.target_server = target_server
        self.python = python
        self.procs = []
        self._created_etc_netns = False
        self._etc_dirs = []
        self._torn_down = False
        atexit.register(self.teardown)

    # setup ------------------------------------------------------------------

    def setup(self):
        self._remove_leftovers()
        try:
            self._write_etc()
            self._build_links()
            self._start_servers()
        except BaseException:
            self.teardown()
            raise
        return self

    def _remove_leftovers(self):
        # from an earlier run that was killed before its teardown
        for ns in ALL_NS:
            if ns_exists(ns):
                self._kill_ns_pids(ns)
                run([IP, "netns", "del", ns], timeout=10)
        for ifname in (CLIENT_IF, PROXY_IF_T):
            run([IP, "link", "del", ifname], timeout=10)  # fails harmlessly if absent

    def _write_etc(self):
        if not ETC_NETNS.exists():
            ETC_NETNS.mkdir(mode=0o755)
            self._created_etc_netns = True
        files = {
            CLIENT_NS: {"hosts": CLIENT_HOSTS, "resolv.conf": CLIENT_RESOLV},
            PROXY_NS: {"hosts": PROXY_HOSTS, "resolv.conf": OTHER_RESOLV},
            TARGET_NS: {"hosts": CLIENT_HOSTS, "resolv.conf": OTHER_RESOLV},
        }
        for ns, content in files.items():
            d = ETC_NETNS / ns
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(mode=0o755)
            self._etc_dirs.append(d)
            for name, text in content.items():
                (d / name).write_text(text)
                os.chmod(d / name, 0o644)

    def _sysctl(self, ns, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        run(in_ns(ns, ["sh", "-c", "echo %s > %s" % (value, path)]), timeout=10, check=True)

    def _build_links(self):
        for ns in ALL_NS:
            ip("netns", "add", ns)
        # no forwarding anywhere (this is also the default of a new namespace)
        for ns in ALL_NS:
            self._sysctl(ns, "net.ipv4.ip_forward", 0)
        ip("link", "add", CLIENT_IF, "type", "veth", "peer", "name", PROXY_IF_C)
        ip("link", "set", CLIENT_IF, "netns", CLIENT_NS)
        ip("link", "set", PROXY_IF_C, "netns", PROXY_NS)
        ip("link", "add", PROXY_IF_T, "type", "veth", "peer", "name", TARGET_IF)
        ip("link", "set", PROXY_IF_T, "netns", PROXY_NS)
        ip("link", "set", TARGET_IF, "netns", TARGET_NS)
        links = ((CLIENT_NS, CLIENT_IF, CLIENT_IP), (PROXY_NS, PROXY_IF_C, PROXY_IP),
                 (PROXY_NS, PROXY_IF_T, PROXY_OUT_IP), (TARGET_NS, TARGET_IF, TARGET_IP))
        addrs6 = dict(zip(links, (CLIENT_IP6, PROXY_IP6, PROXY_OUT_IP6, TARGET_IP6)))
        for link in links:
            ns, ifname, addr = link
            if self.ipv6:
                self._add_ipv6(ns, ifname, addrs6[link])
            else:
                # IPv4 only on the wire: no router solicitations, MLD or DAD noise
                self._sysctl(ns, "net.ipv6.conf.%s.disable_ipv6" % ifname, 1)
            ip("-n", ns, "addr", "add", addr + "/24", "dev", ifname)
            ip("-n", ns, "link", "set", ifname, "up")
        for ns in ALL_NS:
            ip("-n", ns, "link", "set", "lo", "up")
        # the unanswerable nameserver is "behind" the proxy host, which drops it
        ip("-n", CLIENT_NS, "route", "add", DEAD_DNS_IP + "/32", "via", PROXY_IP)
        # so is the target, when asked for: direct attempts show on the wire, go nowhere
        if self.route_target:
            ip("-n", CLIENT_NS, "route", "add", TARGET_IP + "/32", "via", PROXY_IP)
        if self.ipv6:
            self._sysctl(PROXY_NS, "net.ipv6.conf.all.forwarding", 0)
            ip("-n", CLIENT_NS, "-6", "route", "add", TARGET_IP6 + "/128", "via", PROXY_IP6)
        # make sure nobody has a default route (never route out)
        for ns in ALL_NS:
            for family in (["-4"], ["-6"]) if self.ipv6 else ([],):
                r = ip(*(["-n", ns] + family + ["route", "show", "default"]))
                if r.stdout.strip():
                    raise NetnsError("unexpected default route in %s: %s" % (ns, r.stdout))

    def _add_ipv6(self, ns, ifname, addr):
        """A static IPv6 address, no router advertisements or solicitations, no DAD wait."""
        for key, value in (("accept_ra", 0), ("router_solicitations", 0), ("accept_dad", 0),
                           ("autoconf", 0)):
            self._sysctl(ns, "net.ipv6.conf.%s.%s" % (ifname, key), value)
        ip("-n", ns, "-6", "addr", "add", addr + "/64", "dev", ifname, "nodad")

    def _start_servers(self):
        self.target = NsProcess(TARGET_NS, [self.python, self.target_server, "--listen",
                                            "%s:80" % TARGET_IP],
                                "target", self.log_dir, ready_line="READY")
        self.procs.append(self.target)
        if self.ipv6:
            self.target6 = NsProcess(TARGET_NS, [self.python, self.target_server, "--listen",
                                                 "[%s]:80" % TARGET_IP6],
                                     "target6", self.log_dir, ready_line="READY")
            self.procs.append(self.target6)
        self.proxy = NsProcess(PROXY_NS, [self.microsocks, "-i", PROXY_IP, "-p", str(PROXY_PORT)],
                               "microsocks", self.log_dir)
        self.procs.append(self.proxy)
        if not wait_tcp_in_ns(CLIENT_NS, PROXY_IP, PROXY_PORT, 10.0):
            raise NetnsError("microsocks not reachable from %s at %s:%d\nstderr: %s"
                             % (CLIENT_NS, PROXY_IP, PROXY_PORT, self.proxy.stderr_text()))

    # teardown ---------------------------------------------------------------

    def _kill_ns_pids(self, ns):
        """Kill the processes still inside one of *our* namespaces, by pid."""
        r = run([IP, "netns", "pids", ns], timeout=10)
        for tok in r.stdout.split():
            try:
                os.kill(int(tok), signal.SIGKILL)
            except (ValueError, ProcessLookupError, PermissionError):
                pass

    def teardown(self):
        if self._torn_down:
            return
        self._torn_down = True
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:
                pass
        for ns in ALL_NS:
            try:
                if ns_exists(ns):
                    self._kill_ns_pids(ns)
                    run([IP, "netns", "del", ns], timeout=10)
            except Exception:
                pass
        for d in self._etc_dirs:
            shutil.rmtree(d, ignore_errors=True)
        for ns in ALL_NS:  # also from an earlier, killed run
            shutil.rmtree(ETC_NETNS / ns, ignore_errors=True)
        if self._created_etc_netns:
            try:
                ETC_NETNS.rmdir()
            except OSError:
                pass


# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------

class Capture:
    """tcpdump on the client's veth, inside the client namespace, to a pcap file."""

    def __init__(self, log_dir, name="capture", ns=CLIENT_NS, ifname=CLIENT_IF):
        fd, path = tempfile.mkstemp(prefix=name + "-", suffix=".pcap", dir=str(log_dir))
        os.close(fd)
        self.path = Path(path)
        # -Z root: do not drop to the tcpdump user (it could not write our 0700 log dir);
        # --immediate-mode: hand each packet over at once (otherwise packets still in the
        # kernel's ring buffer are lost when tcpdump is stopped); -U: write each packet
        # at once; -s 0: whole packets
        self.proc = NsProcess(ns, [TCPDUMP, "-i", ifname, "-n", "--immediate-mode", "-U", "-s", "0",
                                   "-Z", "root",
                                   "-w", self.path],
                              name, log_dir, ready_line="listening on", ready_stream="stderr")
        self.packets = None

    def stop(self):
        """Stop tcpdump (it flushes on SIGINT) and parse the file."""
        if self.packets is not None:
            return self.packets
        time.sleep(0.3)  # let the last FIN/ACKs reach the wire
        self.proc.stop(sig=signal.SIGINT)
        self.packets = read_pcap(self.path)
        return self.packets

    def close(self):
        self.proc.stop(sig=signal.SIGINT)

    def stderr_text(self):
        return self.proc.stderr_text()


class Packet:
    """One captured frame, decoded as far as the tests need."""

    def __init__(self):
        self.kind = "other"  # arp, tcp, udp, icmp, ipv4, ipv6, other
        self.ethertype = None
        self.src = self.dst = None
        self.sport = self.dport = None
        self.flags = 0       # TCP flags
        self.proto = None

    @property
    def syn(self):
        return self.kind == "tcp" and (self.flags & 0x02) and not (self.flags & 0x10)

    def __str__(self):
        if self.kind in ("tcp", "udp"):
            return "%s %s:%s > %s:%s%s" % (self.kind, self.src, self.sport, self.dst, self.dport,
                                           " [S]" if self.syn else "")
        if self.kind == "arp":
            return "arp %s > %s" % (self.src, self.dst)
        return "%s ethertype=0x%04x proto=%s %s > %s" % (self.kind, self.ethertype or 0,
                                                         self.proto, self.src, self.dst)

    __repr__ = __str__


def read_pcap(path):
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise NetnsError("capture file %s is empty or truncated (%d bytes)" % (path, len(data)))
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise NetnsError("not a pcap file: %s (magic %r)" % (path, magic))
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise NetnsError("unexpected link type %d in %s (want Ethernet)" % (linktype, path))
    off = 24
    packets = []
    while off + 16 <= len(data):
        _sec, _frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        packets.append(_decode_ethernet(frame))
    return packets


def _decode_ethernet(frame):
    pkt = Packet()
    if len(frame) < 14:
        return pkt
    ethertype = struct.unpack("!H", frame[12:14])[0]
    body = frame[14:]
    while ethertype in (0x8100, 0x88a8) and len(body) >= 4:  # VLAN tags
        ethertype = struct.unpack("!H", body[2:4])[0]
        body = body[4:]
    pkt.ethertype = ethertype
    if ethertype == 0x0806 and len(body) >= 28:
        pkt.kind = "arp"
        pkt.src = str(ipaddress.IPv4Address(body[14:18]))
        pkt.dst = str(ipaddress.IPv4Address(body[24:28]))
    elif ethertype == 0x0800 and len(body) >= 20:
        ihl = (body[0] & 0x0F) * 4
        pkt.proto = body[9]
        pkt.src = str(ipaddress.IPv4Address(body[12:16]))
        pkt.dst = str(ipaddress.IPv4Address(body[16:20]))
        l4 = body[ihl:]
        if pkt.proto == 6 and len(l4) >= 14:
            pkt.kind = "tcp"
            pkt.sport, pkt.dport = struct.unpack("!HH", l4[:4])
            pkt.flags = l4[13]
        elif pkt.proto == 17 and len(l4) >= 4:
            pkt.kind = "udp"
            pkt.sport, pkt.dport = struct.unpack("!HH", l4[:4])
        elif pkt.proto == 1:
            pkt.kind = "icmp"
        else:
            pkt.kind = "ipv4"
    elif ethertype == 0x86DD and len(body) >= 40:
        pkt.kind = "ipv6"
        pkt.proto = body[6]
        pkt.src = str(ipaddress.IPv6Address(body[8:24]))
        pkt.dst = str(ipaddress.IPv6Address(body[24:40]))
        if pkt.proto in (6, 17) and len(body) >= 44:
            pkt.sport, pkt.dport = struct.unpack("!HH", body[40:44])
    return pkt


def is_allowed(pkt):
    """Only client<->proxy TCP on the proxy's port 1080, and ARP between the two."""
    pair = {CLIENT_IP, PROXY_IP}
    if pkt.kind == "arp":
        return {pkt.src, pkt.dst} <= pair
    if pkt.kind == "tcp":
        if {pkt.src, pkt.dst} != pair:
            return False
        if pkt.dst == PROXY_IP:
            return pkt.dport == PROXY_PORT
        return pkt.sport == PROXY_PORT
    return False


def leaks(packets):
    return [p for p in packets if not is_allowed(p)]


def proxy_syns(packets):
    """Connection attempts from the client to the proxy's SOCKS port."""
    return [p for p in packets if p.syn and p.src == CLIENT_IP and p.dst == PROXY_IP
            and p.dport == PROXY_PORT]


def dns_queries(packets):
    return [p for p in packets if p.kind in ("udp", "tcp") and p.dport == 53]
