"""libc semantics of the shim's resolver interposers (getaddrinfo, freeaddrinfo, getnameinfo,
gethostbyname*, gethostbyaddr*, res_query), checked by the C program
clients/resolver_semantics.c.

The program runs twice:

* plain (no preload): its checks state what glibc does, and it prints a canonical dump of
  every result for numeric input and for names from /etc/hosts;
* with LD_PRELOAD and SOCKSIFY_PROXY=socks5h://127.0.0.1:9 (nothing listens there; resolution
  never needs the proxy) plus --names: the same checks, the same dumps, and the checks of
  names resolved through the proxy (synthetic addresses, reverse lookups, ERANGE, threads,
  res_query refused).

For numeric input the dumps of the two runs must be identical line by line. Nothing here
sends a packet: numeric input and /etc/hosts never need DNS, and under the shim names get
synthetic addresses without asking anyone.

The tests with a custom /etc/hosts run the program in a private mount namespace (root and
unshare(1) needed, else skipped) with its own /etc/hosts and "hosts: files" in
/etc/nsswitch.conf, so not even the plain run can ask DNS.

Differences from glibc that are known are listed in KNOWN_* below; each has its own strict
xfail test, which starts failing (XPASS) once the shim is fixed: then remove the entry.

Environment: SOCKSIFY_LIB overrides the library (default .build/debug/libsocksify-preload.so).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CLIENTS, REPO, REQUIRE_SOCKSIFY, clean_env

PROGRAM = CLIENTS / "bin" / "resolver_semantics"
LIB = os.environ.get("SOCKSIFY_LIB") or str(REPO / ".build" / "debug" / "libsocksify-preload.so")
PROXY = "socks5h://127.0.0.1:9"
TIMEOUT = 120

# Checks of the --names run that fail because the shim differs from glibc (see the C program).
KNOWN_FAILING_CHECKS = {
    "names.shape.bad_hints":
        "contradictory hints (SOCK_STREAM + IPPROTO_UDP, ...) give EAI_SERVICE from the shim, EAI_SOCKTYPE from glibc",
    "names.shape.other_protocols":
        "SOCK_SEQPACKET/IPPROTO_SCTP, SOCK_DCCP, IPPROTO_UDPLITE hints: glibc answers, the shim fails",
    "names.shape.service_range":
        "numeric service > 65535: glibc keeps the low 16 bits, the shim says EAI_SERVICE",
}

# Dumps (names from the real /etc/hosts, answered by the shim itself) known to differ from glibc.
KNOWN_DUMP_DIFFERENCES = {
}

# The checks the valgrind run covers: every getaddrinfo/freeaddrinfo path of both kinds of list.
VALGRIND_CHECKS = "gai.*,names.gai.*,names.freeaddrinfo,names.shape.common,names.ghbn*,names.gni.synthetic,names.ghba*"
VALGRIND_SKIP = "names.ghbn_r.threads"


# --------------------------------------------------------------------------------------------
# running the program

class Run:
    def __init__(self, argv, completed):
        self.argv = argv
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.results = {}   # check name -> None (ok) or the failure text
        self.dumps = {}     # check name -> dump text
        for line in self.stdout.splitlines():
            if line.startswith("ok "):
                self.results[line[3:]] = None
            elif line.startswith("FAIL "):
                name, _, details = line[5:].partition(": ")
                self.results[name] = details
            elif line.startswith("dump "):
                name, _, text = line[5:].partition(": ")
                self.dumps[name] = text

    @property
    def failures(self):
        return {name: why for name, why in self.results.items() if why is not None}

    def __str__(self):
        return "command: %s\nexit: %s\n--- stdout (failures) ---\n%s\n--- stderr ---\n%s" % (
            " ".join(self.argv), self.returncode,
            "\n".join(l for l in self.stdout.splitlines() if not l.startswith(("ok ", "dump "))),
            self.stderr[-4000:])


def run_program(args=(), preload=False, env=None, prefix=(), timeout=TIMEOUT, lib=None):
    extra = dict(env or {})
    if preload:
        extra.update({"LD_PRELOAD": lib or LIB, "SOCKSIFY_PROXY": extra.get("SOCKSIFY_PROXY", PROXY),
                      "SOCKSIFY_QUIET": "1"})
    argv = [str(a) for a in list(prefix) + [PROGRAM] + list(args)]
    completed = subprocess.run(argv, env=clean_env(extra), stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, errors="replace", timeout=timeout)
    return Run(argv, completed)


@pytest.fixture(scope="module")
def program():
    if not shutil.which(os.environ.get("CC", "gcc")):
        pytest.skip("no C compiler to build clients/resolver_semantics.c")
    build = subprocess.run(["bash", str(CLIENTS / "build.sh")], capture_output=True, text=True, timeout=300)
    # build.sh goes on after a failed compile: check the binary itself
    source = CLIENTS / "resolver_semantics.c"
    if build.returncode != 0 or not PROGRAM.exists() or PROGRAM.stat().st_mtime < source.stat().st_mtime:
        pytest.fail("building resolver_semantics failed:\n%s\n%s" % (build.stdout, build.stderr))
    return PROGRAM


@pytest.fixture(scope="module")
def lib():
    if not (os.path.isfile(LIB) and os.access(LIB, os.R_OK)):
        message = "socksify library not built: missing %s (run `swift build`)" % LIB
        if REQUIRE_SOCKSIFY:
            pytest.fail(message)
        pytest.skip(message)
    return LIB


@pytest.fixture(scope="module")
def plain_run(program):
    return run_program()


@pytest.fixture(scope="module")
def shim_run(program, lib):
    return run_program(["--names", "--skip", ",".join(KNOWN_FAILING_CHECKS)], preload=True)


# --------------------------------------------------------------------------------------------
# the two runs

def test_plain_run_meets_glibc_expectations(plain_run):
    """Without the shim every check holds: the expectations are glibc's own behaviour."""
    assert plain_run.returncode == 0 and not plain_run.failures, plain_run
    assert len(plain_run.results) >= 100, plain_run
    assert not any(name.startswith("names.") for name in plain_run.results), "names checks ran without --names"


def test_preloaded_run_passes(shim_run):
    """Under the shim: the same checks, plus the names resolved through the proxy."""
    assert shim_run.returncode == 0 and not shim_run.failures, shim_run
    names = [name for name in shim_run.results if name.startswith("names.")]
    for expected in ("names.gai.inet.service", "names.gai.inet6.null_service", "names.gai.canonname",
                     "names.ghbn_r.erange", "names.ghbn_r.threads", "names.gni.synthetic", "names.gni.unknown",
                     "names.ghba.synthetic", "names.herrno.invalid_name", "names.res_query", "names.shape.common",
                     "names.freeaddrinfo"):
        assert expected in names, "%s did not run\n%s" % (expected, shim_run)


def test_numeric_results_equal_glibc(plain_run, shim_run):
    """For numeric input the shim's results are glibc's, line by line."""
    numeric = sorted(n for n in plain_run.dumps if ".hosts." not in n)
    assert len(numeric) >= 90, plain_run
    assert sorted(n for n in shim_run.dumps if ".hosts." not in n) == numeric
    differences = ["%s:\n  glibc: %s\n  shim:  %s" % (n, plain_run.dumps[n], shim_run.dumps[n])
                   for n in numeric if plain_run.dumps[n] != shim_run.dumps[n]]
    assert not differences, "\n".join(differences)


def localhost_on_an_ipv6_line():
    """Whether /etc/hosts lists localhost for ::1 too (Debian's default file does)."""
    try:
        lines = Path("/etc/hosts").read_text(errors="replace").splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and ":" in fields[0] and "localhost" in (f.lower() for f in fields[1:]):
            return True
    return False


def test_hosts_results_equal_glibc(plain_run, shim_run):
    """Names from /etc/hosts (localhost), which the shim answers itself under socks5h.

    With "::1 localhost" in the file glibc also answers AF_INET queries with 127.0.0.1 for that
    line (twice 127.0.0.1) and sorts ::1 first: then only the addresses and names are compared."""
    hosts = sorted(n for n in plain_run.dumps if ".hosts." in n)
    assert hosts, plain_run
    assert sorted(n for n in shim_run.dumps if ".hosts." in n) == hosts
    loose = localhost_on_an_ipv6_line()

    def same(name):
        a, b = plain_run.dumps[name], shim_run.dumps[name]
        if a == b:
            return True
        if not loose:
            return False
        if name.startswith("gai."):
            return gai_summary(a) == gai_summary(b)
        if name.startswith(("ghbn", "ghba")) and "name=" in a:
            return hostent_summary(a) == hostent_summary(b)
        return False

    differences = ["%s:\n  glibc: %s\n  shim:  %s" % (n, plain_run.dumps[n], shim_run.dumps[n])
                   for n in hosts if n not in KNOWN_DUMP_DIFFERENCES and not same(n)]
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize("name", sorted(KNOWN_FAILING_CHECKS))
def test_known_difference_from_glibc(name, program, lib):
    r = run_program(["--names", "--only", name], preload=True)
    assert name in r.results, r
    if r.results[name] is not None:
        pytest.xfail("%s: %s" % (KNOWN_FAILING_CHECKS[name], r.results[name][:600]))
    pytest.fail("%s passes now: remove it from KNOWN_FAILING_CHECKS" % name)


def test_checks_are_not_vacuous(program, lib):
    """With another IPv4 pool the pool checks must fail: they look at real addresses."""
    r = run_program(["--names", "--only", "names.gai.inet.service,names.ghbn"], preload=True,
                    env={"SOCKSIFY_DNS_POOL4": "10.64.0.0/16"})
    assert set(r.failures) == {"names.gai.inet.service", "names.ghbn"}, r


# --------------------------------------------------------------------------------------------
# freeaddrinfo under valgrind

def test_freeaddrinfo_under_valgrind(program, lib, tmp_path):
    """freeaddrinfo of the shim's lists and of glibc's: no invalid free, no definite leak."""
    valgrind = shutil.which("valgrind")
    objcopy = shutil.which("objcopy")
    if not valgrind or not objcopy:
        pytest.skip("valgrind or objcopy not installed")
    # valgrind 3.19 cannot read the DWARF lld writes (see Package.swift): use a copy without it
    stripped = tmp_path / "libsocksify-preload.so"
    subprocess.run([objcopy, "--strip-debug", LIB, str(stripped)], check=True, timeout=60)
    log = tmp_path / "valgrind.log"
    r = run_program(["--names", "--only", VALGRIND_CHECKS, "--skip", VALGRIND_SKIP], preload=True,
                    prefix=[valgrind, "--error-exitcode=9", "--leak-check=full", "--log-file=%s" % log],
                    lib=str(stripped), timeout=600)
    report = log.read_text(errors="replace") if log.exists() else ""
    assert r.returncode != 9, "valgrind found errors:\n%s" % report[-6000:]
    assert r.returncode == 0 and not r.failures, "%s\n%s" % (r, report[-3000:])
    assert "names.freeaddrinfo" in r.results, r
    assert "Invalid free" not in report and "Invalid read" not in report, report[-6000:]
    assert re.search(r"definitely lost: 0 bytes|no leaks are possible", report), report[-6000:]


# --------------------------------------------------------------------------------------------
# a custom /etc/hosts, in a private mount namespace

HOSTS_LINES = [
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost ip6-loopback",
    "10.0.0.5 nas.lan nas fileserver",
    "10.0.0.6 nas.lan",
    "2001:db8::5 nas.lan",
    "192.0.2.10 v4only.test   # a comment",
    "2001:db8::10\tv6only.test",
    "10.9.9.9 Mixed.Case.Test mixed",
] + ["10.1.0.%d many.test" % i for i in range(1, 21)] + [
    # one line of more than 3000 bytes: an answer bigger than the shim's gethostbyname buffer
    "10.2.0.1 aliases.test " + " ".join("alias-%02d-%s.aliases.test" % (i, "x" * 30) for i in range(60)),
]
# names whose answers the shim must give like glibc (same addresses per family, same name)
LOOKUP_NAMES = ["localhost", "nas", "nas.lan", "fileserver", "v4only.test", "v6only.test", "mixed.case.test",
                "MIXED", "aliases.test", "alias-05-%s.aliases.test" % ("x" * 30)]
REVERSE_ADDRESSES = ["10.0.0.5", "2001:db8::5", "::1", "10.9.9.9", "10.2.0.1", "192.0.2.10"]


@pytest.fixture(scope="module")
def namespace(tmp_path_factory, program):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("a custom /etc/hosts needs root and unshare(1) (a private mount namespace)")
    d = tmp_path_factory.mktemp("resolver-hosts")
    (d / "hosts").write_text("\n".join(HOSTS_LINES) + "\n")
    (d / "nsswitch.conf").write_text("hosts: files\n")
    prefix = ["unshare", "-m", "sh", "-c",
              'mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/nsswitch.conf" /etc/nsswitch.conf && exec "$@"',
              str(d)]
    probe = subprocess.run(prefix + ["cat", "/etc/hosts"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0 or "many.test" not in probe.stdout:
        pytest.skip("cannot bind-mount /etc/hosts in a mount namespace: %s" % probe.stderr.strip())
    return prefix


def lookup_runs(namespace, names, addresses=(), proxy=PROXY):
    args = ["--lookup", ",".join(names)]
    if addresses:
        args += ["--reverse", ",".join(addresses)]
    plain = run_program(args, prefix=namespace)
    shim = run_program(args, prefix=namespace, preload=True, env={"SOCKSIFY_PROXY": proxy})
    assert plain.returncode == 0, plain
    assert shim.returncode == 0, shim
    assert sorted(plain.dumps) == sorted(shim.dumps)
    return plain, shim


def gai_summary(text):
    """rc, the set of addresses and the canonical name (lower case) of a getaddrinfo dump."""
    rc = text.split()[0]
    addresses = sorted(set(re.findall(r" len\d+ (\[[^\]]*\]|[\d.]+):\d+", text)))
    canon = re.search(r"canon=(\S+)", text)
    return rc, addresses, canon.group(1).lower() if canon else None


def hostent_summary(text):
    if "(null)" in text and "name=" not in text:
        return ("no result", text.split()[0])
    name = re.search(r"name=(\S+)", text).group(1).lower()
    addrs = sorted(set(re.search(r"addrs=\[([^\]]*)\]", text).group(1).split(",")))
    kind = re.search(r"type=(\S+)", text).group(1)
    return (name, kind, addrs)


def test_custom_hosts_names_resolve_like_glibc(namespace, lib):
    """Under socks5h the shim answers /etc/hosts names itself: same addresses per family and
    the same canonical name as glibc (order, case, aliases and ai_flags aside)."""
    plain, shim = lookup_runs(namespace, LOOKUP_NAMES, REVERSE_ADDRESSES)
    differences = []
    for name in sorted(plain.dumps):
        a, b = plain.dumps[name], shim.dumps[name]
        if ".gai." in name:
            same = gai_summary(a) == gai_summary(b)
        elif name.endswith(".gni"):
            same = a.lower() == b.lower()
        else:
            same = hostent_summary(a) == hostent_summary(b)
        if not same:
            differences.append("%s:\n  glibc: %s\n  shim:  %s" % (name, a[:400], b[:400]))
    assert not differences, "\n".join(differences)


def test_custom_hosts_localhost_stays_local(namespace, lib):
    """Both localhost lines are found, in both families, without the proxy."""
    _, shim = lookup_runs(namespace, ["localhost"])
    assert gai_summary(shim.dumps["lookup.localhost.gai.unspec"])[1] == ["127.0.0.1", "[::1]"]
    assert gai_summary(shim.dumps["lookup.localhost.gai.inet6"])[1] == ["[::1]"]


@pytest.mark.xfail(strict=True, reason="the shim keeps at most SX_MAX_ADDRESSES (16) addresses of a name "
                                       "from /etc/hosts; glibc returns all of them")
def test_custom_hosts_all_addresses_of_a_name(namespace, lib):
    plain, shim = lookup_runs(namespace, ["many.test"])
    assert len(gai_summary(plain.dumps["lookup.many.test.gai.inet"])[1]) == 20
    assert gai_summary(shim.dumps["lookup.many.test.gai.inet"]) == gai_summary(plain.dumps["lookup.many.test.gai.inet"])


@pytest.mark.xfail(strict=True, reason="hostents the shim builds from /etc/hosts have no h_aliases; glibc lists "
                                       "the other names of the line")
def test_custom_hosts_aliases(namespace, lib):
    plain, shim = lookup_runs(namespace, ["nas"])
    assert "aliases=[nas,fileserver]" in plain.dumps["lookup.nas.ghbn"]
    assert shim.dumps["lookup.nas.ghbn"] == plain.dumps["lookup.nas.ghbn"]


@pytest.mark.xfail(strict=True, reason="names only on the ::1 line: glibc answers AF_INET queries with 127.0.0.1, "
                                       "the shim with EAI_NONAME / HOST_NOT_FOUND")
def test_custom_hosts_ipv6_localhost_alias_for_ipv4(namespace, lib):
    plain, shim = lookup_runs(namespace, ["ip6-localhost"])
    assert gai_summary(shim.dumps["lookup.ip6-localhost.gai.inet"]) == \
        gai_summary(plain.dumps["lookup.ip6-localhost.gai.inet"])


def test_large_answer_through_gethostbyname_socks5(namespace, lib):
    """socks5:// (names resolved locally): gethostbyname of a name with a 3 KB answer."""
    plain, shim = lookup_runs(namespace, ["aliases.test"], ["10.2.0.1"], proxy="socks5://127.0.0.1:9")
    for key in ("lookup.aliases.test.ghbn", "lookup.10.2.0.1.ghba"):
        assert plain.dumps[key].startswith("name=aliases.test"), plain
        assert shim.dumps[key] == plain.dumps[key]
