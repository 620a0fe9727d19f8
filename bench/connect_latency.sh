#!/usr/bin/env bash
# Per-connection latency: {socket, connect, write 32 B, read 32 B, close} against a
# local C echo server, direct and through microsocks in several ways:
#   direct                 no proxy
#   hand-written SOCKS5    connect_latency --socks5: the client speaks SOCKS5 itself
#   socksify (LD_PRELOAD)  LD_PRELOAD=libsocksify.so SOCKSIFY_PROXY=… SOCKSIFY_PROXY_LOOPBACK=1
#   socksify (launcher)    socksify -q -p socks5://… --proxy-loopback -- (when the launcher is built)
#   proxychains4           proxychains4 -q -f conf (strict_chain, quiet_mode)
#   remote DNS rows        by IP and by name (connect_latency --name bench.test: every
#                          timed iteration is getaddrinfo + freeaddrinfo + the round trip):
#                          socksify with SOCKSIFY_PROXY=socks5h://…, proxychains4 with
#                          proxy_dns (remote_dns_subnet 224), and the hand-written client
#                          sending the name itself (SOCKS5 address type 3, no lookup).
#                          Only the proxy can resolve bench.test: microsocks runs in a private
#                          mount namespace whose /etc/hosts maps it to 127.0.0.1 (unshare -m);
#                          the client's /etc/hosts does not have it.
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
find_valgrind
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
start_echo_server "$TMP" || exit 1

# ---- proxy: microsocks on 127.0.0.1, outgoing connections from 127.0.0.2. When
# possible it runs in a private mount namespace with its own /etc/hosts, so that it (and
# only it) resolves $BENCH_NAME to the echo server: the by-name rows need that.
BENCH_NAME="bench.test"   # .test never resolves in real DNS (RFC 2606)
PROXY_PORT="" NAME_PROXY=0 NAME_SKIP=""
if [ -n "$MICROSOCKS_BIN" ]; then
    PROXY_PORT="$(free_port)"
    printf '127.0.0.1\tlocalhost\n127.0.0.1\t%s\n' "$BENCH_NAME" > "$TMP/proxy-hosts"
    # ($1, $2 in single quotes are the inner shell's arguments)
    # shellcheck disable=SC2016
    if getent hosts "$BENCH_NAME" >/dev/null 2>&1; then
        NAME_SKIP="$BENCH_NAME resolves on this machine (remove it from /etc/hosts): the client must not find it"
    elif ! command -v unshare >/dev/null; then
        NAME_SKIP="unshare (util-linux) not installed"
    elif ! unshare -m sh -c 'mount --bind "$1" /etc/hosts && getent hosts "$2"' sh "$TMP/proxy-hosts" "$BENCH_NAME" \
            >/dev/null 2>"$TMP/unshare.err"; then
        NAME_SKIP="cannot give the proxy its own /etc/hosts (unshare -m needs root): $(tail -n 1 "$TMP/unshare.err")"
    else
        NAME_PROXY=1
    fi
    if [ "$NAME_PROXY" = 1 ]; then
        # unshare and sh exec, so $! is microsocks itself
        # shellcheck disable=SC2016
        unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$TMP/proxy-hosts" \
            "$MICROSOCKS_BIN" -i 127.0.0.1 -p "$PROXY_PORT" -b 127.0.0.2 > "$TMP/microsocks.log" 2>&1 &
    else
        "$MICROSOCKS_BIN" -i 127.0.0.1 -p "$PROXY_PORT" -b 127.0.0.2 > "$TMP/microsocks.log" 2>&1 &
    fi
    PIDS+=($!)
    wait_port "$PROXY_PORT" || { echo "microsocks did not start: $(cat "$TMP/microsocks.log")" >&2; exit 1; }
    write_peer_configs "$PROXY_PORT" "$TMP"
    # proxychains-ng's remote DNS: names get 224.x.y.z addresses from its helper, and the
    # name is sent to the proxy (remote_dns_subnet 224 is the default, written out here)
    sed 's/^quiet_mode$/quiet_mode\nproxy_dns\nremote_dns_subnet 224/' "$TMP/proxychains.conf" > "$TMP/proxychains-dns.conf"
fi
PROXY_URL="socks5://127.0.0.1:$PROXY_PORT"
PROXY_URL_H="socks5h://127.0.0.1:$PROXY_PORT"

echo "== connect latency: socket+connect+32 B round trip+close, $N iterations x $REPEATS runs =="
if [ -n "$PROXY_PORT" ]; then proxy_desc="microsocks 127.0.0.1:$PROXY_PORT -b 127.0.0.2"; else proxy_desc="none"; fi
[ "$NAME_PROXY" = 1 ] && proxy_desc="$proxy_desc, resolving $BENCH_NAME -> 127.0.0.1 in its own mount namespace"
echo "   target 127.0.0.1:$TARGET_PORT (bench/echo_server), proxy: $proxy_desc"

# ---- modes: name | expected peer | command prefix (array stored as a string, eval'd)
#              | how the client names the target: ip (127.0.0.1 PORT) or name (--name)
names=() peers=() prefixes=() bynames=() skipped=()
add_mode() { names+=("$1"); peers+=("$2"); prefixes+=("$3"); bynames+=("${4:-ip}"); }
# pairs for the remote DNS tables: label, by-IP mode, by-name mode, and the environment
# that gives the same setup under callgrind (VAR=VALUE words; "-" for none)
: > "$TMP/pairs.tsv"
add_pair() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$TMP/pairs.tsv"; }
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
    # remote DNS: by IP and by name through a proxy that resolves names
    if [ -n "$NAME_SKIP" ]; then
        skipped+=("by-name rows: $NAME_SKIP")
    else
        add_mode "hand-written SOCKS5, by name" "127.0.0.2" "HANDWRITTEN" name
        add_pair "hand-written SOCKS5 (no lookup)" "hand-written SOCKS5" "hand-written SOCKS5, by name" -
        if [ -n "$SOCKSIFY_LIB" ]; then
            sx_h="env LD_PRELOAD=$SOCKSIFY_LIB SOCKSIFY_PROXY=$PROXY_URL_H SOCKSIFY_PROXY_LOOPBACK=1"
            add_mode "socksify socks5h, by IP" "127.0.0.2" "$sx_h" ip
            add_mode "socksify socks5h, by name" "127.0.0.2" "$sx_h" name
            add_pair "socksify (socks5h://)" "socksify socks5h, by IP" "socksify socks5h, by name" \
                "LD_PRELOAD=$(nodebug_copy "$SOCKSIFY_LIB" "$TMP") SOCKSIFY_PROXY=$PROXY_URL_H SOCKSIFY_PROXY_LOOPBACK=1"
        fi
        if [ -n "$PROXYCHAINS_BIN" ]; then
            pc_d="$PROXYCHAINS_BIN -q -f $TMP/proxychains-dns.conf"
            add_mode "proxychains4 proxy_dns, by IP" "127.0.0.2" "$pc_d" ip
            add_mode "proxychains4 proxy_dns, by name" "127.0.0.2" "$pc_d" name
            add_pair "proxychains4 (proxy_dns)" "proxychains4 proxy_dns, by IP" "proxychains4 proxy_dns, by name" \
                "LD_PRELOAD=$PROXYCHAINS_LIB PROXYCHAINS_CONF_FILE=$TMP/proxychains-dns.conf PROXYCHAINS_QUIET_MODE=1"
        fi
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
    local target=(127.0.0.1 "$TARGET_PORT")
    [ "${bynames[$i]}" = name ] && target=(--name "$BENCH_NAME" "$TARGET_PORT")
    if [ "$prefix" = HANDWRITTEN ]; then
        "$CL" "${args[@]}" --socks5 "127.0.0.1:$PROXY_PORT" "${target[@]}" &
    else
        # shellcheck disable=SC2086
        $prefix "$CL" "${args[@]}" "${target[@]}" &
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
                printf '%s\t%s\t%s\t%s\t%s\n' "$i" "${names[$i]}" "$med" "$p90" "$r" >> "$results"
            else
                note "run $r of '${names[$i]}' printed no result line"
            fi
        else
            note "run $r of '${names[$i]}' failed: $(tail -n 1 "$TMP/run.err")"
        fi
    done
done

python3 - "$results" "$TMP/pairs.tsv" <<'PY'
import statistics, sys
by = {}
order = []
for line in open(sys.argv[1]):
    i, name, med, p90, r = line.rstrip("\n").split("\t")
    if name not in by:
        by[name] = ([], []); order.append(name)
    by[name][0].append(float(med)); by[name][1].append(float(p90))
summary = {n: (statistics.median(m), statistics.median(p), len(m)) for n, (m, p) in by.items()}
direct = summary.get("direct", (None,))[0]
hand = summary.get("hand-written SOCKS5", (None,))[0]
print(f"  {'what':<32} {'median us':>10} {'p90 us':>9} {'x direct':>9} {'x hand-written':>15} {'runs':>5}")
for n in order:
    med, p90, runs = summary[n]
    xd = f"{med / direct:.2f}" if direct else "-"
    xh = f"{med / hand:.2f}" if hand else "-"
    print(f"  {n:<32} {med:>10.1f} {p90:>9.1f} {xd:>9} {xh:>15} {runs:>5}")

# remote DNS: what connecting by name costs over connecting by IP, per tool. The modes
# take turns within each repeat, so the per-run differences are shown too (their spread
# is the noise of one run).
runs_of = {}
for line in open(sys.argv[1]):
    i, name, med, p90, r = line.rstrip("\n").split("\t")
    runs_of.setdefault(name, {})[r] = float(med)
pairs = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
pairs = [p for p in pairs if p[1] in summary and p[2] in summary]
open(sys.argv[2] + ".measured", "w").writelines("\t".join(p) + "\n" for p in pairs)
if pairs:
    print()
    print("  remote DNS: connecting by name (getaddrinfo + freeaddrinfo in the timed loop) minus by IP")
    print(f"  {'tool':<32} {'by IP us':>9} {'by name us':>11} {'name - IP us':>13}   per-run differences")
    for label, ip, nm, *_ in pairs:
        a, b = summary[ip][0], summary[nm][0]
        per = [runs_of[nm][r] - runs_of[ip][r] for r in runs_of[ip] if r in runs_of[nm]]
        per_s = " ".join(f"{d:+.1f}" for d in per)
        print(f"  {label:<32} {a:>9.1f} {b:>11.1f} {b - a:>+13.1f}   {per_s}")
PY
for s in "${skipped[@]}"; do echo "  skipped: $s"; done

# ---- remote DNS in instructions: what one connection costs the client process, counted
# by callgrind (all its threads): (count with -n 101) - (count with -n 1), divided by 100.
# This does not move with the machine's load, and shows the client's side alone.
[ -s "$TMP/pairs.tsv.measured" ] || exit 0
echo
echo "== remote DNS: instructions per connection in the client process (callgrind, 101 - 1 connections) =="
if [ -z "$VALGRIND" ]; then
    echo "  skipped: valgrind not installed (apt-get install -y valgrind)"
    exit 0
fi
cg_count() { # ENVWORDS N TARGET... -> total instructions, or nothing
    local vars="$1" n="$2" log="$TMP/cg.log"; shift 2
    local socks=()
    [ "$vars" = - ] && { vars=""; socks=(--socks5 "127.0.0.1:$PROXY_PORT"); }
    rm -f "$log"
    # shellcheck disable=SC2086
    env $vars "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" \
        "$CL" -n "$n" -w 0 "${socks[@]}" "$@" < /dev/null > "$TMP/cg.out" 2>&1 || return 0
    awk '/Collected :/ { s += $NF; found = 1 } END { if (found) print s }' "$log"
}
: > "$TMP/cg.tsv"
while IFS=$'\t' read -r label _ _ vars; do
    row="$label"
    for target in "127.0.0.1 $TARGET_PORT" "--name $BENCH_NAME $TARGET_PORT"; do
        # shellcheck disable=SC2086
        one="$(cg_count "$vars" 1 $target)"
        # shellcheck disable=SC2086
        many="$(cg_count "$vars" 101 $target)"
        if [ -n "$one" ] && [ -n "$many" ]; then row="$row"$'\t'$(( (many - one) / 100 )); else row="$row"$'\t'; fi
    done
    printf '%s\n' "$row" >> "$TMP/cg.tsv"
done < "$TMP/pairs.tsv.measured"
python3 - "$TMP/cg.tsv" <<'PY'
import sys
print(f"  {'tool':<32} {'by IP':>10} {'by name':>10} {'name - IP':>10}")
for line in open(sys.argv[1]):
    label, ip, nm = (line.rstrip("\n").split("\t") + ["", ""])[:3]
    if not ip or not nm:
        print(f"  {label:<32} {'-':>10} {'-':>10} {'-':>10}   (callgrind run failed)"); continue
    print(f"  {label:<32} {int(ip):>10,} {int(nm):>10,} {int(nm) - int(ip):>+10,}")
PY
