"""scripts/install and scripts/uninstall (issue 12): into a temporary prefix, the installed
launcher finds its installed library and carries curl through microsocks; the man pages render;
the completion scripts load in their shells; uninstall leaves the prefix as it was.

Uses the debug build (SOCKSIFY_BUILD_DIR=.build/debug SOCKSIFY_SKIP_BUILD=1), which the test
command has just made; scripts/install builds the release by default. socksify(1) comes from
argument-parser's generate-manual plugin, which builds the package in release mode (minutes on a
fresh clone).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import MICROSOCKS_OUT, SOCKSIFY_BIN, clean_env, run

REPO = Path(__file__).resolve().parent.parent


def tree(root):
    return sorted(str(p.relative_to(root)) + ("/" if p.is_dir() else "") for p in Path(root).rglob("*"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("install") / "prefix"
    (prefix / "share" / "man").mkdir(parents=True)  # a folder that was there before stays
    before = tree(prefix)
    env = clean_env({"SOCKSIFY_SKIP_BUILD": "1", "SOCKSIFY_BUILD_DIR": str(Path(SOCKSIFY_BIN).parent)})
    r = run([REPO / "scripts" / "install", prefix], env=env, timeout=1200)
    assert r.returncode == 0, r
    yield prefix, before
    # (the uninstall test removes it itself)


def test_the_installed_launcher_carries_curl(installed, microsocks, target):
    prefix, _ = installed
    launcher = prefix / "bin" / "socksify"
    assert (prefix / "lib" / "socksify" / "libsocksify-preload.so").is_file()
    env = clean_env({"SOCKSIFY_LIBRARY": ""})
    r = run([launcher, "-p", microsocks.url(), "--proxy-loopback", "-v", "--", "curl", "-s", target.url], env=env)
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_man_pages_render(installed):
    prefix, _ = installed
    if not shutil.which("man"):
        pytest.skip("man not installed")
    page5 = prefix / "share" / "man" / "man5" / "socksify.conf.5"
    r = run(["man", "-l", page5], env=clean_env({"MANWIDTH": "80"}))
    assert r.returncode == 0 and "password-env" in r.stdout, r
    page1 = prefix / "share" / "man" / "man1" / "socksify.1"
    if not page1.exists():
        pytest.skip("socksify.1 was not generated (swift package generate-manual unavailable here)")
    r = run(["man", "-l", page1], env=clean_env({"MANWIDTH": "80"}))
    assert r.returncode == 0 and "--proxy" in r.stdout, r


@pytest.mark.parametrize("shell,path", [("bash", "share/bash-completion/completions/socksify"),
                                        ("zsh", "share/zsh/site-functions/_socksify"),
                                        ("fish", "share/fish/vendor_completions.d/socksify.fish")])
def test_completion_scripts_load(installed, shell, path):
    prefix, _ = installed
    script = prefix / path
    assert script.is_file() and script.stat().st_size > 0
    if not shutil.which(shell):
        pytest.skip("%s not installed" % shell)
    r = run([shell, "-n", script])
    assert r.returncode == 0, r
    if shell == "bash":
        r = run(["bash", "-c", "source %s && complete -p socksify" % script])
        assert r.returncode == 0 and "socksify" in r.stdout, r


def test_uninstall_leaves_the_prefix_as_it_was(installed):
    prefix, before = installed
    assert tree(prefix) != before
    r = run([REPO / "scripts" / "uninstall", prefix])
    assert r.returncode == 0, r
    assert tree(prefix) == before, "left behind: %s" % sorted(set(tree(prefix)) - set(before))


# --------------------------------------------------------------------------
# scripts/package-deb
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb not installed")
    out = tmp_path_factory.mktemp("deb")
    env = clean_env({"SOCKSIFY_SKIP_BUILD": "1", "SOCKSIFY_BUILD_DIR": str(Path(SOCKSIFY_BIN).parent)})
    r = run([REPO / "scripts" / "package-deb", out], env=env, timeout=1200)
    assert r.returncode == 0, r
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.is_file(), r
    return path


def test_the_package_holds_what_install_puts_under_usr(deb):
    r = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture"])
    version = run([SOCKSIFY_BIN, "--version"]).stdout.split()[1]
    assert r.returncode == 0 and "Package: socksify" in r.stdout and "Version: %s" % version in r.stdout, r
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for path in ["./usr/bin/socksify", "./usr/lib/socksify/libsocksify-preload.so",
                 "./usr/share/man/man5/socksify.conf.5.gz", "./usr/share/bash-completion/completions/socksify",
                 "./usr/share/zsh/site-functions/_socksify", "./usr/share/fish/vendor_completions.d/socksify.fish"]:
        assert any(line.endswith(" " + path) for line in listing.splitlines()), (path, listing)
    assert "installed-files" not in listing, listing
    assert " root/root " in listing, listing


def test_the_packaged_launcher_carries_curl(deb, microsocks, target, tmp_path):
    assert run(["dpkg-deb", "-x", deb, tmp_path]).returncode == 0
    r = run([tmp_path / "usr" / "bin" / "socksify", "-p", microsocks.url(), "--proxy-loopback", "--", "curl", "-s", target.url],
            env=clean_env({"SOCKSIFY_LIBRARY": ""}))
    assert r.returncode == 0 and r.stdout == "peer %s\n" % MICROSOCKS_OUT, r


def test_installing_the_package_diverts_dantes_socksify_and_removing_it_restores_it(deb, tmp_path):
    """A real dpkg install and removal into a private root (--root, scripts run chrootless),
    with a stand-in for dante-client's /usr/bin/socksify already there (the root has no libc6
    package: --force-depends)."""
    if os.geteuid() != 0 or not shutil.which("dpkg"):
        pytest.skip("needs root and dpkg")
    root = tmp_path / "root"
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "usr/bin", "usr/share/man/man1"]:
        (root / d).mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    (root / "var/lib/dpkg/diversions").write_text("")
    dante = root / "usr/bin/socksify"
    dante.write_text("#!/bin/sh\n# dante's socksify\n")
    dpkg = ["dpkg", "--root=%s" % root, "--force-script-chrootless", "--force-not-root", "--force-depends", "--log=/dev/null"]
    r = run(dpkg + ["-i", deb], env=clean_env({"DPKG_ROOT": str(root)}))
    assert r.returncode == 0, r
    assert (root / "usr/bin/socksify.dante").read_text().startswith("#!/bin/sh\n# dante"), r
    assert (root / "usr/bin/socksify").read_bytes()[:4] == b"\x7fELF", r
    r = run(dpkg + ["-r", "socksify"], env=clean_env({"DPKG_ROOT": str(root)}))
    assert r.returncode == 0, r
    assert dante.read_text().startswith("#!/bin/sh\n# dante"), r
    assert not (root / "usr/bin/socksify.dante").exists(), r
    assert not (root / "usr/lib/socksify").exists(), r
