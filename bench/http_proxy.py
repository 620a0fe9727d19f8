#!/usr/bin/env python3
"""Connect + request through an HTTP CONNECT proxy (tinyproxy on loopback), one curl process
per request, in one run, interleaved:

  curl -p -x http://…   curl speaks HTTP CONNECT itself: the floor
  socksify (launcher)   socksify -q -p http://… --proxy-loopback -- curl …
  socksify (LD_PRELOAD) LD_PRELOAD=libsocksify-preload.so SOCKSIFY_PROXY=http://… curl …
  proxychains4          proxychains4 -q -f conf curl … (an `http` proxy line)

Every row first checks that the target sees the request coming from tinyproxy's outgoing address
(127.0.0.5), so no row can measure a direct path. Reports the median wall time of each row (ms)
and its ratio to the floor. Env: N (requests per row and round, default 40), ROUNDS (default 5).

  python3 bench/http_proxy.py
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
N = int(os.environ.get("N", "40"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
OUT = "127.0.0.5"


class Peer(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("peer %s\n" % self.client_address[0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    launcher = os.environ.get("SOCKSIFY_BIN") or next(
        (str(p) for p in (REPO / ".build/release/socksify", REPO / ".build/debug/socksify") if p.exists()), None)
    if not launcher or not shutil.which("tinyproxy") or not shutil.which("curl"):
        sys.exit("needs a built socksify, tinyproxy and curl")
    library = str(Path(launcher).parent / "libsocksify-preload.so")
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    os.chmod(tmp, 0o755)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    port = free_port()
    conf = tmp / "tinyproxy.conf"
    conf.write_text("Port %d\nListen 127.0.0.1\nBind %s\nTimeout 30\nMaxClients 200\nLogLevel Critical\nAllow 127.0.0.0/8\n%s"
                    % (port, OUT, "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""))
    proxy = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    proxy_url = "http://127.0.0.1:%d" % port
    pc_conf = tmp / "proxychains.conf"
    pc_conf.write_text("strict_chain\nquiet_mode\n[ProxyList]\nhttp 127.0.0.1 %d\n" % port)
    curl = ["curl", "-s", "--max-time", "5", url]
    env = dict(os.environ)
    rows = {
        "curl -p -x http:// (floor)": (["curl", "-s", "--max-time", "5", "-p", "-x", proxy_url, url], env),
        "socksify (launcher)": ([launcher, "-q", "-p", proxy_url, "--proxy-loopback", "--"] + curl, env),
        "socksify (LD_PRELOAD)": (curl, dict(env, LD_PRELOAD=library, SOCKSIFY_PROXY=proxy_url,
                                             SOCKSIFY_PROXY_LOOPBACK="1", SOCKSIFY_QUIET="1")),
    }
    if shutil.which("proxychains4"):
        rows["proxychains4 (http line)"] = (["proxychains4", "-q", "-f", str(pc_conf)] + curl, env)
    try:
        for name, (argv, e) in rows.items():
            out = subprocess.run(argv, env=e, capture_output=True, text=True).stdout
            if out != "peer %s\n" % OUT:
                sys.exit("%s does not go through the proxy: %r" % (name, out))
        times = {name: [] for name in rows}
        for _ in range(ROUNDS):
            for name, (argv, e) in rows.items():
                for _ in range(N):
                    start = time.perf_counter()
                    subprocess.run(argv, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    times[name].append((time.perf_counter() - start) * 1000)
        floor = statistics.median(times[next(iter(rows))])
        print("%-30s %10s %8s" % ("connect + request (one curl)", "median ms", "ratio"))
        for name, values in times.items():
            m = statistics.median(values)
            print("%-30s %10.2f %7.2fx" % (name, m, m / floor))
    finally:
        proxy.terminate()
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
