"""UDP helpers: the UDP echo server used by test_udp.py, danted configured for UDP, and the
network-namespace topology of test_udp_leak.py (built from netns.py's helpers).

    sxuc (client) 10.200.1.1 --veth-- 10.200.1.2 sxup (danted) 10.200.2.1 --veth-- 10.200.2.2 sxut (target)

The namespaces and interfaces have names of their own (not netns.py's sxc/sxp/sxt), so this
topology and the one of test_dns_leak.py can exist at the same time.  No namespace has a
default route, forwarding is off everywhere and there is no NAT.  The client's only routes are
its /24 towards the proxy and one host route to the target *via the proxy host*, which drops
it (forwarding off): a direct datagram to the target therefore shows on the client's wire (so
a leak would be captured) but never arrives anywhere.

The target namespace runs a UDP echo server (10.200.2.2:7007, answers "from SRC:PORT|" +
data) and dnsmasq (10.200.2.2:53, target.test -> 10.200.2.2).  The proxy namespace runs danted
(10.200.1.2:1080, external 10.200.2.1) with UDP allowed; its /etc/hosts (from
/etc/netns/sxup/) maps target.test and udp.test to 10.200.2.2.
"""

import atexit
import os
import shutil
import signal
from pathlib import Path

import netns
from netns import (IP, NetnsError, NsProcess, in_ns, ip, ns_exists, run,  # noqa: F401
                   wait_tcp_in_ns)

DANTED = "/usr/sbin/danted"
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

# --------------------------------------------------------------------------
# the UDP echo server (python3 -c UDP_ECHO_SERVER HOST [PORT]; prints "READY <port>")
# --------------------------------------------------------------------------

UDP_ECHO_SERVER = r'''
import socket, sys
host = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((host, port))
print("READY %d" % s.getsockname()[1], flush=True)
while True:
    data, addr = s.recvfrom(65535)
    # the answer names the sender; a big datagram is answered with its length only
    body = data if len(data) <= 60000 else b"len=%d" % len(data)
    try:
        s.sendto(b"from %s:%d|" % (addr[0].encode(), addr[1]) + body, addr)
    except OSError:
        pass
'''


def danted_udp_conf(log, internal, port, external):
    """danted with UDP allowed (udpassociate + udpreply besides TCP's commands)."""
    return """\
logoutput: {log}
internal: {internal} port = {port}
external: {external}
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {{
  from: 0/0 to: 0/0
  log: error connect disconnect
}}
socks pass {{
  from: 0/0 to: 0/0
  command: bind connect udpassociate bindreply udpreply
  log: error connect disconnect
}}
""".format(log=log, internal=internal, port=port, external=external)


# --------------------------------------------------------------------------
# the topology
# --------------------------------------------------------------------------

CLIENT_NS = "sxuc"
PROXY_NS = "sxup"
TARGET_NS = "sxut"
ALL_NS = (CLIENT_NS, PROXY_NS, TARGET_NS)

CLIENT_IF = "sxuc-p"
PROXY_IF_C = "sxup-c"
PROXY_IF_T = "sxup-t"
TARGET_IF = "sxut-p"

CLIENT_IP = netns.CLIENT_IP          # 10.200.1.1
PROXY_IP = netns.PROXY_IP            # 10.200.1.2
PROXY_OUT_IP = netns.PROXY_OUT_IP    # 10.200.2.1: what the target sees
TARGET_IP = netns.TARGET_IP          # 10.200.2.2
DEAD_DNS_IP = netns.DEAD_DNS_IP      # 10.200.9.9: the client's nameserver, exists nowhere
PROXY_PORT = 1080
ECHO_PORT = 7007
TARGET_NAME = netns.TARGET_NAME      # target.test: dnsmasq answers it; the proxy's hosts too
UDP_NAME = "udp.test"                # only in the proxy's hosts file

ETC_NETNS = netns.ETC_NETNS
CLIENT_HOSTS = netns.CLIENT_HOSTS
CLIENT_RESOLV = netns.CLIENT_RESOLV
PROXY_HOSTS = "127.0.0.1 localhost\n%s %s %s\n" % (TARGET_IP, TARGET_NAME, UDP_NAME)
OTHER_RESOLV = netns.OTHER_RESOLV


class UdpTopology:
    """sxuc -- sxup (danted, UDP allowed) -- sxut (UDP echo + dnsmasq).  setup(), teardown()."""

    def __init__(self, log_dir, python):
        self.log_dir = Path(log_dir)
        self.python = python
        self.procs = []
        self._created_etc_netns = False
        self._torn_down = False
        self.danted_log = self.log_dir / "danted-netns-udp.log"
        atexit.register(self.teardown)

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
            for name, text in content.items():
                (d / name).write_text(text)
                os.chmod(d / name, 0o644)

    def _sysctl(self, ns, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        run(in_ns(ns, ["sh", "-c", "echo %s > %s" % (value, path)]), timeout=10, check=True)

    def _build_links(self):
        for ns in ALL_NS:
            ip("netns", "add", ns)
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
        for ns, ifname, addr in links:
            self._sysctl(ns, "net.ipv6.conf.%s.disable_ipv6" % ifname, 1)
            ip("-n", ns, "addr", "add", addr + "/24", "dev", ifname)
            ip("-n", ns, "link", "set", ifname, "up")
        for ns in ALL_NS:
            ip("-n", ns, "link", "set", "lo", "up")
        # Direct attempts (to the nameserver or the target) reach the client's wire, then the
        # proxy host drops them (no forwarding): visible to the capture, answered by nobody.
        ip("-n", CLIENT_NS, "route", "add", DEAD_DNS_IP + "/32", "via", PROXY_IP)
        ip("-n", CLIENT_NS, "route", "add", TARGET_IP + "/32", "via", PROXY_IP)
        for ns in ALL_NS:
            r = ip("-n", ns, "route", "show", "default")
            if r.stdout.strip():
                raise NetnsError("unexpected default route in %s: %s" % (ns, r.stdout))

    def _start_servers(self):
        self.echo = NsProcess(TARGET_NS, [self.python, "-c", UDP_ECHO_SERVER, TARGET_IP,
                                          str(ECHO_PORT)],
                              "udp-echo", self.log_dir, ready_line="READY")
        self.procs.append(self.echo)
        self.dns = NsProcess(TARGET_NS, [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts",
                                         "--conf-file=/dev/null", "--pid-file=",
                                         "--user=root", "--group=root",
                                         "--address=/%s/%s" % (TARGET_NAME, TARGET_IP),
                                         "--listen-address=%s" % TARGET_IP, "--bind-interfaces",
                                         "--port=53", "--log-queries", "--log-facility=-"],
                             "dnsmasq", self.log_dir, ready_line="started",
                             ready_stream="stderr")
        self.procs.append(self.dns)
        conf = self.log_dir / "danted-netns-udp.conf"
        conf.write_text(danted_udp_conf(self.danted_log, PROXY_IP, PROXY_PORT, PROXY_OUT_IP))
        self.proxy = NsProcess(PROXY_NS, [DANTED, "-f", conf], "danted-netns", self.log_dir)
        self.procs.append(self.proxy)
        if not wait_tcp_in_ns(CLIENT_NS, PROXY_IP, PROXY_PORT, 10.0):
            raise NetnsError("danted not reachable from %s at %s:%d\nstderr: %s\nlog: %s"
                             % (CLIENT_NS, PROXY_IP, PROXY_PORT, self.proxy.stderr_text(),
                                self.danted_log_text()))

    def danted_log_text(self):
        try:
            return self.danted_log.read_text(errors="replace")
        except OSError:
            return ""

    def _kill_ns_pids(self, ns):
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
        for ns in ALL_NS:
            shutil.rmtree(ETC_NETNS / ns, ignore_errors=True)
        if self._created_etc_netns:
            try:
                ETC_NETNS.rmdir()
            except OSError:
                pass


def capture(log_dir, name="udp-capture"):
    """tcpdump on the client's veth (netns.Capture with this topology's names)."""
    return netns.Capture(log_dir, name=name, ns=CLIENT_NS, ifname=CLIENT_IF)


def is_allowed(pkt, relay_ports):
    """TCP client<->proxy:1080, UDP client<->proxy:<a relay port socksify was given>, ARP."""
    pair = {CLIENT_IP, PROXY_IP}
    if pkt.kind == "arp":
        return {pkt.src, pkt.dst} <= pair
    if pkt.kind in ("tcp", "udp"):
        if {pkt.src, pkt.dst} != pair:
            return False
        proxy_port = pkt.dport if pkt.dst == PROXY_IP else pkt.sport
        if pkt.kind == "tcp":
            return proxy_port == PROXY_PORT
        return proxy_port in relay_ports
    return False


def leaks(packets, relay_ports):
    return [p for p in packets if not is_allowed(p, relay_ports)]


def relay_udp(packets, relay_ports):
    """Datagrams from the client to the proxy's relay."""
    return [p for p in packets if p.kind == "udp" and p.src == CLIENT_IP and p.dst == PROXY_IP
            and p.dport in relay_ports]


def proxy_syns(packets):
    return [p for p in packets if p.syn and p.src == CLIENT_IP and p.dst == PROXY_IP
            and p.dport == PROXY_PORT]
