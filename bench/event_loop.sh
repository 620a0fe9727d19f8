#!/usr/bin/env bash
# Event loops through a distant proxy (issue 9): Node.js makes 20 concurrent http.get while a
# 1 ms setInterval records the loop's longest gap (IntegrationTests/scripts/node_http_burst.js).
# Rows, taking turns run by run:
#   direct          no proxy
#   socksify        .build/release/socksify -q -p socks5://… --proxy-loopback -- node …
#   proxychains4    proxychains4 -q -f conf (bench/common.sh's write_peer_configs)
# Proxy: the project's test server (IntegrationTests/servers/socks_test_server.py) with
# --mode slow=0.05: it sleeps 50 ms before each of its replies, so each request/answer
# exchange with it takes one 50 ms round trip, as a proxy 25 ms away each way would. SOCKS5
# without a login has two (method selection, CONNECT reply): one handshake is 100 ms. No
# --connect-delay (the destination sits beside the proxy); its outgoing connections come from
# 127.0.0.4 (--bind-out). The TCP connect to it and the HTTP exchange in the tunnel are not
# delayed (no netem here): on a real 25 ms path each would add another 50 ms round trip.
# Target: IntegrationTests/servers/target_server.py on 127.0.0.1 (--first-wait 30), answering
# each GET with "peer <source address>": a proxied row counts only if all 20 bodies say
# "peer 127.0.0.4", the direct row only with "peer 127.0.0.1".
# Goal (issue 9): total within 1.5x one handshake (150 ms), longest gap under 10 ms.
#
# Env: RUNS (default 11), N (requests per run, default 20), NODE (default /usr/bin/node),
#      SLOW (seconds before each proxy reply, default 0.05), SOCKSIFY_BIN.
# Reports medians over RUNS, the range in brackets. Node's start-up is not timed: the script
# waits 200 ms before it issues the requests and times from there (process.hrtime).
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${RUNS:-11}"
N="${N:-20}"
NODE="${NODE:-/usr/bin/node}"
SLOW="${SLOW:-0.05}"
SCRIPT="$REPO_DIR/IntegrationTests/scripts/node_http_burst.js"
SERVERS="$REPO_DIR/IntegrationTests/servers"
OUT_ADDR=127.0.0.4
find_socksify
find_peers
warn_if_busy

TMP="$(mktemp -d /tmp/socksify-bench-eventloop.XXXXXX)"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$NODE" ] || { echo "skipped: $NODE not installed (apt-get install nodejs)"; exit 0; }

# a server printing "READY <port>": $1 name, the rest its argv. Sets READY_PORT.
start_ready() {
    local name="$1"; shift
    "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do grep -q '^READY ' "$TMP/$name.out" 2>/dev/null && break; sleep 0.05; done
    READY_PORT="$(awk '/^READY /{print $2}' "$TMP/$name.out")"
    [ -n "$READY_PORT" ] || { echo "$name did not start: $(cat "$TMP/$name.err")" >&2; return 1; }
}
start_ready target python3 "$SERVERS/target_server.py" --listen 127.0.0.1:0 --first-wait 30 || exit 1
TARGET_PORT="$READY_PORT"
start_ready proxy python3 "$SERVERS/socks_test_server.py" --listen 127.0.0.1:0 --mode "slow=$SLOW" \
    --bind-out "$OUT_ADDR" --log "$TMP/proxy-log.jsonl" || exit 1
PROXY_PORT="$READY_PORT"
write_peer_configs "$PROXY_PORT" "$TMP"
URL="http://127.0.0.1:$TARGET_PORT/"

names=() peers=() prefixes=() skipped=()
add_mode() { names+=("$1"); peers+=("$2"); prefixes+=("$3"); }
add_mode "direct (no proxy)" 127.0.0.1 ""
if [ -n "$SOCKSIFY_BIN" ]; then
    case "$SOCKSIFY_BIN" in */debug/*) note "using a debug build of socksify: swift build -c release for real numbers";; esac
    add_mode "socksify" "$OUT_ADDR" "$SOCKSIFY_BIN -q -p socks5://127.0.0.1:$PROXY_PORT --proxy-loopback --"
else
    skipped+=("socksify: not built (swift build -c release)")
fi
if [ -n "$PROXYCHAINS_BIN" ]; then
    add_mode "proxychains4" "$OUT_ADDR" "$PROXYCHAINS_BIN -q -f $TMP/proxychains.conf"
else
    skipped+=("proxychains4: not installed (apt-get install proxychains4)")
fi

handshake_ms="$(python3 -c 'import sys; print("%g" % (2 * float(sys.argv[1]) * 1000))' "$SLOW")"
echo "== event loop: node, $N concurrent http.get through a SOCKS5 proxy 1 round trip = $(python3 -c 'import sys; print("%g" % (float(sys.argv[1]) * 1000))' "$SLOW") ms away, $RUNS runs =="
echo "   node $("$NODE" --version), target 127.0.0.1:$TARGET_PORT (target_server.py), proxy socks_test_server.py 127.0.0.1:$PROXY_PORT --mode slow=$SLOW --bind-out $OUT_ADDR"
echo "   one SOCKS5 handshake (method selection + CONNECT reply) = $handshake_ms ms; load $(cut -d' ' -f1-3 /proc/loadavg)"

: > "$TMP/results.tsv"
for run in $(seq 1 "$RUNS"); do
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086
        ${prefixes[$i]} "$NODE" "$SCRIPT" "$URL" "$N" > "$TMP/run.out" 2> "$TMP/run.err"
        line="$(grep '^{' "$TMP/run.out" | tail -n 1)"
        # one TSV line: mode index, run, ok (all N bodies from the expected peer), total, gap
        python3 - "$i" "$run" "${peers[$i]}" "$N" "$line" >> "$TMP/results.tsv" <<'EOF' || { echo "run $run of ${names[$i]}: $(cat "$TMP/run.out" "$TMP/run.err" | head -c 600)" >&2; exit 1; }
import json, sys
i, run, peer, n, line = sys.argv[1:]
r = json.loads(line)
if not r["ok"] or r["bodies"] != {"peer " + peer: int(n)}:
    sys.exit("bad result (want %s x peer %s): %s" % (n, peer, line))
print("%s\t%s\t%s\t%s" % (i, run, r["total_ms"], r["max_gap_ms"]))
EOF
    done
done
echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$TMP/results.tsv" "$handshake_ms" "${names[@]}" <<'EOF'
import statistics, sys
path, hs, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
rows = {}
for l in open(path):
    i, _, total, gap = l.split("\t")
    rows.setdefault(int(i), []).append((float(total), float(gap)))
fmt = "%-20s %22s %22s  %s"
print(fmt % ("row", "total ms", "longest gap ms", "goal: total <= %g ms, gap < 10 ms" % (1.5 * hs)))
for i, name in enumerate(names):
    v = rows.get(i, [])
    t = [a for a, _ in v]; g = [b for _, b in v]
    cell = lambda x: "%.1f (%.0f-%.0f)" % (statistics.median(x), min(x), max(x))
    goal = ""
    if i > 0:
        mt, mg = statistics.median(t), statistics.median(g)
        goal = "total %s, gap %s" % ("met" if mt <= 1.5 * hs else "NOT met",
                                     "met" if mg < 10 else "NOT met")
    print(fmt % (name, cell(t), cell(g), goal))
EOF
for s in "${skipped[@]}"; do echo "skipped: $s"; done
echo "   proxy log: $(grep -c '"result": "ok"' "$TMP/proxy-log.jsonl") CONNECTs answered ok"
