#!/usr/bin/env python3
"""Write a large, realistic socksify rules file for the rules benchmarks (bench/rules.sh).

    bench/gen_rules.py [--rules 1000] [--bench-proxy URL] [--all-apply] [--seed 1] > FILE

The file has five real-looking proxies plus `bench` (the benchmark's proxy), then
--rules rules, then `default via bench`, `set proxy-loopback`, and two timeouts:

- most rules are for named programs (`app firefox,chromium`, `app python3*`,
  `app /opt/*/bin/*`, ...); about one in ten has no `app` and applies to every program;
- every rule has a `to` list of 1 to 4 items: IPv4 and IPv6 networks, single addresses,
  names and `*.suffix` patterns; about a third also have `port` lists or ranges;
- actions: via (half), direct, block, failover and chain over the five proxies.

No rule matches a loopback address, 203.0.113.0/24 or a name under `.invalid`, so the
benchmark's target (127.0.0.1, by IP) walks every rule that applies to its program and
ends at `default via bench`. The first two rules are fixed (`to *.onion via tor` and the
private networks `direct`), so 10.1.2.3 and x.onion match early.

--all-apply leaves out every `app` list: all the rules then apply to every program (the
worst case for a lookup on connect; a real file is filtered to the running program's rules).
The output is the same for the same arguments.
"""
import argparse
import random
import sys

PROGRAMS = [
    "firefox", "firefox-esr", "chromium", "google-chrome*", "curl", "wget", "git", "ssh", "scp",
    "sftp", "rsync", "python3*", "node", "npm", "yarn", "java", "/usr/lib/jvm/*/bin/java",
    "slack", "zoom", "thunderbird", "apt", "apt-get", "docker", "kubectl", "helm", "terraform",
    "go", "cargo", "rustup", "pip*", "spotify", "signal-desktop", "telegram-desktop", "code",
    "steam", "transmission-*", "qbittorrent", "irssi", "weechat", "mutt", "/opt/*/bin/*",
    "/snap/bin/*", "torbrowser*", "/opt/tor-browser/*", "nc", "socat", "psql", "mysql",
    "redis-cli", "mongo*", "ansible*", "vagrant", "packer", "gh", "hub", "svn", "hg", "lftp",
    "aria2c", "yt-dlp", "ffmpeg", "vlc", "mpv", "obs", "discord", "element-desktop", "matrix-*",
    "gpg", "dirmngr", "ntpdate", "openvpn", "wireguard*", "[a-c]*-agent",
]
TLDS = ["com", "net", "org", "io", "dev", "example", "corp.example", "internal.example", "cloud"]
WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "build", "ci", "git", "mail",
    "chat", "cdn", "static", "api", "auth", "login", "vpn", "wiki", "jira", "docs", "pkg",
    "mirror", "registry", "grafana", "metrics", "logs", "db", "cache", "s3", "media",
]
PORT_LISTS = [
    "22", "443", "80,443", "8080", "8000-8100", "9418", "22,443,9418", "5432", "3306", "6379",
    "993,995", "25,465,587", "6660-6669,6697", "1194", "51820", "3000-3999", "27017", "9000-9100",
]
PROXIES = ["corp", "backup", "tor", "eu", "us"]


def network(rng):
    """An IPv4 or IPv6 network, or a single address, never on loopback, 203.0.113.0/24 or
    198.18.0.0/15 (kept free for the benchmark's no-match targets)."""
    kind = rng.random()
    if kind < 0.25:
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
    if kind < 0.35:
        prefix = rng.choice([16, 20, 24])
        return f"172.{rng.randrange(16, 32)}.{rng.randrange(256) & (0xFF << (24 - prefix)) & 0xFF}.0/{prefix}"
    if kind < 0.45:
        return f"192.168.{rng.randrange(256)}.0/24"
    if kind < 0.70:
        # public-looking ranges: first octet outside 0, 10, 100, 127, 169, 172, 192, 198, 203, 224+
        while True:
            a = rng.randrange(1, 224)
            if a not in (10, 100, 127, 169, 172, 192, 198, 203):
                break
        prefix = rng.choice([8, 12, 16, 20, 22, 24, 32])
        value = (a << 24) | rng.randrange(1 << 24)
        value &= (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
        text = ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))
        return text if prefix == 32 else f"{text}/{prefix}"
    if kind < 0.85:
        return f"2001:db8:{rng.randrange(0x10000):x}::/48"
    return f"fd{rng.randrange(256):02x}:{rng.randrange(0x10000):x}::/{rng.choice([32, 48, 64])}"


def name(rng):
    host = rng.choice(WORDS) + (str(rng.randrange(100)) if rng.random() < 0.5 else "")
    domain = rng.choice(WORDS) + "-" + rng.choice(WORDS)
    tld = rng.choice(TLDS)
    if rng.random() < 0.5:
        return f"*.{domain}.{tld}"
    return f"{host}.{domain}.{tld}"


def destination_list(rng):
    items = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
        items.append(network(rng) if rng.random() < 0.55 else name(rng))
    return ",".join(dict.fromkeys(items))


def action(rng):
    r = rng.random()
    if r < 0.50:
        return "via " + rng.choice(PROXIES)
    if r < 0.70:
        return "direct"
    if r < 0.85:
        return "block"
    if r < 0.95:
        return "failover " + " ".join(rng.sample(PROXIES, rng.choice([2, 2, 3])))
    return "chain " + " ".join(rng.sample(PROXIES, 2))


def generate(count, bench_proxy, all_apply, seed):
    rng = random.Random(seed)
    out = [
        f"# {count} generated rules for bench/rules.sh (bench/gen_rules.py --rules {count} --seed {seed}"
        + (" --all-apply" if all_apply else "") + ")",
        "proxy corp     socks5://alice@10.20.0.5:1080 password-env CORP_PROXY_PASSWORD",
        "proxy backup   socks5://198.51.100.20:1080",
        "proxy tor      socks5h://127.0.0.1:9050",
        "proxy eu       socks4a://203.0.113.40:1080",
        "proxy us       socks5h://bob:s3cret@192.0.2.50:1080",
        f"proxy bench    {bench_proxy}",
        "",
        "rule to *.onion via tor",
        "rule to 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fd00::/8,*.local direct",
    ]
    for _ in range(count - 2):
        parts = ["rule"]
        if not all_apply and rng.random() >= 0.10:
            apps = rng.sample(PROGRAMS, rng.choice([1, 1, 2, 3]))
            parts += ["app", ",".join(apps)]
        parts += ["to", destination_list(rng)]
        if rng.random() < 0.33:
            parts += ["port", rng.choice(PORT_LISTS)]
        parts.append(action(rng))
        out.append(" ".join(parts))
    out += ["", "default via bench", "", "set proxy-loopback", "set connect-timeout 5", "set failover-retry 60", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=int, default=1000, help="number of rules (at least 2)")
    ap.add_argument("--bench-proxy", default="socks5://127.0.0.1:1080",
                    help="URL of the proxy named bench, which the default sends everything else to")
    ap.add_argument("--all-apply", action="store_true", help="no app lists: every rule applies to every program")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.rules < 2:
        ap.error("--rules must be at least 2")
    sys.stdout.write(generate(args.rules, args.bench_proxy, args.all_apply, args.seed))


if __name__ == "__main__":
    main()
