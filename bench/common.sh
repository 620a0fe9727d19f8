# Shared helpers for the bench/ scripts. Source it; do not run it.
# shellcheck shell=bash disable=SC2034,SC2012

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_BIN="$BENCH_DIR/bin"
MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
LIBDIR="/usr/lib/$MULTIARCH"

note() { echo "note: $*" >&2; }

# Build bench/*.c into bench/bin/ (only when the source is newer).
build_bench_tools() {
    mkdir -p "$BENCH_BIN"
    local src name
    for src in "$BENCH_DIR"/*.c; do
        name="$(basename "$src" .c)"
        if [ ! -x "$BENCH_BIN/$name" ] || [ "$src" -nt "$BENCH_BIN/$name" ]; then
            gcc -O2 -Wall -Wextra -pthread -o "$BENCH_BIN/$name.tmp.$$" "$src" &&
                mv -f "$BENCH_BIN/$name.tmp.$$" "$BENCH_BIN/$name" || return 1
        fi
    done
}

# Locate the socksify launcher and library. Sets SOCKSIFY_BIN / SOCKSIFY_LIB
# (empty when not found). Env SOCKSIFY_BIN / SOCKSIFY_LIB override.
find_socksify() {
    if [ -z "${SOCKSIFY_BIN:-}" ]; then
        local c
        for c in "$REPO_DIR/.build/release/socksify" "$REPO_DIR/.build/debug/socksify"; do
            if [ -x "$c" ]; then SOCKSIFY_BIN="$c"; break; fi
        done
    fi
    SOCKSIFY_BIN="${SOCKSIFY_BIN:-}"
    if [ -z "${SOCKSIFY_LIB:-}" ]; then
        local c
        # SwiftPM cannot have two products named "socksify", so the library may be
        # built as libsocksify-preload.so; accept either name.
        local d
        for c in $(for d in ${SOCKSIFY_BIN:+"$(dirname "$SOCKSIFY_BIN")"} "$REPO_DIR/.build/release" "$REPO_DIR/.build/debug"; do
                       echo "$d/libsocksify.so" "$d/libsocksify-preload.so"; done); do
            if [ -f "$c" ]; then SOCKSIFY_LIB="$c"; break; fi
        done
    fi
    SOCKSIFY_LIB="${SOCKSIFY_LIB:-}"
    # Dante ships /usr/bin/socksify too: never pick a launcher from PATH.
    [ -n "$SOCKSIFY_BIN" ] && [ ! -x "$SOCKSIFY_BIN" ] && { note "SOCKSIFY_BIN=$SOCKSIFY_BIN is not executable"; SOCKSIFY_BIN=""; }
    [ -n "$SOCKSIFY_LIB" ] && [ ! -f "$SOCKSIFY_LIB" ] && { note "SOCKSIFY_LIB=$SOCKSIFY_LIB does not exist"; SOCKSIFY_LIB=""; }
    export SOCKSIFY_BIN SOCKSIFY_LIB
}

# Peer libraries (empty when the package is not installed).
find_peers() {
    TSOCKS_LIB="$(ls "$LIBDIR"/libtsocks.so.1 "$LIBDIR"/libtsocks.so* 2>/dev/null | head -n1 || true)"
    TORSOCKS_LIB="$(ls "$LIBDIR"/torsocks/libtorsocks.so "$LIBDIR"/libtorsocks.so 2>/dev/null | head -n1 || true)"
    PROXYCHAINS_LIB="$(ls "$LIBDIR"/libproxychains.so.4 2>/dev/null | head -n1 || true)"
    DANTE_LIB="$(ls "$LIBDIR"/libdsocksd.so.0 "$LIBDIR"/libdsocks.so* 2>/dev/null | head -n1 || true)"
    PROXYCHAINS_BIN="$(command -v proxychains4 || true)"
    MICROSOCKS_BIN="$(command -v microsocks || true)"
}

# Write peer config files for a SOCKS5 proxy on 127.0.0.1:$1 into dir $2.
write_peer_configs() {
    local port="$1" dir="$2"
    printf 'strict_chain\nquiet_mode\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nsocks5 127.0.0.1 %s\n' \
        "$port" > "$dir/proxychains.conf"
    printf 'server = 127.0.0.1\nserver_port = %s\nserver_type = 5\n' "$port" > "$dir/tsocks.conf"
    printf 'TorAddress 127.0.0.1\nTorPort %s\nAllowOutboundLocalhost 1\n' "$port" > "$dir/torsocks.conf"
    printf 'route {\n  from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = %s\n  proxyprotocol: socks_v5\n  method: none\n}\n' \
        "$port" > "$dir/dante.conf"
}

# A currently free TCP port on 127.0.0.1 (small race, fine for benchmarks).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until something listens on 127.0.0.1:$1 (max ~5 s).
wait_port() {
    local i
    for i in $(seq 1 100); do
        if python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2); s.close()' "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# Warn when the machine is busy: latency numbers on 2 cores are very load-sensitive.
warn_if_busy() {
    local load
    load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0.7 else 1)' "$load" 2>/dev/null; then
        echo "warning: 1-min load average is $load; something else is running and the numbers will be noisy" >&2
    fi
}

# Start bench/echo_server on 127.0.0.1 (any free port, self-terminating after 30 min),
# logging into dir $1. Appends its pid to PIDS and sets TARGET_PORT; returns 1 on failure.
start_echo_server() {
    local dir="$1"
    "$BENCH_BIN/echo_server" -b 127.0.0.1 -p 0 --max-seconds 1800 > "$dir/echo.out" 2> "$dir/echo.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do grep -q '^port ' "$dir/echo.out" 2>/dev/null && break; sleep 0.05; done
    TARGET_PORT="$(awk '/^port /{print $2}' "$dir/echo.out")"
    [ -n "$TARGET_PORT" ] || { echo "echo server did not start: $(cat "$dir/echo.err")" >&2; return 1; }
}

# Locate rules-bench (built by `swift build -c release`). Sets RULES_BENCH (empty when
# not found); env RULES_BENCH overrides. A debug build is used only when there is no
# release build, with a note: its numbers are not comparable.
find_rules_bench() {
    if [ -z "${RULES_BENCH:-}" ]; then
        local c
        for c in ${SOCKSIFY_BIN:+"$(dirname "$SOCKSIFY_BIN")/rules-bench"} "$REPO_DIR/.build/release/rules-bench" \
                 "$REPO_DIR/.build/debug/rules-bench"; do
            if [ -x "$c" ]; then RULES_BENCH="$c"; break; fi
        done
        case "${RULES_BENCH:-}" in */debug/*) note "using a debug build of rules-bench: swift build -c release for real numbers";; esac
    fi
    RULES_BENCH="${RULES_BENCH:-}"
    export RULES_BENCH
}

# Debian's /usr/bin/valgrind is a /bin/sh wrapper around valgrind.bin; the real launcher
# is called directly so LD_PRELOAD is not also loaded into a shell first. Sets VALGRIND.
find_valgrind() {
    VALGRIND="$(command -v valgrind || true)"
    [ -n "$VALGRIND" ] && [ -x "$VALGRIND.bin" ] && VALGRIND="$VALGRIND.bin"
}

# A copy of library $1 without debug info, in dir $2, printed on stdout (or $1 itself
# when strip fails): valgrind 3.19 gives up on the DWARF 5 that lld and Swift write, and
# debug info does not change the instruction count.
nodebug_copy() {
    local out
    out="$2/$(basename "$1" .so)-nodebug.so"
    if command -v strip >/dev/null && strip -g -o "$out" "$1" 2>/dev/null; then echo "$out"; else echo "$1"; fi
}
