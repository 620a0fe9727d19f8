"""The socksify launcher: argument handling, exit status, environment."""

import os
import re
import shutil
import struct
import tempfile

import pytest

from conftest import MICROSOCKS_OUT, SOCKSIFY_LIB, clean_env, curl_argv, dead_port, run

SH = shutil.which("sh") or "/bin/sh"


def harmless_lib():
    for cand in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
                 "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6",
                 "/lib64/libm.so.6", "/usr/lib64/libm.so.6"):
        if os.path.exists(cand):
            return cand
    pytest.skip("no libm.so.6 found to use as a harmless LD_PRELOAD library")


def proxy_url():
    # nothing needs to listen: these programs never open a socket
    return "socks5://127.0.0.1:%d" % dead_port()


@pytest.mark.parametrize("status", [0, 1, 7, 42, 255])
def test_exit_status_passthrough(socksify, status):
    r = socksify.run([SH, "-c", "exit %d" % status], proxy=proxy_url())
    assert r.returncode == status, r


def test_signal_death_passthrough(socksify):
    """socksify execs the program, so a signal kills the program itself."""
    r = socksify.run([SH, "-c", "kill -TERM $$"], proxy=proxy_url())
    assert r.returncode in (-15, 128 + 15), r


def test_missing_program(socksify):
    r = socksify.run(["/nonexistent/definitely-not-a-program"], proxy=proxy_url())
    assert r.returncode == 127, r
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r
    assert "definitely-not-a-program" in lines[0], r
    assert r.stdout == "", r


def test_version(socksify):
    r = run([socksify.bin, "--version"])
    assert r.returncode == 0 and r.stdout.startswith("socksify "), r


SUBCOMMANDS = ["check", "explain", "doctor", "on", "off"]


def test_help_lists_the_subcommands_as_subcommands(socksify):
    r = run([socksify.bin, "--help"])
    assert r.returncode == 0, r
    listed = r.stdout.split("SUBCOMMANDS:")[1]
    for name in SUBCOMMANDS:
        assert "\n  %s " % name in listed, (name, r.stdout)


@pytest.mark.parametrize("name", SUBCOMMANDS)
@pytest.mark.parametrize("how", ["--help", "-h", "help"])
def test_each_subcommand_has_its_own_help(socksify, name, how):
    argv = [socksify.bin, "help", name] if how == "help" else [socksify.bin, name, how]
    r = run(argv)
    assert r.returncode == 0 and r.stdout.startswith("OVERVIEW: "), r
    assert "USAGE: socksify %s" % name in r.stdout, r


def test_a_program_named_like_a_subcommand_runs_after_the_separator(socksify, tmp_path):
    (tmp_path / "check").write_text("#!/bin/sh\necho ran check\n")
    (tmp_path / "check").chmod(0o755)
    r = socksify.run([tmp_path / "check"], proxy=proxy_url())
    assert r.returncode == 0 and r.stdout == "ran check\n", r


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_log_file_keeps_the_decisions_of_a_program_without_stderr(socksify, microsocks, target, tmp_path, how):
    """--log FILE (or SOCKSIFY_LOG): every decision line, with the process id, even from a
    program that closed its stderr; nothing on stderr without -v."""
    log = tmp_path / "socksify.log"
    script = "exec 2>&-; curl -s -o /dev/null %s; curl -s -o /dev/null http://127.0.0.1:%d/" % (target.url, dead_port())
    if how == "option":
        r = socksify.run(["sh", "-c", script], proxy=microsocks.url(), options=["--log", log])
    else:
        r = socksify.run(["sh", "-c", script], proxy=microsocks.url(), env={"SOCKSIFY_LOG": str(log)})
    assert r.stderr == "", r
    lines = log.read_text().splitlines()
    assert any(re.match(r"socksify\[\d+\]: curl connect 127.0.0.1:%d via socks5 .* ok " % target.port, l) for l in lines), lines
    assert any("failed:" in l and "program sees ECONNREFUSED" in l for l in lines), lines
    assert oct(os.stat(log).st_mode & 0o777) == "0o600", "the log may hold host names: the user's alone"


def test_shell_mode_on_and_off(socksify, microsocks, target):
    """eval "$(socksify on -p URL)" carries what the shell starts; eval "$(socksify off)" undoes it."""
    script = ('eval "$(%s on -p %s --proxy-loopback)"; curl -s %s; eval "$(%s off)"; curl -s %s; '
              'env | grep -c "^SOCKSIFY_\\|^LD_PRELOAD=" || true') % (socksify.bin, microsocks.url(), target.url, socksify.bin, target.url)
    r = run(["bash", "-c", script], env=clean_env())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\npeer 127.0.0.1\n0\n" % MICROSOCKS_OUT, r


def test_shell_mode_keeps_the_users_own_preload(socksify, microsocks):
    other = "/usr/lib/x86_64-linux-gnu/libm.so.6"
    r = run(["bash", "-c", 'eval "$(%s on -p %s)"; eval "$(%s off)"; echo "$LD_PRELOAD"' % (socksify.bin, microsocks.url(), socksify.bin)],
            env=clean_env({"LD_PRELOAD": other}))
    assert r.returncode == 0 and r.stdout == other + "\n", r


def test_shell_mode_for_fish_prints_fish(socksify, microsocks):
    r = run([socksify.bin, "on", "-p", microsocks.url(), "--shell", "fish"])
    assert r.returncode == 0 and "set -gx SOCKSIFY_PROXY '%s'" % microsocks.url() in r.stdout, r
    assert "set -gx LD_PRELOAD" in r.stdout, r


def test_missing_program_in_path(socksify):
    r = socksify.run(["no-such-program-socksify-test"], proxy=proxy_url())
    assert r.returncode == 127, r
    assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1:1080",
    "https://127.0.0.1:1080",
    "socks5://",
    "socks5://127.0.0.1:99999",
    "socks5://127.0.0.1:notaport",
    "not a url",
    "socks5://[::1:1080",
])
def test_bad_proxy_url(socksify, url):
    r = socksify.run([SH, "-c", "echo ran"], proxy=url)
    assert r.returncode != 0, r
    assert "ran" not in r.stdout, r
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) >= 1, r
    assert url in r.stderr, r


def test_no_program(socksify):
    r = run([socksify.bin, "-p", proxy_url()], env=clean_env())
    assert r.returncode != 0, r


def test_stdout_untouched(socksify):
    r = socksify.run(["echo", "hi"], proxy=proxy_url())
    assert r.returncode == 0, r
    assert r.stdout == "hi\n", r


def test_stdout_untouched_verbose(socksify, microsocks, target):
    r = socksify.run(["echo", "hi"], proxy=microsocks.url(), verbose=True)
    assert r.returncode == 0, r
    assert r.stdout == "hi\n", r
    # and a proxied program's stdout is only its own output, even with -v
    r = socksify.run(curl_argv(target.url), proxy=microsocks.url(), verbose=True)
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_arguments_passed_verbatim(socksify):
    args = ["a b", "", "--", "-v", "$HOME", "*"]
    r = socksify.run(["printf", "[%s]\\n"] + args, proxy=proxy_url())
    assert r.returncode == 0, r
    assert r.stdout == "".join("[%s]\n" % a for a in args), r


def test_proxy_from_environment(socksify, microsocks, target):
    r = socksify.run(curl_argv(target.url), proxy=None,
                     env={"SOCKSIFY_PROXY": microsocks.url()})
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_option_overrides_environment(socksify, microsocks, target):
    r = socksify.run(curl_argv(target.url), proxy=microsocks.url(),
                     env={"SOCKSIFY_PROXY": proxy_url()})
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_long_options(socksify, microsocks, target):
    argv = [socksify.bin, "--proxy", microsocks.url(), "--proxy-loopback", "--verbose",
            "--connect-timeout", "5", "--handshake-timeout", "5", "--"] + curl_argv(target.url)
    r = run(argv, env=clean_env())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_program_without_double_dash(socksify, microsocks, target):
    argv = [socksify.bin, "-p", microsocks.url(), "--proxy-loopback"] + curl_argv(target.url)
    r = run(argv, env=clean_env())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_user_ld_preload_kept(socksify):
    lib = harmless_lib()
    r = socksify.run([SH, "-c", 'echo "$LD_PRELOAD"'], proxy=proxy_url(),
                     env={"LD_PRELOAD": lib})
    assert r.returncode == 0, r
    value = r.stdout.strip()
    assert lib in value, r
    assert "libsocksify" in value, r
    # the loader found both (no "cannot be preloaded" complaint)
    assert "cannot be preloaded" not in r.stderr, r


def test_ld_preload_set_for_program(socksify):
    r = socksify.run([SH, "-c", 'echo "$LD_PRELOAD"'], proxy=proxy_url())
    assert r.returncode == 0, r
    assert "libsocksify" in r.stdout, r
    assert "cannot be preloaded" not in r.stderr, r


def test_children_of_program_are_socksified(socksify, microsocks, target):
    """sh -> curl: the grandchild inherits the preload and the settings."""
    curl = " ".join("'%s'" % a for a in curl_argv(target.url))
    r = socksify.run([SH, "-c", curl], proxy=microsocks.url())
    assert r.returncode == 0, r
    assert r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


# --------------------------------------------------------------------------
# programs LD_PRELOAD cannot reach: held by the kernel backstop (test_backstop.py), or refused
# with the reason and never run (setuid, capabilities, other machines, or the backstop off)
# --------------------------------------------------------------------------

BUSYBOX = shutil.which("busybox")
SETPRIV = shutil.which("setpriv")
SETCAP = shutil.which("setcap")
GO = shutil.which("go")


def is_dynamic(path):
    """A PT_INTERP program header: the dynamic loader runs first."""
    return "program interpreter" in run(["readelf", "-lW", path]).stdout


def static_busybox():
    if not BUSYBOX or is_dynamic(BUSYBOX):
        pytest.skip("no statically linked busybox (Debian: busybox-static)")


def assert_refused(r, *words, flag=None):
    """Exit 126, one line on stderr naming the reason, nothing run."""
    assert r.returncode == 126, r
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r
    assert lines[0].startswith("socksify: "), r
    assert "would bypass the proxy" in lines[0], r
    for word in words:
        assert word in lines[0], r
    assert r.stdout == "", r
    if flag is not None:
        assert not os.path.exists(flag), "the program must not have run\n%s" % r


@pytest.fixture
def shared_dir():
    """A folder another user can use (pytest's tmp_path is root's alone)."""
    path = tempfile.mkdtemp(prefix="socksify-launcher-")
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def elf_header(is64, big_endian, machine, interpreter):
    """An ELF header and one program header: all the launcher reads. PT_INTERP makes it a
    dynamically linked program, PT_LOAD alone a static one."""
    order = ">" if big_endian else "<"
    data = b"/lib/ld-linux.so.2\0" if interpreter else b""
    p_type = 3 if interpreter else 1
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if big_endian else 1, 1]) + bytes(9)
    if is64:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", 2, machine, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
        program = struct.pack(order + "IIQQQQQQ", p_type, 4, 120, 0, 0, len(data), len(data), 1)
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", 2, machine, 1, 0, 52, 0, 0, 52, 32, 1, 40, 0, 0)
        program = struct.pack(order + "IIIIIIII", p_type, 84, 0, 0, len(data), len(data), 4, 1)
    return header + program + data


@pytest.mark.parametrize("interpreter", [True, False], ids=["dynamic", "static"])
def test_refuses_a_32_bit_program_for_another_machine(socksify, tmp_path, interpreter):
    """32-bit ARM: the 64-bit library cannot load into it (the loader says "wrong ELF class" and
    goes on), and only an emulator would run it, whose calls the kernel backstop cannot judge."""
    program = tmp_path / "prog32"
    program.write_bytes(elf_header(False, False, 40, interpreter))
    program.chmod(0o755)
    assert_refused(socksify.run([program], proxy=proxy_url()), str(program), "32-bit", "64-bit socksify library")


@pytest.mark.parametrize("interpreter", [True, False], ids=["dynamic", "static"])
def test_an_i386_program_goes_to_the_kernel_backstop(socksify, tmp_path, interpreter):
    """i386 runs natively on x86-64: held by the backstop (test_backstop.py runs a real one).
    This header alone cannot run: it fails (or crashes) as it does without socksify."""
    if os.uname().machine != "x86_64":
        pytest.skip("the backstop is x86-64 only")
    program = tmp_path / "prog32"
    program.write_bytes(elf_header(False, False, 3, interpreter))
    program.chmod(0o755)
    try:
        direct = run([program]).returncode
    except FileNotFoundError:  # its interpreter (/lib/ld-linux.so.2) is not here: a shell says 127
        direct = 127
    r = socksify.run([program], proxy=proxy_url())
    assert r.returncode == direct, "%s\n\nwithout socksify: %s" % (r, direct)
    assert "would bypass the proxy" not in r.stderr, r


@pytest.mark.parametrize("big_endian, machine", [(True, 22), (False, 243), (True, 62)], ids=["s390x", "riscv64", "x86-64-big-endian"])
def test_refuses_a_program_for_another_machine(socksify, tmp_path, big_endian, machine):
    if not big_endian and os.uname().machine == "riscv64":
        pytest.skip("RISC-V is this machine")
    program = tmp_path / "foreign"
    program.write_bytes(elf_header(True, big_endian, machine, True))
    program.chmod(0o755)
    assert_refused(socksify.run([program], proxy=proxy_url()), str(program), "another machine")


def test_runs_a_static_program_under_the_kernel_backstop(socksify, tmp_path):
    static_busybox()
    flag = tmp_path / "ran"
    r = socksify.run([BUSYBOX, "touch", flag], proxy=proxy_url())
    assert r.returncode == 0 and flag.exists(), r


def test_refuses_a_static_program_with_the_backstop_off(socksify, tmp_path):
    static_busybox()
    flag = tmp_path / "ran"
    r = socksify.run([BUSYBOX, "touch", flag], proxy=proxy_url(), options=["--no-backstop"])
    assert_refused(r, "statically linked", flag=flag)


@pytest.mark.parametrize("shebang", ["#!{busybox} sh", "#!/usr/bin/env busybox sh", "#!/usr/bin/env -S busybox sh -e", "nested"])
def test_a_script_whose_interpreter_is_static_runs_under_the_backstop(socksify, tmp_path, shebang):
    static_busybox()
    flag = tmp_path / "ran"
    if shebang == "nested":
        # a script run by a script run by busybox: the kernel follows both
        inner = write_script(tmp_path / "inner", "#!%s sh\n" % BUSYBOX)
        shebang = "#!%s" % inner
    script = write_script(tmp_path / "script", shebang.format(busybox=BUSYBOX) + "\ntouch '%s'\n" % flag)
    env = {"PATH": os.path.dirname(BUSYBOX) + ":/usr/bin:/bin"}
    # as without socksify (two of these shebangs do not run the script's body anyway)
    direct = run([script], env=clean_env(env))
    ran = flag.exists()
    if ran:
        os.unlink(flag)
    r = socksify.run([script], proxy=proxy_url(), env=env)
    assert r.returncode == direct.returncode and flag.exists() == ran, "%s\n\nwithout socksify:\n%s" % (r, direct)
    assert "would bypass the proxy" not in r.stderr, r
    # with the backstop off, the launcher still names the interpreter
    if flag.exists():
        os.unlink(flag)
    r = socksify.run([script], proxy=proxy_url(), env=dict(env, SOCKSIFY_NO_BACKSTOP="1"))
    assert_refused(r, "%s runs under " % script, "busybox, which is statically linked", flag=flag)


@pytest.mark.parametrize("shebang", ["#!%s" % SH, "#!/usr/bin/env sh", "#!/usr/bin/env -S sh -e"])
def test_runs_a_script_whose_interpreter_is_reachable(socksify, tmp_path, shebang):
    flag = tmp_path / "ran"
    script = write_script(tmp_path / "script", shebang + "\necho \"$LD_PRELOAD\"; touch '%s'\n" % flag)
    r = socksify.run([script], proxy=proxy_url())
    assert r.returncode == 0, r
    assert "libsocksify" in r.stdout and flag.exists(), r


def capability_copy(folder):
    """A copy of cat with a file capability: it prints /proc/self/maps, so whether the library
    was loaded into it shows."""
    if not SETCAP:
        pytest.skip("setcap not installed (Debian: libcap2-bin)")
    program = os.path.join(folder, "capcat")
    shutil.copy(shutil.which("cat"), program)
    os.chmod(program, 0o755)
    r = run([SETCAP, "cap_net_raw+ep", program])
    if r.returncode != 0:
        pytest.skip("cannot set file capabilities here: %s" % r.stderr.strip())
    return program


def as_nobody(argv):
    if os.geteuid() != 0 or not SETPRIV:
        pytest.skip("needs root and setpriv to run as another user")
    return [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"] + [str(a) for a in argv]


def test_refuses_a_program_with_file_capabilities(socksify, shared_dir):
    """For anyone but root, the kernel runs it in secure mode: LD_PRELOAD is ignored."""
    program = capability_copy(shared_dir)
    r = run(as_nobody(socksify.cmd([program, "/proc/self/maps"], proxy=proxy_url())), env=clean_env())
    assert_refused(r, program, "has file capabilities", "secure mode")


def test_root_runs_a_program_with_file_capabilities(socksify, shared_dir):
    """For root the kernel grants file capabilities without secure mode: the library loads."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    program = capability_copy(shared_dir)
    r = socksify.run([program, "/proc/self/maps"], proxy=proxy_url())
    assert r.returncode == 0, r
    assert "libsocksify-preload.so" in r.stdout, r


def test_setid_decides_by_who_runs_it(socksify, shared_dir):
    """Secure mode comes when the effective user or group differs from the real one."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    cat = shutil.which("cat")
    setgid = os.path.join(shared_dir, "setgid-cat")
    shutil.copy(cat, setgid)
    os.chown(setgid, 0, 65534)
    os.chmod(setgid, 0o2755)
    assert_refused(socksify.run([setgid, "/proc/self/maps"], proxy=proxy_url()), setgid, "setuid/setgid")
    setuid_root = os.path.join(shared_dir, "setuid-cat")
    shutil.copy(cat, setuid_root)
    os.chmod(setuid_root, 0o4755)
    r = socksify.run([setuid_root, "/proc/self/maps"], proxy=proxy_url())
    assert r.returncode == 0 and "libsocksify-preload.so" in r.stdout, r  # root running root's setuid
    r = run(as_nobody(socksify.cmd([setuid_root, "/proc/self/maps"], proxy=proxy_url())), env=clean_env())
    assert_refused(r, setuid_root, "setuid/setgid")


GO_DIAL = """package main
%s
import (
	"fmt"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	c.Close()
	fmt.Println("connected")
}
"""


@pytest.fixture(scope="module")
def go_programs(tmp_path_factory):
    if not GO:
        pytest.skip("go not installed (Debian: golang-go)")
    folder = tmp_path_factory.mktemp("go")
    env = clean_env({"GOCACHE": folder / "cache", "GOPATH": folder / "path", "HOME": folder, "GO111MODULE": "off"})
    built = {}
    # with cgo: linked against libc, so dynamically linked; without: static
    for name, cgo, source in [("cgo", "1", '// #include <unistd.h>\nimport "C"\n'), ("static", "0", "")]:
        (folder / (name + ".go")).write_text(GO_DIAL % source)
        env["CGO_ENABLED"] = cgo
        r = run([GO, "build", "-o", folder / name, folder / (name + ".go")], env=env, timeout=180)
        assert r.returncode == 0, r
        built[name] = str(folder / name)
    assert is_dynamic(built["cgo"]) and not is_dynamic(built["static"])
    return built


@pytest.mark.parametrize("kind", ["cgo", "static"])
def test_a_go_program_is_held_by_the_kernel_backstop(socksify, go_programs, target, kind):
    """The proxy does not exist: the connect fails closed instead of going direct (and with
    the backstop off the launcher refuses it, as before)."""
    r = socksify.run([go_programs[kind], "127.0.0.1:%d" % target.port], proxy=proxy_url())
    assert r.returncode == 1 and r.stdout.startswith("error") and "connection refused" in r.stdout, r
    r = socksify.run([go_programs[kind], "127.0.0.1:%d" % target.port], proxy=proxy_url(), options=["--no-backstop"])
    assert_refused(r, go_programs[kind], "is a Go program", "its own system calls")


def test_a_go_program_bypasses_the_library(socksify_lib, go_programs, target):
    """Why the launcher refuses: with the library loaded and a proxy that does not exist, the
    Go program still connects, directly."""
    env = clean_env({"LD_PRELOAD": socksify_lib, "SOCKSIFY_PROXY": proxy_url(), "SOCKSIFY_PROXY_LOOPBACK": "1"})
    r = run([go_programs["cgo"], "127.0.0.1:%d" % target.port], env=env)
    assert r.stdout.strip() == "connected", r


@pytest.mark.parametrize("name", ["check", "explain", "doctor"])
def test_a_subcommands_usage_error_names_it_with_socksify(socksify, name):
    r = run([socksify.bin, name, "--no-such-option"])
    assert r.returncode != 0 and "See 'socksify %s --help'" % name in r.stderr, r
    assert r.stdout == "", r


def test_help_for_an_unknown_subcommand_is_an_error(socksify):
    r = run([socksify.bin, "help", "nosuch"])
    assert r.returncode == 2 and "no subcommand 'nosuch'" in r.stderr and r.stdout == "", r
