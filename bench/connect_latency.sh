#!/usr/bin/env bash
# Per-connection latency: {socket, connect, write 32 B, read 32 B, close} against a
# local C echo server, direct and through microsocks in several ways:
#   direct                 no proxy
#   hand-written SOCKS5    connect_latency --socks5: the client speaks SOCKS5 itself
#   socksify (LD_PRELOAD)  LD_PRELOAD=libsocksify.so SOCKSIFY_PROXY=… SOCKSIFY_PROXY_LOOPBACK=1
#   socksify (launcher)    socksify -q -p socks5://… --proxy-loopback -- (when the launcher is built)
#   proxychains4           proxychains4 -q -f conf (strict_chain, quiet_mode)
#   tsocks/torsocks/dante  tried too; they refuse to proxy loopback destinations, so they
#                          are reported as skipped (only loopback may be used here)
# Every proxied row first checks that the echo server sees the connection coming from
# 127.0.0.2 (microsocks -b 127.0.0.2), so a row cannot silently measure a direct path.
#
# Env: N (iterations per run, default 2000), REPEATS (default 3), SOCKSIFY_BIN, SOCKSIFY_LIB.
# Reports the median of the per-run medians (and of the p90s).
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N="${N:-2000}"
REPEATS="${REPEATS:-3}"
find_socksify
find_peers
warn_if_busy
build_bench_tools || { echo "failed to build bench tools" >&2; exit 1; }
CL="$BENCH_BIN/connect_latency"

TMP="$(mktemp -d /tmp/socksify-bench-latency.XXXXXX)"
PIDS=()
CHILD=""
cleanup() {
    local p
    [ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- target: echo server on 127.0.0.1, any free port, self-terminating after 30 min
"$BENCH_BIN/echo_server" -b 127.0.0.1 -p 0 --max-seconds 1800 > "$TMP/echo.out" 2> "$TMP/echo.err" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^port ' "$TMP/echo.out" 2>/dev/null && break; sleep 0.05; done
TARGET_PORT="$(awk '/^port /{print $2}' "$TMP/echo.out")"
[ -n "$TARGET_PORT" ] || { echo "echo server did not start: $(cat "$TMP/echo.err")" >&2; exit 1; }

# ---- proxy: microsocks on 127.0.0.1, outgoing connections from 127.0.0.2
PROXY_PORT=""
if [ -n "$MICROSOCKS_BIN" ]; then
    PROXY_PORT="$(free_port)"
    "$MICROSOCKS_BIN" -i 127.0.0.1 -p "$PROXY_PORT" -b 127.0.0.2 > "$TMP/microsocks.log" 2>&1 &
    PIDS+=($!)
    wait_port "$PROXY_PORT" || { echo "microsocks did not start: $(cat "$TMP/microsocks.log")" >&2; exit 1; }
    write_peer_configs "$PROXY_PORT" "$TMP"
fi
PROXY_URL="socks5://127.0.0.1:$PROXY_PORT"

echo "== connect latency: socket+connect+32 B round trip+close, $N iterations x $REPEATS runs =="
if [ -n "$PROXY_PORT" ]; then proxy_desc="microsocks 127.0.0.1:$PROXY_PORT -b 127.0.0.2"; else proxy_desc="none"; fi
echo "   target 127.0.0.1:$TARGET_PORT (bench/echo_server), proxy: $proxy_desc"

# ---- modes: name | expected peer | command prefix (array stored as a string, eval'd)
names=() peers=() prefixes=() skipped=()
add_mode() { names+=("$1"); peers+=("$2"); prefixes+=("$3"); }
add_mode "direct" "127.0.0.1" ""
if [ -z "$PROXY_PORT" ]; then
    skipped+=("all proxied rows: microsocks not installed (apt-get install microsocks)")
else
    add_mode "hand-written SOCKS5" "127.0.0.2" "HANDWRITTEN"
    if [ -n "$SOCKSIFY_LIB" ]; then
        add_mode "socksify (LD_PRELOAD)" "127.0.0.2" \
            "env LD_PRELOAD=$SOCKSIFY_LIB SOCKSIFY_PROXY=$PROXY_URL SOCKSIFY_PROXY_LOOPBACK=1"
    else
        skipped+=("socksify: libsocksify.so not built (swift build -c release)")
    fi
    if [ -n "$SOCKSIFY_BIN" ]; then
        add_mode "socksify (launcher)" "127.0.0.2" "$SOCKSIFY_BIN -q -p $PROXY_URL --proxy-loopback --"
    fi
    if [ -n "$PROXYCHAINS_BIN" ]; then
        add_mode "proxychains4" "127.0.0.2" "$PROXYCHAINS_BIN -q -f $TMP/proxychains.conf"
    else
        skipped+=("proxychains4: not installed (apt-get install proxychains4)")
    fi
    [ -n "$TSOCKS_LIB" ] && add_mode "tsocks" "127.0.0.2" "env LD_PRELOAD=$TSOCKS_LIB TSOCKS_CONF_FILE=$TMP/tsocks.conf"
    [ -n "$TORSOCKS_LIB" ] && add_mode "torsocks" "127.0.0.2" "env LD_PRELOAD=$TORSOCKS_LIB TORSOCKS_CONF_FILE=$TMP/torsocks.conf"
    [ -n "$DANTE_LIB" ] && add_mode "dante (libdsocks)" "127.0.0.2" "env LD_PRELOAD=$DANTE_LIB SOCKS_CONF=$TMP/dante.conf"
fi

# run_mode INDEX N WARMUP -> prints connect_latency's result line; returns its status.
# The client runs in the background and is waited for, so INT/TERM stop it at once.
run_mode() {
    local i="$1" n="$2" w="$3" prefix="${prefixes[$1]}" rc
    local args=(-n "$n" -w "$w" --expect-peer "${peers[$i]}")
    if [ "$prefix" = HANDWRITTEN ]; then
        "$CL" "${args[@]}" --socks5 "127.0.0.1:$PROXY_PORT" 127.0.0.1 "$TARGET_PORT" &
    else
        # shellcheck disable=SC2086
        $prefix "$CL" "${args[@]}" 127.0.0.1 "$TARGET_PORT" &
    fi
    CHILD=$!
    wait "$CHILD"; rc=$?
    CHILD=""
    return "$rc"
}

# ---- sanity check each mode once (is it proxied at all?) and drop the ones that fail
active=()
for i in "${!names[@]}"; do
    run_mode "$i" 1 0 >"$TMP/check.out" 2>"$TMP/check.err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^median_us=' "$TMP/check.out"; then
        active+=("$i")
    else
        [ "$rc" = 0 ] && echo "exit 0 but no result line; stdout: $(head -c 200 "$TMP/check.out")" >> "$TMP/check.err"
        why="$(tail -n 1 "$TMP/check.err")"
        if [ "$rc" = 3 ]; then
            case "${names[$i]}" in
                tsocks|torsocks|dante*) why="does not proxy loopback destinations (built-in local/direct rule)";;
                *) why="NOT PROXIED: $why";;
            esac
        else
            why="FAILED (exit $rc): $why"
        fi
        skipped+=("${names[$i]}: $why")
    fi
done

# ---- measure, interleaving the modes in each repeat
results="$TMP/results.tsv"
: > "$results"
for r in $(seq 1 "$REPEATS"); do
    for i in "${active[@]}"; do
        if run_mode "$i" "$N" 50 >"$TMP/run.out" 2>"$TMP/run.err"; then
            line="$(grep '^median_us=' "$TMP/run.out" | tail -n 1)"
            med="$(sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' <<<"$line")"
            p90="$(sed -n 's/.*p90_us=\([0-9.]*\).*/\1/p' <<<"$line")"
            if [ -n "$med" ] && [ -n "$p90" ]; then
                printf '%s\t%s\t%s\t%s\n' "$i" "${names[$i]}" "$med" "$p90" >> "$results"
            else
                note "run $r of '${names[$i]}' printed no result line"
            fi
        else
            note "run $r of '${names[$i]}' failed: $(tail -n 1 "$TMP/run.err")"
        fi
    done
done

python3 - "$results" <<'PY'
import statistics, sys
by = {}
order = []
for line in open(sys.argv[1]):
    i, name, med, p90 = line.rstrip("\n").split("\t")
    if name not in by:
        by[name] = ([], []); order.append(name)
    by[name][0].append(float(med)); by[name][1].append(float(p90))
summary = {n: (statistics.median(m), statistics.median(p), len(m)) for n, (m, p) in by.items()}
direct = summary.get("direct", (None,))[0]
hand = summary.get("hand-written SOCKS5", (None,))[0]
print(f"  {'what':<24} {'median us':>10} {'p90 us':>9} {'x direct':>9} {'x hand-written':>15} {'runs':>5}")
for n in order:
    med, p90, runs = summary[n]
    xd = f"{med / direct:.2f}" if direct else "-"
    xh = f"{med / hand:.2f}" if hand else "-"
    print(f"  {n:<24} {med:>10.1f} {p90:>9.1f} {xd:>9} {xh:>15} {runs:>5}")
PY
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
