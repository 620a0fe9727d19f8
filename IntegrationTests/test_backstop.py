"""The kernel backstop, step 1 (docs/kernel-backstop.md): programs LD_PRELOAD cannot reach
(static, Go, 32-bit) run under a seccomp filter, and the launcher carries out their connects.

On loopback: a static busybox wget through microsocks and danted, a Go program built both ways
(CGO_ENABLED=0 and cgo) through microsocks, a Go program's own DNS lookups answered by socksify
(synthetic addresses for names the proxy resolves; forwarded to the program's nameserver, in a
private mount namespace, for names resolved locally; UDP, TCP, truncation, strict), static UDP
sends refused (or sent on loopback), io_uring and 32-bit socket calls refused, the exit status
and signals as the program's, and the switch that turns the backstop off.

In the network namespaces (root; netns.py's topology with route_target=True) with a capture on
the client's wire: the same programs reach the target through the proxy and nothing else leaves;
the negative controls run them without socksify and find their packets in the capture.

Run:  IntegrationTests/clients/build.sh &&
      flock /tmp/sx-netns.lock python3 -m pytest IntegrationTests/test_backstop.py -q
"""

import json
import os
import shutil
import subprocess

import pytest

import netns
from conftest import CLIENTS, DANTED_OUT, MICROSOCKS, MICROSOCKS_OUT, PROJECT_OUT, SERVERS, SOCKSIFY_BIN, clean_env, run

BUSYBOX = shutil.which("busybox")
GO = shutil.which("go")
GCC = shutil.which("gcc")

GO_GET = """package main
%s
import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
)

// Dials os.Args[1] (HOST:PORT; a name goes through Go's own resolver, with or without cgo),
// sends an HTTP request and prints the answer up to the target's "peer" line.
func main() {
	c, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Fprintf(c, "GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\\n')
		fmt.Print(line)
		if err != nil || strings.HasPrefix(line, "peer ") {
			break
		}
	}
	c.Close()
}
"""

I386_SOCKET = """
# socket(AF_INET, SOCK_STREAM, 0) through socketcall and int 0x80; exits with the errno, or 253
    .globl _start
    .text
_start:
    mov $102, %eax
    mov $1, %ebx
    lea args, %ecx
    int $0x80
    neg %eax
    mov %eax, %ebx
    mov $1, %eax
    int $0x80
    .data
args: .long 2, 1, 0
"""


def is_dynamic(path):
    return "program interpreter" in run(["readelf", "-lW", path]).stdout


@pytest.fixture(scope="module")
def static_busybox():
    if not BUSYBOX or is_dynamic(BUSYBOX):
        pytest.skip("no statically linked busybox (Debian: busybox-static)")
    return BUSYBOX


@pytest.fixture(scope="module")
def go_programs(tmp_path_factory):
    if not GO:
        pytest.skip("go not installed (Debian: golang-go)")
    folder = tmp_path_factory.mktemp("go-backstop")
    env = clean_env({"GOCACHE": folder / "cache", "GOPATH": folder / "path", "HOME": folder, "GO111MODULE": "off"})
    built = {}
    for name, cgo, source in [("cgo", "1", '// #include <unistd.h>\nimport "C"\n'), ("static", "0", "")]:
        (folder / (name + ".go")).write_text(GO_GET % source)
        env["CGO_ENABLED"] = cgo
        r = run([GO, "build", "-o", folder / name, folder / (name + ".go")], env=env, timeout=180)
        assert r.returncode == 0, r
        built[name] = str(folder / name)
    assert is_dynamic(built["cgo"]) and not is_dynamic(built["static"])
    return built


@pytest.fixture(scope="module")
def static_clients(tmp_path_factory):
    """udp_send, leak_probe and dns_sendto, linked statically: only the backstop sees their calls."""
    if not GCC:
        pytest.skip("gcc not installed")
    folder = tmp_path_factory.mktemp("static-clients")
    built = {}
    for name in ("udp_send", "leak_probe", "dns_sendto"):
        r = run([GCC, "-static", "-O2", "-o", folder / name, CLIENTS / (name + ".c")], timeout=120)
        if r.returncode != 0:
            pytest.skip("cannot link statically (glibc's static libraries missing?)\n%s" % r)
        built[name] = str(folder / name)
    return built


@pytest.fixture(scope="module")
def i386_program(tmp_path_factory):
    folder = tmp_path_factory.mktemp("i386")
    (folder / "s.s").write_text(I386_SOCKET)
    r = run(["as", "--32", "-o", folder / "s.o", folder / "s.s"])
    if r.returncode != 0:
        pytest.skip("cannot assemble 32-bit code: %s" % r.stderr)
    r = run(["ld", "-m", "elf_i386", "-o", folder / "s32", folder / "s.o"])
    assert r.returncode == 0, r
    if run([folder / "s32"]).returncode != 253:
        pytest.skip("this kernel runs no 32-bit programs")
    return str(folder / "s32")


def refusals(r):
    return [l for l in r.stderr.splitlines() if "refused" in l]


def assert_one_refusal(r, errno_name, *words):
    lines = refusals(r)
    assert len(lines) >= 1, r
    assert len(set(lines)) == 1, "one kind of refusal line expected\n%s" % r
    line = lines[0]
    assert line.startswith("socksify: ") and line.endswith("program sees %s" % errno_name), r
    for word in words:
        assert word in line, "%r does not say %r\n%s" % (line, word, r)


# --------------------------------------------------------------------------
# on loopback
# --------------------------------------------------------------------------

def test_static_busybox_wget_through_microsocks(socksify, microsocks, target, static_busybox):
    r = socksify.run([static_busybox, "wget", "-q", "-O", "-", target.url], proxy=microsocks.url(), verbose=True)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
    assert "busybox connect 127.0.0.1:%d via socks5" % target.port in r.stderr, r


def test_static_busybox_wget_through_danted(socksify, danted, target, static_busybox):
    r = socksify.run([static_busybox, "wget", "-q", "-O", "-", target.url], proxy=danted.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % DANTED_OUT, r


@pytest.mark.parametrize("kind", ["static", "cgo"])
def test_go_program_goes_through_the_proxy(socksify, microsocks, target, go_programs, kind):
    r = socksify.run([go_programs[kind], "127.0.0.1:%d" % target.port], proxy=microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout.endswith("peer %s\n" % MICROSOCKS_OUT), r


GO_PARALLEL = """package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// Dials os.Args[1] os.Args[2] times at once, each sending an HTTP request and reading the
// status line; prints how many answers came and the milliseconds it all took.
func main() {
	n, _ := strconv.Atoi(os.Args[2])
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", os.Args[1])
			if err != nil {
				fmt.Println("error", err)
				return
			}
			fmt.Fprintf(c, "GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
			line, _ := bufio.NewReader(c).ReadString('\\n')
			c.Close()
			if len(line) > 0 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println(ok, time.Since(start).Milliseconds())
}
"""


def test_go_parallel_dials_are_answered_at_the_same_time(socksify, socks_server, target, tmp_path):
    """Each stopped connect is answered on its own thread: six dials through a proxy that takes
    0.6 s per handshake finish in about one handshake, not six in a row (3.6 s)."""
    if not GO:
        pytest.skip("go not installed (Debian: golang-go)")
    env = clean_env({"GOCACHE": tmp_path / "cache", "GOPATH": tmp_path / "path", "HOME": tmp_path,
                     "GO111MODULE": "off", "CGO_ENABLED": "0"})
    (tmp_path / "parallel.go").write_text(GO_PARALLEL)
    r = run([GO, "build", "-o", tmp_path / "parallel", tmp_path / "parallel.go"], env=env, timeout=180)
    assert r.returncode == 0, r
    proxy = socks_server(mode="slow=0.3")  # 0.3 s before each of the two replies
    r = socksify.run([str(tmp_path / "parallel"), "127.0.0.1:%d" % target.port, "6"], proxy=proxy.url(), timeout=30)
    assert r.returncode == 0, r
    answered, ms = (int(x) for x in r.stdout.split()[-2:])
    assert answered == 6, r
    assert ms < 2400, "six handshakes of 0.6 s took %d ms: answered one after another?\n%s" % (ms, r)


def test_go_program_without_a_proxy_listening_fails_closed(socksify, go_programs, target):
    """The proxy is not there: the connect fails, it does not go direct."""
    r = socksify.run([go_programs["static"], "127.0.0.1:%d" % target.port], proxy="socks5://127.0.0.1:9")
    assert r.returncode == 1 and "peer" not in r.stdout, r
    assert "connection refused" in r.stdout, r


# --------------------------------------------------------------------------
# names: a program's own resolver (Go) asks socksify's responder, never the network
# --------------------------------------------------------------------------

ONLY_PROXY = "only-proxy.test"  # resolved by the project's test server alone


@pytest.fixture
def name_proxy(socks_server):
    return socks_server(extra_args=["--host", "%s=127.0.0.1" % ONLY_PROXY])


def proxy_hosts(proxy):
    return [e.get("host") for e in proxy.entries() if e.get("cmd") == 1]


@pytest.mark.parametrize("kind", ["static", "cgo"])
def test_go_names_are_resolved_by_the_proxy(socksify, name_proxy, target, go_programs, kind):
    """socks5h: Go's own lookup gets a synthetic address, and its connect reaches the proxy as
    the name (which only the proxy can resolve)."""
    r = socksify.run([go_programs[kind], "%s:%d" % (ONLY_PROXY, target.port)], proxy=name_proxy.url("socks5h"), verbose=True)
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % PROJECT_OUT), r
    assert "DNS query %s (A): 127." % ONLY_PROXY in r.stderr, r
    assert "DNS query %s (AAAA): no records" % ONLY_PROXY in r.stderr, r
    assert "connect %s:%d via socks5h" % (ONLY_PROXY, target.port) in r.stderr, r
    assert proxy_hosts(name_proxy) == [ONLY_PROXY], name_proxy.entries()
    assert not refusals(r), r


@pytest.mark.parametrize("kind", ["static", "cgo"])
def test_go_through_an_http_proxy_by_name(socksify, tinyproxy, target, go_programs, kind):
    """HTTP CONNECT from a held program: the supervisor makes the exchange, the name goes to
    tinyproxy (which alone resolves it)."""
    from conftest import HTTP_ONLY_NAME, TINYPROXY_OUT
    if not tinyproxy.names_known:
        pytest.skip("needs root and unshare to give tinyproxy its own /etc/hosts")
    r = socksify.run([go_programs[kind], "%s:%d" % (HTTP_ONLY_NAME, target.port)], proxy=tinyproxy.url(), verbose=True)
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % TINYPROXY_OUT), r
    assert "connect %s:%d via http" % (HTTP_ONLY_NAME, target.port) in r.stderr, r


def test_go_name_the_proxy_cannot_resolve_fails_there(socksify, name_proxy, target, go_programs):
    r = socksify.run([go_programs["static"], "nowhere.test:%d" % target.port], proxy=name_proxy.url("socks5h"))
    assert r.returncode == 1 and r.stdout.startswith("error dial tcp 127."), r
    assert "nowhere.test:%d via socks5h" % target.port in r.stderr and "program sees EHOSTUNREACH" in r.stderr, r
    assert proxy_hosts(name_proxy) == ["nowhere.test"], name_proxy.entries()


def test_static_sendto_query_is_answered_by_socksify(socksify, name_proxy, static_clients):
    """A query sent with sendto on an unconnected socket (musl's way): answered from the
    supervisor. 127.0.0.99 has no nameserver: an answer can only be socksify's."""
    r = socksify.run([static_clients["dns_sendto"], "127.0.0.99", ONLY_PROXY], proxy=name_proxy.url("socks5h"), verbose=True)
    assert r.returncode == 0 and r.stdout.startswith("rcode 0\n127."), r
    assert "sendto 127.0.0.99:53 (UDP): a DNS query; socksify answers it" in r.stderr, r
    r = socksify.run([static_clients["dns_sendto"], "127.0.0.99", "bad_name!.test"], proxy=name_proxy.url("socks5h"))
    assert r.stdout == "rcode 3\n", r


# The program's nameserver, in a private mount namespace whose /etc/resolv.conf names it (root).
NAMESERVER = "127.0.0.77"
LOCAL_ONLY = "local-only.test"  # resolved by that nameserver alone


@pytest.fixture
def nameserver(log_dir, tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare (a private /etc/resolv.conf, a nameserver on port 53)")
    from conftest import PYTHON, ManagedProcess

    def start(*extra):
        log = tmp_path / ("dns-%d.jsonl" % len(started))
        argv = [PYTHON, SERVERS / "dns_test_server.py", "--listen", "%s:53" % NAMESERVER,
                "--name", "%s=127.0.0.1" % LOCAL_ONLY, "--log", log] + list(extra)
        server = ManagedProcess(argv, "dns_test_server", log_dir, read_ready=True)
        server.queries = lambda: [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []
        started.append(server)
        return server

    started = []
    yield start
    for s in started:
        s.stop()


def with_resolv(tmp_path, options, argv):
    """argv in a mount namespace whose /etc/resolv.conf names NAMESERVER."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver %s\noptions timeout:2 attempts:1 %s\n" % (NAMESERVER, options))
    return ["unshare", "-m", "sh", "-c", 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"', "sh", str(resolv)] + [str(a) for a in argv]


def test_go_local_names_are_forwarded_to_the_programs_nameserver(socksify, name_proxy, target, go_programs, nameserver, tmp_path):
    """socks5 (names resolved locally): the query goes to the nameserver the program asked, its
    answer comes back, and the connect goes through the proxy."""
    dns = nameserver()
    argv = with_resolv(tmp_path, "", socksify.cmd([go_programs["static"], "%s:%d" % (LOCAL_ONLY, target.port)], proxy=name_proxy.url("socks5"), verbose=True))
    r = run(argv)
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % PROJECT_OUT), r
    assert {(q["transport"], q["name"]) for q in dns.queries()} == {("udp", LOCAL_ONLY)}, dns.queries()
    assert "DNS query %s (A): resolved locally" % LOCAL_ONLY in r.stderr, r
    assert proxy_hosts(name_proxy) == ["127.0.0.1"], name_proxy.entries()


def test_go_name_rules_match_after_a_forwarded_lookup(socksify, name_proxy, target, go_programs, nameserver, tmp_path):
    """The nameserver's answer is remembered, so a rule for the name matches the connect to the
    address it gave: direct here, where the default would go through the proxy."""
    dns = nameserver()
    rules = tmp_path / "rules.conf"
    rules.write_text("proxy p %s\nrule to %s direct\ndefault via p\n" % (name_proxy.url("socks5"), LOCAL_ONLY))
    argv = with_resolv(tmp_path, "", socksify.cmd([go_programs["static"], "%s:%d" % (LOCAL_ONLY, target.port)], verbose=True, options=["-c", rules]))
    r = run(argv)
    assert r.returncode == 0 and r.stdout.endswith("peer 127.0.0.1\n"), r
    assert "connect 127.0.0.1:%d direct" % target.port in r.stderr, r
    assert proxy_hosts(name_proxy) == [], name_proxy.entries()
    assert dns.queries(), "the lookup went to the nameserver"


def test_go_truncated_answer_is_retried_over_tcp(socksify, name_proxy, target, go_programs, nameserver, tmp_path):
    dns = nameserver("--truncate-udp")
    argv = with_resolv(tmp_path, "", socksify.cmd([go_programs["static"], "%s:%d" % (LOCAL_ONLY, target.port)], proxy=name_proxy.url("socks5"), verbose=True))
    r = run(argv)
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % PROJECT_OUT), r
    transports = {q["transport"] for q in dns.queries()}
    assert transports == {"udp", "tcp"}, dns.queries()
    assert "connect %s:53 (TCP): a DNS query; socksify answers it" % NAMESERVER in r.stderr, r


def test_go_names_over_tcp_go_to_the_proxy_too(socksify, name_proxy, target, go_programs, nameserver, tmp_path):
    """options use-vc: the queries come over TCP; a name the proxy resolves never reaches the
    nameserver that way either."""
    dns = nameserver()
    argv = with_resolv(tmp_path, "use-vc", socksify.cmd([go_programs["static"], "%s:%d" % (ONLY_PROXY, target.port)], proxy=name_proxy.url("socks5h"), verbose=True))
    r = run(argv)
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % PROJECT_OUT), r
    assert "connect %s:53 (TCP): a DNS query" % NAMESERVER in r.stderr, r
    assert dns.queries() == [], dns.queries()
    assert proxy_hosts(name_proxy) == [ONLY_PROXY], name_proxy.entries()


def test_go_strict_without_a_resolving_proxy_refuses_the_lookup(socksify, name_proxy, target, go_programs, nameserver, tmp_path):
    dns = nameserver()
    argv = with_resolv(tmp_path, "", socksify.cmd([go_programs["static"], "%s:%d" % (LOCAL_ONLY, target.port)], proxy=name_proxy.url("socks5"), options=["--strict"]))
    r = run(argv)
    assert r.returncode == 1 and "lookup %s" % LOCAL_ONLY in r.stdout, r
    assert "DNS query %s (A) refused: local DNS lookup refused in strict mode" % LOCAL_ONLY in r.stderr, r
    assert dns.queries() == [], dns.queries()


def test_go_without_socksify_asks_the_nameserver(go_programs, target, nameserver, tmp_path):
    """The control for the tests above: the same program and resolv.conf reach the nameserver."""
    dns = nameserver()
    r = run(with_resolv(tmp_path, "", [go_programs["static"], "%s:%d" % (ONLY_PROXY, target.port)]))
    assert r.returncode == 1, r
    assert {(q["transport"], q["name"]) for q in dns.queries()} == {("udp", ONLY_PROXY)}, dns.queries()


@pytest.mark.parametrize("op", ["sendto", "sendmsg", "sendmmsg"])
def test_static_udp_send_off_the_machine_is_refused(socksify, microsocks, static_clients, op):
    r = socksify.run([static_clients["udp_send"], op, "10.200.9.9", "9"], proxy=microsocks.url())
    assert r.returncode == 0 and r.stdout == "error EPERM\n", r
    assert_one_refusal(r, "EPERM", "udp_send %s 10.200.9.9:9 (UDP) refused" % op)


@pytest.mark.parametrize("op", ["sendto", "sendmsg", "sendmmsg"])
def test_static_udp_send_on_loopback_goes(socksify, microsocks, static_clients, op):
    """Loopback goes direct by the verdict: the call proceeds."""
    r = socksify.run([static_clients["udp_send"], op, "127.0.0.1", "9"], proxy=microsocks.url(), loopback=False)
    assert r.returncode == 0 and r.stdout in ("sent 9\n", "sent 1\n"), r
    assert not refusals(r), r


HELD_SOCKETS = {
    "inet-raw-icmp": (2, 3, 1, "raw and packet sockets bypass the proxy"),
    "inet6-raw-icmpv6": (10, 3 | 0o2000000, 58, "raw and packet sockets bypass the proxy"),
    "packet-raw": (17, 3, 0x0300, "raw and packet sockets bypass the proxy"),
    "vsock-stream": (40, 1, 0, "address family 40 is not carried by the proxy"),
}


@pytest.mark.parametrize("case", list(HELD_SOCKETS))
def test_a_held_programs_raw_packet_and_foreign_sockets_get_the_librarys_verdict(socksify, microsocks, static_clients, case):
    """The filter stops socket() for raw and packet sockets and families other than IP and
    local ones; the supervisor answers as the library's socket(): refused in strict mode, else
    allowed (raw and packet ones with a line)."""
    domain, type_, proto, why = HELD_SOCKETS[case]
    argv = [static_clients["leak_probe"], "socket", str(domain), str(type_), str(proto)]
    control = run(argv)
    if '"socket": "ok"' not in control.stdout:
        pytest.skip("the kernel refuses socket(%d, %d, %d) here: %s" % (domain, type_, proto, control.stdout.strip()))
    r = socksify.run(argv, proxy=microsocks.url(), options=["--strict"])
    assert '"socket": "EPERM"' in r.stdout, r
    assert_one_refusal(r, "EPERM", "socket(%d, %d) refused" % (domain, type_ & 0xF), "strict mode", why)
    r = socksify.run(argv, proxy=microsocks.url())
    assert '"socket": "ok"' in r.stdout, r
    if "raw" in why:
        assert "socket(%d, %d) allowed: %s (--strict refuses it)" % (domain, type_ & 0xF, why) in r.stderr, r


def test_an_ordinary_socket_of_a_held_program_never_stops(socksify, microsocks, static_clients):
    r = socksify.run([static_clients["leak_probe"], "socket", "2", "1", "0"], proxy=microsocks.url(), verbose=True,
                     options=["--strict"])
    assert '"socket": "ok"' in r.stdout and "socket(" not in r.stderr, r


def test_io_uring_is_refused(socksify, microsocks, static_clients):
    r = socksify.run([static_clients["leak_probe"], "io_uring"], proxy=microsocks.url())
    assert r.returncode == 0 and '"io_uring_setup": "EPERM"' in r.stdout, r
    assert_one_refusal(r, "EPERM", "io_uring_setup refused")


I386_GET = """
# An HTTP GET in 32-bit code, through socketcall and int 0x80: socket, connect to 127.0.0.1:PORT,
# write the request, copy the answer to stdout; exits with the errno of a failed call.
    .globl _start
    .text
_start:
    mov $102, %%eax
    mov $1, %%ebx
    lea sargs, %%ecx
    int $0x80
    test %%eax, %%eax
    js fail
    mov %%eax, fd
    mov %%eax, cargs
    mov $102, %%eax
    mov $3, %%ebx
    lea cargs, %%ecx
    int $0x80
    test %%eax, %%eax
    js fail
    mov $4, %%eax
    mov fd, %%ebx
    lea req, %%ecx
    mov $reqlen, %%edx
    int $0x80
copy:
    mov $3, %%eax
    mov fd, %%ebx
    lea buf, %%ecx
    mov $4096, %%edx
    int $0x80
    test %%eax, %%eax
    jle done
    mov %%eax, %%edx
    mov $4, %%eax
    mov $1, %%ebx
    lea buf, %%ecx
    int $0x80
    jmp copy
done:
    mov $1, %%eax
    xor %%ebx, %%ebx
    int $0x80
fail:
    neg %%eax
    mov %%eax, %%ebx
    mov $1, %%eax
    int $0x80
    .data
sargs: .long 2, 1, 0
cargs: .long 0, addr, 16
addr: .word 2
    .byte %d, %d
    .byte %d, %d, %d, %d
    .long 0, 0
req: .ascii "GET / HTTP/1.0\\r\\n\\r\\n"
    reqlen = . - req
fd: .long 0
    .bss
    .lcomm buf, 4096
"""


def build_i386_get(folder, ip, port):
    """Assembles I386_GET for ip:port into folder/get32."""
    (folder / "get.s").write_text(I386_GET % ((port >> 8, port & 0xFF) + tuple(int(b) for b in ip.split("."))))
    assert run(["as", "--32", "-o", folder / "get.o", folder / "get.s"]).returncode == 0
    assert run(["ld", "-m", "elf_i386", "-o", folder / "get32", folder / "get.o"]).returncode == 0
    return folder / "get32"


@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
def test_a_32_bit_program_goes_through_the_proxy(socksify, microsocks, target, i386_program, tmp_path, strict):
    """socketcall(SYS_CONNECT) from int 0x80, its arguments read as 32-bit words: carried. Its
    socketcall(SYS_SOCKET) stops too; under --strict the supervisor makes that socket itself and
    installs it in the program (SECCOMP_IOCTL_NOTIF_ADDFD), as the kernel would read the
    arguments again from memory another thread could change."""
    build_i386_get(tmp_path, "127.0.0.1", target.port)
    r = socksify.run([tmp_path / "get32"], proxy=microsocks.url(), verbose=True, options=["--strict"] if strict else [])
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % MICROSOCKS_OUT), r
    assert "get32 connect 127.0.0.1:%d via socks5" % target.port in r.stderr, r
    r = run([tmp_path / "get32"])
    assert r.returncode == 0 and r.stdout.endswith("peer 127.0.0.1\n"), "the control: direct without socksify\n%s" % r


def yama_allows_beside():
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            return f.read().strip() == "0"
    except OSError:
        return True


PLACEMENTS = ["beside", "parent"]


ASM_GET = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* connect(2) by the syscall instruction itself, as inline assembly: no libc function to
   interpose, so only a seccomp filter can see it. Then a plain HTTP GET; prints the body. */
static long raw_connect(int fd, const struct sockaddr *address, socklen_t length) {
    long ret;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_connect), "D"((long)fd), "S"(address), "d"((long)length), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

int main(int argc, char **argv) {
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    long rc = raw_connect(fd, (struct sockaddr *)&to, sizeof to);
    if (rc != 0) { printf("connect %ld\n", rc); return 1; }
    const char *request = "GET / HTTP/1.0\r\n\r\n";
    write(fd, request, strlen(request));
    char buffer[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
    buffer[total] = 0;
    char *body = strstr(buffer, "\r\n\r\n");
    fputs(body ? body + 4 : buffer, stdout);
    return 0;
}
"""


def test_strict_holds_an_inline_assembly_connect(socksify, microsocks, target, tmp_path):
    """A dynamic program that makes connect with the syscall instruction: the library cannot see
    it, the filter (under --strict) does. Without --strict it goes out directly (the limit)."""
    if not GCC:
        pytest.skip("gcc not installed")
    (tmp_path / "asm_get.c").write_text(ASM_GET)
    assert run([GCC, "-O2", "-o", tmp_path / "asm_get", tmp_path / "asm_get.c"]).returncode == 0
    argv = [tmp_path / "asm_get", "127.0.0.1", str(target.port)]
    r = socksify.run(argv, proxy=microsocks.url(), options=["--strict"])
    assert r.returncode == 0 and r.stdout.endswith("peer %s\n" % MICROSOCKS_OUT), r
    r = socksify.run(argv, proxy=microsocks.url())
    assert r.returncode == 0 and r.stdout.endswith("peer 127.0.0.1\n"), "the control: unseen without --strict\n%s" % r


RACING_SENDMSG = r"""
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* sendmsg on an unconnected UDP socket while a second thread flips msg_name between NULL and
   argv[1]:argv[2]: a check that let the kernel read the header again would let some out. */
static struct sockaddr_in to;
static struct msghdr message;
static volatile int done;

static void *flip(void *unused) {
    while (!done) {  /* volatile stores: each one reaches memory */
        *(volatile socklen_t *)&message.msg_namelen = sizeof to;
        *(void *volatile *)&message.msg_name = &to;
        for (volatile int i = 0; i < 50; i++) {}
        *(void *volatile *)&message.msg_name = NULL;
        *(volatile socklen_t *)&message.msg_namelen = 0;
        for (volatile int i = 0; i < 50; i++) {}
    }
    return unused;
}

int main(int argc, char **argv) {
    to.sin_family = AF_INET;
    to.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct iovec io = { .iov_base = "x", .iov_len = 1 };
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    pthread_t thread;
    pthread_create(&thread, NULL, flip, NULL);
    int sent = 0;
    for (int i = 0; i < atoi(argv[3]); i++) if (sendmsg(fd, &message, 0) == 1) sent++;
    done = 1;
    pthread_join(thread, NULL);
    printf("sent %d\n", sent);
    return 0;
}
"""


def test_a_name_added_by_another_thread_after_the_check_sends_nothing(socksify, microsocks, tmp_path):
    """A second thread writes msg_name after the supervisor read the header: the supervisor
    sends what it read (no name: EDESTADDRREQ) and nothing reaches the address, which the
    rules send through the proxy (--proxy-loopback) where UDP cannot go unconnected."""
    if not GCC:
        pytest.skip("gcc not installed")
    (tmp_path / "race.c").write_text(RACING_SENDMSG)
    r = run([GCC, "-static", "-O2", "-pthread", "-o", tmp_path / "race", tmp_path / "race.c"], timeout=120)
    if r.returncode != 0:
        pytest.skip("cannot link statically: %s" % r.stderr)
    import socket as so
    receiver = so.socket(so.AF_INET, so.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    port = receiver.getsockname()[1]
    try:
        r = socksify.run([tmp_path / "race", "127.0.0.1", str(port), "3000"], proxy=microsocks.url(), quiet=True,
                         options=["--strict"], timeout=120)
        assert r.returncode == 0 and r.stdout.startswith("sent "), r
        arrived = 0
        while True:
            try:
                receiver.recv(16)
                arrived += 1
            except BlockingIOError:
                break
        assert arrived == 0 and r.stdout == "sent 0\n", "%d datagrams left past the check\n%s" % (arrived, r)
    finally:
        receiver.close()


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_exit_status_and_signals_are_the_programs(socksify, microsocks, static_busybox, placement):
    env = {"SOCKSIFY_SUPERVISOR": placement}
    r = socksify.run([static_busybox, "sh", "-c", "exit 7"], proxy=microsocks.url(), env=env)
    assert r.returncode == 7, r
    r = socksify.run([static_busybox, "sh", "-c", "kill -TERM $$"], proxy=microsocks.url(), env=env)
    assert r.returncode == -15, r


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_both_placements_carry_a_connection(socksify, microsocks, target, static_busybox, placement):
    r = socksify.run([static_busybox, "wget", "-q", "-O", "-", target.url], proxy=microsocks.url(),
                     env={"SOCKSIFY_SUPERVISOR": placement})
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_the_program_keeps_the_launchers_pid_and_parent(socksify, microsocks, target, static_busybox):
    """Beside placement (no Yama, or ptrace_scope 0): the program is the process the caller
    started and its parent is the caller (the supervisor is a grandchild left to init)."""
    if not yama_allows_beside():
        pytest.skip("Yama ptrace_scope > 0: the supervisor is the program's parent here")
    script = "echo pid $$ ppid $PPID; %s wget -q -O - %s" % (static_busybox, target.url)
    p = subprocess.Popen(socksify.cmd([static_busybox, "sh", "-c", script], proxy=microsocks.url()),
                         env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, (out, err)
    lines = out.splitlines()
    assert lines[0] == "pid %d ppid %d" % (p.pid, os.getpid()), (out, err)
    assert lines[1:] == ["peer %s" % MICROSOCKS_OUT], (out, err)


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_supervisor_leaves_with_the_run(socksify, microsocks, static_busybox, placement):
    """No supervisor left behind once the program has exited; its output's reader sees the end."""
    p = subprocess.Popen(socksify.cmd([static_busybox, "sh", "-c", "echo $$"], proxy=microsocks.url()),
                         env=dict(clean_env(), SOCKSIFY_SUPERVISOR=placement),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 0, out
    import time
    deadline = time.time() + 5
    while time.time() < deadline:
        left = [d for d in os.listdir("/proc") if d.isdigit() and os.path.exists("/proc/%s/cmdline" % d)
                and _cmdline(d).startswith(SOCKSIFY_BIN) and "echo $$" in _cmdline(d)]
        if not left:
            break
        time.sleep(0.05)
    assert not left, "supervisor still running: %s" % left


@pytest.mark.parametrize("closed", ["<&-", ">&-"])
def test_a_program_started_with_stdin_or_stdout_closed_is_held(socksify, microsocks, target, static_busybox, tmp_path, closed):
    """The hand-over's socketpair must not take descriptor 0 or 1, which the supervisor points
    at /dev/null."""
    out = tmp_path / "out"
    cmd = " ".join("'%s'" % a for a in socksify.cmd([static_busybox, "wget", "-q", "-O", out, target.url], proxy=microsocks.url()))
    r = run(["bash", "-c", "%s %s" % (cmd, closed)])
    assert r.returncode == 0 and out.read_text() == "peer %s\n" % MICROSOCKS_OUT, r


def test_sigterm_to_the_programs_group_leaves_the_supervisor_answering(socksify, microsocks, target, static_busybox, tmp_path):
    """kill -- -PGID (timeout, a job's kill %1, systemd) reaches the program's group; the
    supervisor, in a session of its own, still answers the connect the program's handler makes."""
    if not yama_allows_beside():
        pytest.skip("the supervisor is the program's parent here")
    script = ("trap '%s wget -q -O - %s; exit 3' TERM; kill -TERM 0; sleep 5" % (static_busybox, target.url))
    r = run(["setsid", "-w"] + socksify.cmd([static_busybox, "sh", "-c", script], proxy=microsocks.url()))
    assert r.returncode == 3 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_the_programs_output_ends_with_it_while_a_held_child_lives_on(socksify, microsocks, static_busybox):
    """A background child of the run that closed its stdout and stderr keeps the filter alive;
    the supervisor lets go of the program's stderr when the program exits, so a reader of the
    output is not held until the child ends."""
    import time
    script = "(exec >&- 2>&-; sleep 4) & echo started"
    t0 = time.time()
    p = subprocess.run(socksify.cmd([static_busybox, "sh", "-c", script], proxy=microsocks.url()),
                       env=clean_env(), capture_output=True, text=True, timeout=20)
    assert p.returncode == 0 and p.stdout == "started\n", p
    assert time.time() - t0 < 3, "the output stayed open until the background child ended"


def test_as_a_pid_namespaces_init_the_supervisor_is_the_parent(socksify, microsocks, target, static_busybox):
    """Beside placement would leave the orphaned supervisor to the launcher (pid 1), as the
    program's child: there the supervisor stays the parent instead."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare")
    r = run(["unshare", "--fork", "--pid", "--mount-proc"] + socksify.cmd(
        [static_busybox, "sh", "-c", "echo pid $$; %s wget -q -O - %s" % (static_busybox, target.url)], proxy=microsocks.url()))
    assert r.returncode == 0 and r.stdout == "pid 2\npeer %s\n" % MICROSOCKS_OUT, r


def test_a_setuid_program_in_a_strict_shell_runs_unprivileged_with_the_library(socksify, microsocks, target, setuid_copies):
    """no_new_privs (the filter's condition) runs a setuid program without its privileges, so
    not in secure mode: the loader honours LD_PRELOAD and the library carries it, under the
    filter too. The control: without --strict the shell is not held, the setuid program runs
    in secure mode without the library, and its connection goes out directly (the leak
    --strict closes)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        pytest.skip("needs root and setpriv to run as another user")
    programs = setuid_copies("curl", "cat")
    script = ("%s -s %s; if %s /proc/self/maps | grep -q libsocksify-preload; then echo loaded; else echo absent; fi"
              % (programs["curl"], target.url, programs["cat"]))
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    r = run(nobody + socksify.cmd(["bash", "-c", script], proxy=microsocks.url(), options=["--strict"]), env=clean_env())
    assert r.returncode == 0 and r.stdout == "peer %s\nloaded\n" % MICROSOCKS_OUT, r
    r = run(nobody + socksify.cmd(["bash", "-c", script], proxy=microsocks.url()), env=clean_env())
    assert r.stdout == "peer 127.0.0.1\nabsent\n", "the control: secure mode, no library, direct\n%s" % r


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_sigterm_to_socksify_reaches_the_program(socksify, microsocks, static_busybox, placement):
    p = subprocess.Popen(socksify.cmd([static_busybox, "sleep", "30"], proxy=microsocks.url()),
                         env=dict(clean_env(), SOCKSIFY_SUPERVISOR=placement), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        import time
        time.sleep(0.5)
        p.terminate()
        assert p.wait(timeout=10) == -15
    finally:
        if p.poll() is None:
            p.kill()


def test_a_static_program_started_by_a_shim_program_is_held(socksify, microsocks, target, static_busybox):
    """sh (the library loads) runs static busybox: only the filter could see its connect."""
    r = socksify.run([static_busybox, "sh", "-c", "%s wget -q -O - %s" % (static_busybox, target.url)],
                     proxy=microsocks.url())
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_strict_holds_a_static_program_started_from_a_library_shell(socksify, microsocks, target, static_busybox):
    """--strict puts every program of the run under the filter: bash has the library, the
    static wget it starts is held by the backstop."""
    r = socksify.run(["bash", "-c", "%s wget -q -O - %s" % (static_busybox, target.url)],
                     proxy=microsocks.url(), verbose=True, options=["--strict"])
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
    assert "busybox connect 127.0.0.1:%d via socks5" % target.port in r.stderr, r


def test_strict_library_program_under_the_filter_still_goes_through_the_proxy(socksify, microsocks, target):
    """curl keeps the library's path; its connect to the proxy is the one the supervisor sees."""
    r = socksify.run(["curl", "-s", target.url], proxy=microsocks.url(), verbose=True, options=["--strict"])
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r
    assert "curl connect 127.0.0.1:%d direct (the proxy itself)" % microsocks.port in r.stderr, r
    assert "curl connect 127.0.0.1:%d via socks5" % target.port in r.stderr, r


def test_without_strict_a_library_shell_is_not_held(socksify, microsocks, target, static_busybox):
    """The documented limit: a program the library reaches is not put under the filter without
    --strict, so a static program it starts is not held (here, loopback, it connects directly)."""
    r = socksify.run(["bash", "-c", "%s wget -q -O - %s" % (static_busybox, target.url)], proxy=microsocks.url())
    assert r.returncode == 0 and r.stdout == "peer 127.0.0.1\n", r


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_backstop_can_be_switched_off(socksify, microsocks, static_busybox, tmp_path, how):
    flag = tmp_path / "ran"
    options = ["--no-backstop"] if how == "option" else []
    env = {"SOCKSIFY_NO_BACKSTOP": "1"} if how == "environment" else None
    r = socksify.run([static_busybox, "touch", flag], proxy=microsocks.url(), options=options, env=env)
    assert r.returncode == 126 and "statically linked" in r.stderr and "would bypass the proxy" in r.stderr, r
    assert not flag.exists(), r


def test_socksify_inside_a_supervised_run_uses_the_outer_one(socksify, microsocks, target, static_busybox):
    inner = " ".join(socksify.cmd([static_busybox, "wget", "-q", "-O", "-", target.url], proxy=microsocks.url()))
    r = socksify.run([static_busybox, "sh", "-c", inner], proxy=microsocks.url())
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


# --------------------------------------------------------------------------
# in the network namespaces, with a capture on the client's wire
# --------------------------------------------------------------------------

PY = "/usr/bin/python3"
PROXY5H = "socks5h://%s:%d" % (netns.PROXY_IP, netns.PROXY_PORT)
VIA = "peer %s" % netns.PROXY_OUT_IP
SENTINEL = ("import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            ".sendto(b'sentinel', (%r, 9))" % netns.DEAD_DNS_IP)


def is_sentinel(p):
    return p.kind == "udp" and p.dst == netns.DEAD_DNS_IP and p.dport == 9


@pytest.fixture(scope="module")
def topo(log_dir):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, veth pairs, tcpdump)")
    ok, reason = netns.netns_available()
    if not ok:
        pytest.skip(reason)
    for tool in (netns.TCPDUMP, MICROSOCKS, PY):
        if not os.access(tool, os.X_OK):
            pytest.skip("%s not installed" % tool)
    t = netns.Topology(log_dir, MICROSOCKS, SERVERS / "target_server.py", PY, route_target=True)
    try:
        t.setup()
        yield t
    finally:
        t.teardown()


@pytest.fixture
def wire(topo, log_dir):
    cap = netns.Capture(log_dir)
    seen = {}

    def packets():
        if "p" not in seen:
            netns.run(netns.in_ns(netns.CLIENT_NS, [PY, "-c", SENTINEL]), timeout=10, check=True)
            got = cap.stop()
            assert [p for p in got if is_sentinel(p)], "tcpdump was not capturing\n%s" % cap.stderr_text()
            seen["p"] = [p for p in got if not is_sentinel(p)]
        return seen["p"]

    try:
        yield packets
    finally:
        cap.close()


def in_client(argv, socksify=True, timeout=30):
    if socksify:
        argv = [SOCKSIFY_BIN, "-v", "-p", PROXY5H, "--"] + list(argv)
    return netns.run(netns.in_ns(netns.CLIENT_NS, [str(a) for a in argv]), timeout=timeout, env=clean_env())


def only_proxy(packets):
    """What is on the wire other than client <-> proxy:1080 and link housekeeping."""
    return netns.leaks(packets)


def describe(packets):
    return "\n".join(str(p) for p in packets[:40]) or "(none)"


def test_netns_static_busybox_wget_only_the_proxy_on_the_wire(wire, static_busybox):
    r = in_client([static_busybox, "wget", "-q", "-O", "-", "http://%s/" % netns.TARGET_IP])
    assert r.returncode == 0 and r.stdout == VIA + "\n", r
    packets = wire()
    assert not only_proxy(packets), "packets other than to the proxy:\n%s\n%s" % (describe(only_proxy(packets)), r)
    assert [p for p in packets if p.syn and p.dport == netns.PROXY_PORT], describe(packets)


def test_netns_go_static_only_the_proxy_on_the_wire(wire, go_programs):
    r = in_client([go_programs["static"], "%s:80" % netns.TARGET_IP])
    assert r.returncode == 0 and r.stdout.endswith(VIA + "\n"), r
    packets = wire()
    assert not only_proxy(packets), "packets other than to the proxy:\n%s\n%s" % (describe(only_proxy(packets)), r)


def test_netns_a_32_bit_program_only_the_proxy_on_the_wire(wire, i386_program, tmp_path):
    """int 0x80 socketcalls, held: the capture sees the proxy only."""
    program = build_i386_get(tmp_path, netns.TARGET_IP, 80)
    r = in_client([program])
    assert r.returncode == 0 and r.stdout.endswith(VIA + "\n"), r
    packets = wire()
    assert not only_proxy(packets), "packets other than to the proxy:\n%s\n%s" % (describe(only_proxy(packets)), r)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "control-without-strict"])
def test_netns_an_inline_assembly_connect_is_held_under_strict(wire, tmp_path, strict):
    """A dynamic program's syscall-instruction connect: under --strict only the proxy is on the
    wire; without it (the control, and the documented limit) its SYN to the target is seen."""
    if not GCC:
        pytest.skip("gcc not installed")
    (tmp_path / "asm_get.c").write_text(ASM_GET)
    assert run([GCC, "-O2", "-o", tmp_path / "asm_get", tmp_path / "asm_get.c"]).returncode == 0
    # without --strict the SYN goes out and nothing answers it there: `timeout` ends the wait
    r = in_client(["timeout", "5", SOCKSIFY_BIN] + (["--strict"] if strict else []) + ["-p", PROXY5H, "--",
                  tmp_path / "asm_get", netns.TARGET_IP, "80"], socksify=False)
    packets = wire()
    if strict:
        assert r.returncode == 0 and r.stdout.endswith(VIA + "\n"), r
        assert not only_proxy(packets), "packets other than to the proxy:\n%s\n%s" % (describe(only_proxy(packets)), r)
    else:
        assert [p for p in packets if p.syn and p.dst == netns.TARGET_IP and p.dport == 80], "%s\n%s" % (describe(packets), r)


@pytest.mark.parametrize("kind", ["static", "cgo"])
def test_netns_go_name_reaches_the_target_and_no_query_leaves(wire, go_programs, kind):
    """Go's own resolver: socksify answers it, the proxy resolves target.test (only it can),
    and the capture shows nothing but the proxy's connection: no DNS query to 10.200.9.9."""
    r = in_client([go_programs[kind], "%s:80" % netns.TARGET_NAME])
    assert r.returncode == 0 and r.stdout.endswith(VIA + "\n"), r
    assert "connect %s:80 via socks5h" % netns.TARGET_NAME in r.stderr, r
    packets = wire()
    assert not only_proxy(packets), "a DNS query (or anything) left:\n%s\n%s" % (describe(packets), r)


def test_netns_strict_shell_holds_what_it_starts(wire, static_busybox):
    r = in_client([SOCKSIFY_BIN, "--strict", "-p", PROXY5H, "--", "bash", "-c",
                   "%s wget -q -O - http://%s/" % (static_busybox, netns.TARGET_IP)], socksify=False)
    assert r.returncode == 0 and r.stdout == VIA + "\n", r
    packets = wire()
    assert not only_proxy(packets), "packets other than to the proxy:\n%s\n%s" % (describe(only_proxy(packets)), r)


def test_netns_without_strict_a_shell_lets_a_static_program_out(wire, static_busybox):
    """The control for the test above (and the documented limit): without --strict the wget
    started from bash is not held, and the capture sees its SYN to the target."""
    r = in_client([SOCKSIFY_BIN, "-p", PROXY5H, "--", "bash", "-c",
                   "timeout 3 %s wget -q -O - http://%s/" % (static_busybox, netns.TARGET_IP)], socksify=False)
    packets = wire()
    assert [p for p in packets if p.syn and p.dst == netns.TARGET_IP and p.dport == 80], "%s\n%s" % (describe(packets), r)


@pytest.fixture
def setuid_curl(setuid_copies):
    return setuid_copies("curl")["curl"]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "control-without-strict"])
def test_netns_a_setuid_program_in_a_strict_shell_does_not_leak(wire, setuid_curl, strict):
    """Run by nobody from a wrapped bash: under --strict only the proxy is on the wire; without
    it (the control) the setuid curl runs in secure mode, without the library, and its SYN to
    the target is in the capture."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv not installed")
    options = ["--strict"] if strict else []
    r = in_client([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", SOCKSIFY_BIN] + options +
                  ["-p", PROXY5H, "--", "bash", "-c", "%s -s -m 3 http://%s/" % (setuid_curl, netns.TARGET_IP)], socksify=False)
    packets = wire()
    if strict:
        assert r.returncode == 0 and r.stdout == VIA + "\n", r
        assert not only_proxy(packets), "packets other than to the proxy:\n%s\n%s" % (describe(only_proxy(packets)), r)
    else:
        assert [p for p in packets if p.syn and p.dst == netns.TARGET_IP and p.dport == 80], "%s\n%s" % (describe(packets), r)


def test_netns_static_udp_send_is_not_sent(wire, static_clients):
    r = in_client([static_clients["udp_send"], "sendto", netns.TARGET_IP, "7"])
    assert r.stdout == "error EPERM\n", r
    packets = wire()
    assert not [p for p in packets if p.dst == netns.TARGET_IP], describe(packets)


def test_netns_without_socksify_the_same_programs_leave_directly(wire, static_busybox, go_programs, static_clients):
    """The negative control: the capture sees what the tests above must not find."""
    runs = [
        in_client([static_busybox, "wget", "-q", "-T", "1", "-O", "-", "http://%s/" % netns.TARGET_IP], socksify=False),
        in_client(["timeout", "2", go_programs["static"], "%s:80" % netns.TARGET_IP], socksify=False),
        in_client([go_programs["static"], "%s:80" % netns.TARGET_NAME], socksify=False),
        in_client([static_clients["udp_send"], "sendto", netns.TARGET_IP, "7"], socksify=False),
    ]
    packets = wire()
    syns = [p for p in packets if p.syn and p.dst == netns.TARGET_IP and p.dport == 80]
    assert len(syns) >= 2, "%s\n%s" % (describe(packets), runs)
    assert [p for p in packets if p.kind == "udp" and p.dst == netns.DEAD_DNS_IP and p.dport == 53], describe(packets)
    assert [p for p in packets if p.kind == "udp" and p.dst == netns.TARGET_IP and p.dport == 7], describe(packets)
