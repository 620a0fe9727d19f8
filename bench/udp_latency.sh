#!/usr/bin/env bash
# Datagram round trips through danted: what the socksifier adds per datagram.
#
# A UDP echo server (bench/udp_echo_server) on 127.0.0.1 and danted (internal 127.0.0.1,
# external 127.0.0.3, UDP allowed) are started; bench/udp_latency then runs in each mode:
#   direct                      no proxy: sendto/recvfrom to the echo server
#   hand-written UDP ASSOCIATE  udp_latency --associate: the client speaks SOCKS5 itself
#                               (TCP control connection, UDP ASSOCIATE) and adds/strips the
#                               RFC 1928 UDP header by hand. The floor for any socksifier.
#   socksify (LD_PRELOAD)       the direct-mode client under LD_PRELOAD=libsocksify…
#                               SOCKSIFY_PROXY=socks5://… SOCKSIFY_PROXY_LOOPBACK=1: the shim
#                               does the association and the wrapping
#   Dante socksify              the direct-mode client under Dante's own /usr/bin/socksify
#                               (libdsocks, SOCKS_CONF with a socks_v5 udpassociate route).
#                               Dante's client adds direct routes for the machine's own
#                               networks (127.0.0.0/8 included), so it sends loopback
#                               destinations direct unless SOCKS_AUTOADD_LANROUTES=no, which
#                               this row sets (checked and reported below the table).
#   CONNECTED=1 adds direct and socksify with a connected socket (connect + send/recv).
# Each mode is measured twice per repeat: latency (N round trips of one 32-byte datagram:
# median and p90) and throughput (WINDOW datagrams in flight for PPS_SECONDS: echoes per
# second). Every run asks the echo server, with the socket's first datagram and again after
# the timed part, who sent it; a proxied row counts only if the answer is 127.0.0.3 (danted's
# external address), so an unproxied path cannot pass as a fast result. "setup us" is from
# socket() to that first answer: for the proxied rows it includes opening the association.
#
# All three (client, danted, echo server) run on one CPU (taskset -c, the last CPU) unless
# PIN=0. On a VM a vCPU that has gone idle takes tens of microseconds to wake, so with free
# scheduling a round trip flips between ~11 and ~50 us depending on whether a CPU idled, and
# a client that burns more CPU can even look faster (its CPU never idles). On one CPU a round
# trip is the CPU work of the three processes plus their context switches, which is what the
# rows should compare, and the runs repeat within a few percent.
#
# Then, measured without a clock (they do not move with the machine's load): the system calls
# per round trip in the client process (strace -f -c) and its user-space instructions per
# round trip (callgrind), each as (count with M round trips - count with 1) / (M - 1).
#
# Env: N (round trips per latency run, default 5000), REPEATS (default 3), PPS_SECONDS
#      (default 2), WINDOW (default 32), ROOM (the buffer each receive offers, default 65536),
#      CONNECTED=1, PIN=0 or PIN_CPU (default the last CPU),
#      STRACE_N (default 1000), CG_N (default 500), SOCKSIFY_BIN, SOCKSIFY_LIB, DANTED
#      (default /usr/sbin/danted).
# Reports the median over the repeats of the per-run medians, p90s and rates.
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N="${N:-5000}"
REPEATS="${REPEATS:-3}"
PPS_SECONDS="${PPS_SECONDS:-2}"
WINDOW="${WINDOW:-32}"
CONNECTED="${CONNECTED:-0}"
STRACE_N="${STRACE_N:-1000}"
CG_N="${CG_N:-500}"
DANTED="${DANTED:-/usr/sbin/danted}"
DANTE_SOCKSIFY=/usr/bin/socksify
PIN="${PIN:-1}"
PIN_CPU="${PIN_CPU:-$(( $(nproc) - 1 ))}"
ROOM="${ROOM:-65536}"
ON_CPU=()   # the prefix that runs a command on the benchmark's CPU
PIN_DESC="not pinned"
if [ "$PIN" = 1 ]; then
    if command -v taskset >/dev/null && taskset -c "$PIN_CPU" true 2>/dev/null; then
        ON_CPU=(taskset -c "$PIN_CPU")
        PIN_DESC="all on CPU $PIN_CPU"
    else
        note "cannot pin to CPU $PIN_CPU (taskset from util-linux): running unpinned"
    fi
fi
find_socksify
find_peers
find_valgrind
warn_if_busy
build_bench_tools || { echo "failed to build bench tools" >&2; exit 1; }
UL="$BENCH_BIN/udp_latency"

TMP="$(mktemp -d /tmp/socksify-bench-udp.XXXXXX)"
PIDS=()
DANTED_PID=""
CHILD=""
cleanup() {
    local p
    [ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null
    # danted forks its children into its own session (setsid below): stop the whole group
    [ -n "$DANTED_PID" ] && kill -TERM -- "-$DANTED_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- target: UDP echo server on 127.0.0.1, any free port, self-terminating after 30 min
"${ON_CPU[@]}" "$BENCH_BIN/udp_echo_server" -b 127.0.0.1 -p 0 --max-seconds 1800 > "$TMP/echo.out" 2> "$TMP/echo.err" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^port ' "$TMP/echo.out" 2>/dev/null && break; sleep 0.05; done
TARGET_PORT="$(awk '/^port /{print $2}' "$TMP/echo.out")"
[ -n "$TARGET_PORT" ] || { echo "UDP echo server did not start: $(cat "$TMP/echo.err")" >&2; exit 1; }

# ---- proxy: danted on 127.0.0.1, relaying from 127.0.0.3, UDP allowed
PROXY_PORT="" PROXY_SKIP=""
if [ ! -x "$DANTED" ]; then
    PROXY_SKIP="danted not installed (apt-get install dante-server)"
else
    PROXY_PORT="$(free_port)"
    cat > "$TMP/danted.conf" <<EOF
logoutput: $TMP/danted.log
internal: 127.0.0.1 port = $PROXY_PORT
external: 127.0.0.3
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 0/0 to: 0/0
  log: error
}
socks pass {
  from: 0/0 to: 0/0
  command: bind connect udpassociate bindreply udpreply
  log: error connect
}
EOF
    # foreground (no -D); setsid makes it the leader of a group cleanup() can stop whole
    setsid "${ON_CPU[@]}" "$DANTED" -f "$TMP/danted.conf" -N 1 > "$TMP/danted.out" 2>&1 &
    DANTED_PID=$!
    if ! wait_port "$PROXY_PORT"; then
        echo "danted did not start: $(cat "$TMP/danted.out") $(tail -n 5 "$TMP/danted.log" 2>/dev/null)" >&2
        exit 1
    fi
fi
PROXY_URL="socks5://127.0.0.1:$PROXY_PORT"
printf 'route {\n  from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = %s\n  proxyprotocol: socks_v5\n  command: connect udpassociate\n  method: none\n}\n' \
    "$PROXY_PORT" > "$TMP/socks.conf"

echo "== UDP through danted: round trips of one 32-byte datagram ($N per run) and throughput" \
     "($WINDOW in flight, ${PPS_SECONDS} s), $REPEATS runs =="
echo "   target 127.0.0.1:$TARGET_PORT (bench/udp_echo_server), proxy: ${PROXY_PORT:+danted 127.0.0.1:$PROXY_PORT, external 127.0.0.3}${PROXY_SKIP:+none};" \
     "$PIN_DESC; receive buffer $ROOM bytes"

# ---- modes: name | expected peer | command prefix (a string, word-split) | client mode
#              | the environment for strace/callgrind (VAR=VALUE words, "-" for none)
names=() peers=() prefixes=() kinds=() envs=() skipped=() notes=()
add_mode() { names+=("$1"); peers+=("$2"); prefixes+=("$3"); kinds+=("$4"); envs+=("$5"); }
add_mode "direct" "127.0.0.1" "" direct -
[ "$CONNECTED" = 1 ] && add_mode "direct, connected socket" "127.0.0.1" "" connect -
SX_ENV="" DANTE_ENV=""
if [ -n "$PROXY_SKIP" ]; then
    skipped+=("all proxied rows: $PROXY_SKIP")
else
    add_mode "hand-written UDP ASSOCIATE" "127.0.0.3" "" associate -
    if [ -n "$SOCKSIFY_LIB" ]; then
        SX_ENV="SOCKSIFY_PROXY=$PROXY_URL SOCKSIFY_PROXY_LOOPBACK=1"
        add_mode "socksify (LD_PRELOAD)" "127.0.0.3" "env LD_PRELOAD=$SOCKSIFY_LIB $SX_ENV" direct \
            "LD_PRELOAD=$(nodebug_copy "$SOCKSIFY_LIB" "$TMP") $SX_ENV"
        [ "$CONNECTED" = 1 ] && add_mode "socksify, connected socket" "127.0.0.3" \
            "env LD_PRELOAD=$SOCKSIFY_LIB $SX_ENV" connect "LD_PRELOAD=$(nodebug_copy "$SOCKSIFY_LIB" "$TMP") $SX_ENV"
    else
        skipped+=("socksify: libsocksify.so not built (swift build -c release)")
    fi
    if [ -z "$DANTE_LIB" ] || ! grep -q libdsocks "$DANTE_SOCKSIFY" 2>/dev/null; then
        skipped+=("Dante socksify: dante-client not installed (apt-get install dante-client)")
    else
        DANTE_ENV="SOCKS_CONF=$TMP/socks.conf SOCKS_AUTOADD_LANROUTES=no"
        add_mode "Dante socksify" "127.0.0.3" "env $DANTE_ENV $DANTE_SOCKSIFY" direct "LD_PRELOAD=$DANTE_LIB $DANTE_ENV"
    fi
fi

# client_args KIND -> sets CARGS, the udp_latency arguments naming the target for that mode
client_args() {
    case "$1" in
        direct) CARGS=(--direct 127.0.0.1 "$TARGET_PORT");;
        connect) CARGS=(--connect --direct 127.0.0.1 "$TARGET_PORT");;
        associate) CARGS=(--associate "127.0.0.1:$PROXY_PORT" 127.0.0.1 "$TARGET_PORT");;
    esac
}

# run_mode INDEX OPTIONS... -> prints udp_latency's result line; returns its status.
# The client runs in the background and is waited for, so INT/TERM stop it at once.
# Every successful run of a proxied mode is one UDP association: counted in ASSOCIATIONS.
ASSOCIATIONS=0
run_mode() {
    local i="$1" rc; shift
    client_args "${kinds[$i]}"
    # shellcheck disable=SC2086
    "${ON_CPU[@]}" ${prefixes[$i]} "$UL" "$@" --expect-peer "${peers[$i]}" "${CARGS[@]}" &
    CHILD=$!
    wait "$CHILD"; rc=$?
    CHILD=""
    [ "$rc" = 0 ] && [ "${peers[$i]}" = 127.0.0.3 ] && ASSOCIATIONS=$((ASSOCIATIONS + 1))
    return "$rc"
}

# ---- Dante's client with its defaults: does it proxy a loopback destination at all?
if [ -n "$DANTE_ENV" ]; then
    client_args direct
    "${ON_CPU[@]}" env SOCKS_CONF="$TMP/socks.conf" "$DANTE_SOCKSIFY" "$UL" -n 1 -w 0 --expect-peer 127.0.0.3 \
        "${CARGS[@]}" > "$TMP/dante-default.out" 2> "$TMP/dante-default.err"
    case $? in
        0) ASSOCIATIONS=$((ASSOCIATIONS + 1))
           notes+=("Dante's client proxies 127.0.0.1 even without SOCKS_AUTOADD_LANROUTES=no here");;
        3) notes+=("Dante's client without SOCKS_AUTOADD_LANROUTES=no sends 127.0.0.1 direct ($(sed -n 's/.*\(echo server saw [0-9.]*\).*/\1/p' "$TMP/dante-default.err" | head -n 1)): its automatic direct routes for the machine's own networks cover 127.0.0.0/8, and any 127.x address alike; the row sets it to no");;
        *) notes+=("Dante's client with its defaults failed: $(tail -n 1 "$TMP/dante-default.err")");;
    esac
fi

# ---- sanity check each mode once (is it proxied at all?) and drop the ones that fail
active=()
for i in "${!names[@]}"; do
    run_mode "$i" -n 1 -w 0 >"$TMP/check.out" 2>"$TMP/check.err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^median_us=' "$TMP/check.out"; then
        active+=("$i")
    else
        [ "$rc" = 0 ] && echo "exit 0 but no result line; stdout: $(head -c 200 "$TMP/check.out")" >> "$TMP/check.err"
        why="$(tail -n 1 "$TMP/check.err")"
        if [ "$rc" = 3 ]; then why="NOT PROXIED: $why"; else why="FAILED (exit $rc): $why"; fi
        skipped+=("${names[$i]}: $why")
    fi
done

# ---- measure, interleaving the modes in each repeat
results="$TMP/results.tsv"
: > "$results"
lost_total=0
field() { grep -o "\\b$1=[0-9.]*" <<<"$2" | head -n 1 | cut -d= -f2; }
for r in $(seq 1 "$REPEATS"); do
    for i in "${active[@]}"; do
        for what in latency pps; do
            if [ "$what" = latency ]; then opts=(-n "$N" -w 200); else opts=(-T "$PPS_SECONDS" -W "$WINDOW" -w 2000); fi
            opts+=(-r "$ROOM")
            if run_mode "$i" "${opts[@]}" >"$TMP/run.out" 2>"$TMP/run.err"; then
                line="$(grep -E '^(median_us|pps)=' "$TMP/run.out" | tail -n 1)"
                if [ "$what" = latency ]; then
                    l="$(field lost "$line")"; lost_total=$((lost_total + ${l:-0}))
                    a="$(field median_us "$line")" b="$(field p90_us "$line")"
                else
                    a="$(field pps "$line")" b="$(field lost "$line")"
                    lost_total=$((lost_total + ${b:-0}))
                fi
                c="$(field first_us "$line")"
                if [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ]; then
                    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "${names[$i]}" "$what" "$a" "$b" "$c" "$r" >> "$results"
                else
                    note "run $r ($what) of '${names[$i]}' printed no result line"
                fi
            else
                note "run $r ($what) of '${names[$i]}' failed: $(tail -n 1 "$TMP/run.err")"
            fi
        done
    done
done

python3 - "$results" <<'PY'
import statistics, sys
lat, pps, first, order, per_run, per_run_pps = {}, {}, {}, [], {}, {}
for line in open(sys.argv[1]):
    i, name, what, a, b, c, r = line.rstrip("\n").split("\t")
    if name not in order:
        order.append(name)
    if what == "latency":
        lat.setdefault(name, ([], []))
        lat[name][0].append(float(a)); lat[name][1].append(float(b))
        per_run.setdefault(name, {})[r] = float(a)
    else:
        pps.setdefault(name, []).append(float(a))
        per_run_pps.setdefault(name, {})[r] = float(a)
    first.setdefault(name, []).append(float(c))
med = statistics.median
def m(d, n, k=None):
    if n not in d: return None
    return med(d[n] if k is None else d[n][k])
direct, hand = m(lat, "direct", 0), m(lat, "hand-written UDP ASSOCIATE", 0)
pdirect, phand = m(pps, "direct"), m(pps, "hand-written UDP ASSOCIATE")
f = lambda x, spec: "-" if x is None else format(x, spec)
print(f"  {'what':<28} {'median us':>9} {'p90 us':>7} {'x direct':>8} {'x hand':>7} {'- hand us':>9}"
      f" {'pps':>8} {'x direct':>8} {'x hand':>7} {'setup us':>9} {'runs':>4}")
for n in order:
    md, p9, pp = m(lat, n, 0), m(lat, n, 1), m(pps, n)
    print(f"  {n:<28} {f(md, '9.1f')} {f(p9, '7.1f')}"
          f" {f(md / direct if md and direct else None, '8.2f')} {f(md / hand if md and hand else None, '7.2f')}"
          f" {f(md - hand if md is not None and hand else None, '+9.1f')}"
          f" {f(pp, '8.0f')} {f(pp / pdirect if pp and pdirect else None, '8.2f')}"
          f" {f(pp / phand if pp and phand else None, '7.2f')}"
          f" {f(med(first[n]), '9.0f')} {len(lat.get(n, ([],))[0]):>4}")
# the modes take turns, so the difference within each repeat shows the noise of one run
hw, hwp = per_run.get("hand-written UDP ASSOCIATE", {}), per_run_pps.get("hand-written UDP ASSOCIATE", {})
rows = [n for n in order if n not in ("direct", "direct, connected socket", "hand-written UDP ASSOCIATE")]
if (hw or hwp) and rows:
    print("  against hand-written within each repeat (the modes take turns): median - hand us | pps / hand")
    for n in rows:
        diffs = [per_run[n][r] - hw[r] for r in sorted(per_run.get(n, {}), key=int) if r in hw]
        ratios = [per_run_pps[n][r] / hwp[r] for r in sorted(per_run_pps.get(n, {}), key=int) if r in hwp]
        print(f"    {n:<26} " + " ".join(f"{d:+.1f}" for d in diffs) + "  |  " + " ".join(f"{x:.2f}" for x in ratios))
PY
for s in "${notes[@]}"; do echo "  note: $s"; done
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
[ "$lost_total" -gt 0 ] && echo "  note: $lost_total datagrams were lost over all runs (a lost one is left out of the latency, and the window refilled)"
if [ -f "$TMP/danted.log" ] && [ "$ASSOCIATIONS" -gt 0 ]; then
    # "log: connect" in the socks rule: danted writes one line per UDP association it opens
    seen="$(grep -c 'udp/udpassociate \[' "$TMP/danted.log" || true)"
    if [ "$seen" = "$ASSOCIATIONS" ]; then
        echo "  danted's log shows $seen UDP associations: one for each proxied client run, checks included"
    else
        echo "  WARNING: danted's log shows $seen UDP associations, but $ASSOCIATIONS proxied client runs passed"
    fi
fi

[ "${#active[@]}" -gt 0 ] || exit 0
# ---- without a clock: system calls and instructions per round trip in the client process
count_env() { # VARS -> the words to put after `env`
    [ "$1" = - ] || echo "$1"
}
echo
echo "== UDP: per round trip in the client process: system calls (strace -f -c, $STRACE_N - 1)" \
     "and user-space instructions (callgrind, $CG_N - 1) =="
if ! command -v strace >/dev/null; then
    notes2="strace not installed (apt-get install -y strace)"
else
    notes2=""
fi
: > "$TMP/counts.tsv"
for i in "${active[@]}"; do
    row="${names[$i]}"
    vars="$(count_env "${envs[$i]}")"
    # shellcheck disable=SC2086
    client_args "${kinds[$i]}"
    args=(--expect-peer "${peers[$i]}" "${CARGS[@]}")
    # strace: counts per system call, for 1 and for STRACE_N round trips
    for n in 1 "$STRACE_N"; do
        if [ -z "$notes2" ]; then
            # shellcheck disable=SC2086
            env $vars strace -f -c -o "$TMP/st.$i.$n" "$UL" -n "$n" -w 0 "${args[@]}" \
                > /dev/null 2> "$TMP/st.err" || : > "$TMP/st.$i.$n"
        fi
    done
    # callgrind: total instructions, all threads of the client, receive buffer 64 KiB and 2 KiB
    for room in 65536 2048; do
        for n in 1 "$CG_N"; do
            out=""
            if [ -n "$VALGRIND" ]; then
                rm -f "$TMP/cg.log"
                # shellcheck disable=SC2086
                if env $vars "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null --log-file="$TMP/cg.log" \
                        "$UL" -n "$n" -w 0 -r "$room" "${args[@]}" < /dev/null > /dev/null 2>&1; then
                    out="$(awk '/Collected :/ { s += $NF; found = 1 } END { if (found) print s }' "$TMP/cg.log")"
                fi
            fi
            row="$row"$'\t'"$out"
        done
    done
    printf '%s\t%s\n' "$i" "$row" >> "$TMP/counts.tsv"
done
python3 - "$TMP" "$STRACE_N" "$CG_N" <<'PY'
import os, sys
tmp, sn, cn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def strace_counts(path):
    counts = {}
    try:
        for line in open(path):
            parts = line.split()
            if len(parts) >= 5 and parts[-1] != "total" and parts[0][0].isdigit():
                counts[parts[-1]] = int(parts[3])
    except OSError:
        pass
    return counts
print(f"  {'what':<28} {'syscalls':>8}  {'instructions, recv 64 KiB':>25} {'recv 2 KiB':>11}   syscalls by name")
for line in open(os.path.join(tmp, "counts.tsv")):
    i, name, a1, an, b1, bn = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
    one, many = strace_counts(f"{tmp}/st.{i}.1"), strace_counts(f"{tmp}/st.{i}.{sn}")
    if one and many:
        per = {k: (many.get(k, 0) - one.get(k, 0)) / (sn - 1) for k in set(one) | set(many)}
        per = {k: v for k, v in per.items() if v >= 0.05}
        total = f"{sum(per.values()):8.1f}"
        names = "  ".join(f"{k} {v:.1f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]))
    else:
        total, names = f"{'-':>8}", "(strace run failed or not installed)"
    ins = lambda x, y, w: f"{(int(y) - int(x)) // (cn - 1):>{w},}" if x and y else f"{'-':>{w}}"
    print(f"  {name:<28} {total}  {ins(a1, an, 25)} {ins(b1, bn, 11)}   {names}")
PY
echo "  (callgrind counts every byte that memset's \`rep stosb\` writes as one instruction: zeroing 64 KiB"
echo "  shows as ~65,000 but takes well under a microsecond; the 2 KiB column is closer to the work done)"
[ -n "$notes2" ] && echo "  skipped strace: $notes2"
[ -z "$VALGRIND" ] && echo "  skipped callgrind: valgrind not installed (apt-get install -y valgrind)"
exit 0
