#!/usr/bin/env bash
# The kernel backstop's cost (issue 10; docs/kernel-backstop.md), in one run, interleaved:
#
#   connect latency (bench/clients/conn.c --time, socket to usable socket, N connections
#   through microsocks on loopback; medians of ROUNDS runs):
#     hand-written SOCKS5 (C)           conn --socks5: the floor
#     dynamic, library                  the same client dynamically linked, under socksify
#     static, backstop                  the client linked statically: the supervisor carries it
#     dynamic, library, --strict        the library's program under the filter too
#   bulk throughput (MiB/s, bench/clients/bulk.c: 256 MiB written through the tunnel to a sink
#   in the same process): direct (no proxy at all), dynamic under the library, static under the
#   backstop; the two proxied rows include microsocks' relaying, so they compare with each other
#
# Env: N (connections per run, default 500), ROUNDS (default 5), SOCKSIFY_BIN.
# Needs gcc (with glibc's static libraries), microsocks, root not needed.
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N="${N:-500}"
ROUNDS="${ROUNDS:-5}"
find_socksify
find_peers
[ -n "$SOCKSIFY_BIN" ] || { echo "build socksify first (swift build -c release)" >&2; exit 1; }
[ -n "$MICROSOCKS_BIN" ] || { echo "microsocks not installed" >&2; exit 1; }
warn_if_busy
build_bench_tools || exit 1

TMP="$(mktemp -d /tmp/socksify-bench-backstop.XXXXXX)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

gcc -O2 -o "$TMP/conn" "$BENCH_DIR/clients/conn.c" || exit 1
gcc -O2 -static -o "$TMP/conn-static" "$BENCH_DIR/clients/conn.c" 2>/dev/null || { echo "cannot link statically" >&2; exit 1; }
gcc -O2 -pthread -o "$TMP/bulk" "$BENCH_DIR/clients/bulk.c" || exit 1
gcc -O2 -pthread -static -o "$TMP/bulk-static" "$BENCH_DIR/clients/bulk.c" 2>/dev/null || exit 1

start_echo_server "$TMP" || exit 1
PROXY_PORT="$(free_port)"
"$MICROSOCKS_BIN" -i 127.0.0.1 -p "$PROXY_PORT" > "$TMP/microsocks.log" 2>&1 &
PIDS+=($!)
sleep 0.3
PROXY="socks5://127.0.0.1:$PROXY_PORT"
SX=("$SOCKSIFY_BIN" -q -p "$PROXY" --proxy-loopback --)

run_latency() {  # label, argv...: prints the median in us
    local label="$1"; shift
    "$@" -n "$N" --time 127.0.0.1 "$TARGET_PORT" 2>/dev/null | sed -n 's/.*median_ns=\([0-9]*\).*/\1/p'
}

declare -A LAT
for r in $(seq 1 "$ROUNDS"); do
    LAT[hand]+=" $(run_latency hand "$TMP/conn" --socks5 "127.0.0.1:$PROXY_PORT")"
    LAT[library]+=" $(run_latency library "${SX[@]}" "$TMP/conn")"
    LAT[backstop]+=" $(run_latency backstop "${SX[@]}" "$TMP/conn-static")"
    LAT[strict]+=" $(run_latency strict "$SOCKSIFY_BIN" -q --strict -p "$PROXY" --proxy-loopback -- "$TMP/conn")"
done

BYTES=$((256 * 1024 * 1024))
declare -A BULK
for r in $(seq 1 3); do
    BULK[direct]+=" $("$TMP/bulk" "$BYTES")"
    BULK[library]+=" $("${SX[@]}" "$TMP/bulk" "$BYTES")"
    BULK[backstop]+=" $("${SX[@]}" "$TMP/bulk-static" "$BYTES")"
done

python3 - "$N" "$ROUNDS" "${LAT[hand]}" "${LAT[library]}" "${LAT[backstop]}" "${LAT[strict]}" \
    "${BULK[direct]}" "${BULK[library]}" "${BULK[backstop]}" <<'EOF'
import statistics, sys
n, rounds = sys.argv[1], sys.argv[2]
def med(text):
    values = [float(v) for v in text.split() if v]
    return statistics.median(values) if values else float("nan")
hand, lib, back, strict = (med(t) / 1000 for t in sys.argv[3:7])
direct, blib, bback = (med(t) for t in sys.argv[7:10])
print("connect latency, median us (%s connections x %s rounds)" % (n, rounds))
for name, v in [("hand-written SOCKS5 (C)", hand), ("dynamic, library", lib), ("static, backstop", back),
                ("dynamic, library, --strict", strict)]:
    print("  %-30s %8.1f   %+8.1f over the hand-written client" % (name, v, v - hand))
print("bulk throughput, MiB/s (256 MiB, median of 3)")
for name, v in [("direct", direct), ("dynamic, library", blib), ("static, backstop", bback)]:
    print("  %-30s %8.0f   %5.2fx direct" % (name, v, v / direct))
EOF
