#!/usr/bin/env bash
# What a rules file of 1,000 rules costs (bench/gen_rules.py writes it; see bench/README.md):
#
#  1. rules-bench (release build): RulesParser.parse time, and Router.route ns per lookup
#     for all 1,000 rules and for the rules that apply to one program.
#  2. Connect latency end to end (bench/connect_latency under LD_PRELOAD, through microsocks):
#     SOCKSIFY_PROXY=socks5://… against SOCKSIFY_CONFIG= the 1,000-rule file (rules for other
#     programs dropped at start, the target walks the rest to `default via bench`), the same
#     file with every rule applying (--all-apply), and a small file like examples/socksify.conf.
#  3. Start-up in instructions (callgrind): a program making ONE connection
#     (connect_latency -n 1 -w 0) under each of the configurations above. The shim reads and
#     parses the file on the first interposed call, so the difference to SOCKSIFY_PROXY is the
#     parse, the filtering, and whatever the rules make the shim set up.
#  4. The same one-connection program in wall-clock time (hyperfine -N, median of RUNS runs).
#
# Env: N (iterations per latency run, default 2000), REPEATS (default 5), RULES (default 1000),
#      RUNS (wall-clock runs, default 100),
#      SOCKSIFY_BIN, SOCKSIFY_LIB, RULES_BENCH (paths; see common.sh).
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N="${N:-2000}"
REPEATS="${REPEATS:-5}"
RULES="${RULES:-1000}"
RUNS="${RUNS:-100}"
find_socksify
find_rules_bench
find_peers
find_valgrind
warn_if_busy
build_bench_tools || { echo "failed to build bench tools" >&2; exit 1; }
CL="$BENCH_BIN/connect_latency"

TMP="$(mktemp -d /tmp/socksify-bench-rules.XXXXXX)"
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

# ---- the files. The bench proxy's port must be known first: the files name it.
PROXY_PORT=""
[ -n "$MICROSOCKS_BIN" ] && PROXY_PORT="$(free_port)"
BENCH_PROXY="socks5://127.0.0.1:${PROXY_PORT:-1080}"
BIG="$TMP/rules-$RULES.conf" ALL="$TMP/rules-$RULES-all-apply.conf" SMALL="$TMP/rules-small.conf"
python3 "$BENCH_DIR/gen_rules.py" --rules "$RULES" --bench-proxy "$BENCH_PROXY" > "$BIG" || exit 1
python3 "$BENCH_DIR/gen_rules.py" --rules "$RULES" --bench-proxy "$BENCH_PROXY" --all-apply > "$ALL" || exit 1
# examples/socksify.conf, with the bench proxy as the default instead of `default block`
{
    grep -v '^default' "$REPO_DIR/examples/socksify.conf"
    printf 'proxy bench %s\ndefault via bench\nset proxy-loopback\n' "$BENCH_PROXY"
} > "$SMALL"
# the files name a password-env variable (proxy corp), as a real file would
export CORP_PROXY_PASSWORD=bench-password
if [ -n "$SOCKSIFY_BIN" ]; then
    for f in "$BIG" "$ALL" "$SMALL"; do
        "$SOCKSIFY_BIN" check "$f" >/dev/null 2>"$TMP/check.err" ||
            { echo "generated rules file does not parse: $(head -n 3 "$TMP/check.err")" >&2; exit 1; }
    done
fi

# ---- 1. rules-bench
if [ -z "$RULES_BENCH" ]; then
    echo "== rules: parse and lookup =="
    echo "  skipped: rules-bench not built (swift build -c release)"
elif "$RULES_BENCH" "$BIG" > "$TMP/rb.out" 2> "$TMP/rb.err"; then
    cat "$TMP/rb.out"
else
    echo "== rules: parse and lookup =="
    echo "  skipped: rules-bench failed: $(tail -n 2 "$TMP/rb.err" "$TMP/rb.out")"
fi
echo

if [ -z "$SOCKSIFY_LIB" ]; then
    echo "== rules: end to end =="
    echo "  skipped: libsocksify-preload.so not built (swift build -c release)"
    exit 0
fi
if [ -z "$PROXY_PORT" ]; then
    echo "== rules: end to end =="
    echo "  skipped: microsocks not installed (apt-get install microsocks)"
    exit 0
fi

# ---- target and proxy, as in connect_latency.sh
start_echo_server "$TMP" || exit 1
"$MICROSOCKS_BIN" -i 127.0.0.1 -p "$PROXY_PORT" -b 127.0.0.2 > "$TMP/microsocks.log" 2>&1 &
PIDS+=($!)
wait_port "$PROXY_PORT" || { echo "microsocks did not start: $(cat "$TMP/microsocks.log")" >&2; exit 1; }

# how many rules apply to connect_latency (no app list, or an app list matching it)
applying="$(awk '$1 == "rule" { n++; if ($2 != "app") a++ } END { print a + 0 }' "$BIG")"

# ---- modes: name | environment (both the proxy URL and the file unset first)
names=() envs=()
add_mode() { names+=("$1"); envs+=("$2"); }
base="env -u SOCKSIFY_PROXY -u SOCKSIFY_CONFIG LD_PRELOAD=$SOCKSIFY_LIB"
add_mode "SOCKSIFY_PROXY (no rules)" "$base SOCKSIFY_PROXY=$BENCH_PROXY SOCKSIFY_PROXY_LOOPBACK=1"
add_mode "small file (examples/)" "$base SOCKSIFY_CONFIG=$SMALL"
add_mode "$RULES rules, $applying apply" "$base SOCKSIFY_CONFIG=$BIG"
add_mode "$RULES rules, all apply" "$base SOCKSIFY_CONFIG=$ALL"

run_mode() { # INDEX N WARMUP
    local i="$1" n="$2" w="$3" rc
    # shellcheck disable=SC2086
    ${envs[$i]} "$CL" -n "$n" -w "$w" --expect-peer 127.0.0.2 127.0.0.1 "$TARGET_PORT" &
    CHILD=$!
    wait "$CHILD"; rc=$?
    CHILD=""
    return "$rc"
}

echo "== rules: connect latency end to end, $N iterations x $REPEATS runs =="
echo "   bench/connect_latency under LD_PRELOAD -> microsocks 127.0.0.1:$PROXY_PORT -> echo server 127.0.0.1:$TARGET_PORT;"
echo "   every file ends in 'default via bench', which no rule before it matches for this target"
active=() skipped=()
for i in "${!names[@]}"; do
    if run_mode "$i" 1 0 > "$TMP/check.out" 2> "$TMP/check.err" && grep -q '^median_us=' "$TMP/check.out"; then
        active+=("$i")
    else
        skipped+=("${names[$i]}: $(tail -n 1 "$TMP/check.err")")
    fi
done
results="$TMP/results.tsv"
: > "$results"
for r in $(seq 1 "$REPEATS"); do
    for i in "${active[@]}"; do
        if run_mode "$i" "$N" 50 > "$TMP/run.out" 2> "$TMP/run.err"; then
            line="$(grep '^median_us=' "$TMP/run.out" | tail -n 1)"
            med="$(sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' <<<"$line")"
            p90="$(sed -n 's/.*p90_us=\([0-9.]*\).*/\1/p' <<<"$line")"
            [ -n "$med" ] && printf '%s\t%s\t%s\t%s\n' "${names[$i]}" "$med" "$p90" "$r" >> "$results"
        else
            note "run $r of '${names[$i]}' failed: $(tail -n 1 "$TMP/run.err")"
        fi
    done
done
python3 - "$results" <<'PY'
import statistics, sys
runs, order = {}, []
for line in open(sys.argv[1]):
    name, med, p90, r = line.rstrip("\n").split("\t")
    if name not in runs:
        runs[name] = {}; order.append(name)
    runs[name][r] = (float(med), float(p90))
if not order:
    print("  no results"); sys.exit(0)
base = order[0]
bmed = statistics.median(m for m, _ in runs[base].values())
print(f"  {'configuration':<28} {'median us':>10} {'p90 us':>8} {'- no rules us':>14}   per-run differences")
for n in order:
    med = statistics.median(m for m, _ in runs[n].values())
    p90 = statistics.median(p for _, p in runs[n].values())
    diffs = [runs[n][r][0] - runs[base][r][0] for r in runs[n] if r in runs[base]]
    d = "" if n == base else f"{med - bmed:+.1f}"
    per = "" if n == base else " ".join(f"{x:+.1f}" for x in diffs)
    print(f"  {n:<28} {med:>10.1f} {p90:>8.1f} {d:>14}   {per}")
PY
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
echo

# ---- 3. start-up: instructions of a program making one connection
# cg_row NAME ENV... -- PROGRAM ARGS...: the total instruction count ("Collected :") of one
# run under callgrind, with only the given SOCKSIFY_* variables set
cg_row() {
    local name="$1" count="" log="$TMP/cg.log"; shift
    local vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    rm -f "$log"
    if env -u SOCKSIFY_PROXY -u SOCKSIFY_CONFIG "${vars[@]}" \
            "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" "$@" > "$TMP/cg.out" 2>&1; then
        count="$(awk '/Collected :/ { s += $NF; found = 1 } END { if (found) print s }' "$log")"
    else
        note "callgrind run failed for '$name': $(tail -n 3 "$TMP/cg.out" | tr '\n' ' ')"
    fi
    printf '%s\t%s\n' "$name" "$count" >> "$TMP/cg.tsv"
}

startup_instructions() {
    local lib one true_bin
    lib="$(nodebug_copy "$SOCKSIFY_LIB" "$TMP")"
    one=("$CL" -n 1 -w 0 127.0.0.1 "$TARGET_PORT")
    : > "$TMP/cg.tsv"
    cg_row "direct, no shim" -- "${one[@]}"
    cg_row "SOCKSIFY_PROXY (no rules)" LD_PRELOAD="$lib" SOCKSIFY_PROXY="$BENCH_PROXY" SOCKSIFY_PROXY_LOOPBACK=1 -- "${one[@]}"
    cg_row "small file (examples/)" LD_PRELOAD="$lib" SOCKSIFY_CONFIG="$SMALL" -- "${one[@]}"
    cg_row "$RULES rules, $applying apply" LD_PRELOAD="$lib" SOCKSIFY_CONFIG="$BIG" -- "${one[@]}"
    cg_row "$RULES rules, all apply" LD_PRELOAD="$lib" SOCKSIFY_CONFIG="$ALL" -- "${one[@]}"
    # the budget: what tsocks adds to a program at start-up (startup.sh measures the same)
    true_bin="$(command -v true)"; [ -x /bin/true ] && true_bin=/bin/true
    if [ -n "$TSOCKS_LIB" ]; then
        write_peer_configs 1080 "$TMP"
        cg_row "budget: /bin/true" -- "$true_bin"
        cg_row "budget: tsocks /bin/true" LD_PRELOAD="$TSOCKS_LIB" TSOCKS_CONF_FILE="$TMP/tsocks.conf" -- "$true_bin"
    fi
    python3 - "$TMP/cg.tsv" "$(wc -c < "$BIG")" "$(wc -c < "$SMALL")" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
val = {n: int(c) for n, c in rows if c}
base = val.get("SOCKSIFY_PROXY (no rules)")
print(f"  {'configuration':<28} {'instructions':>14} {'- no rules':>12}")
for n, c in rows:
    if n.startswith("budget"):
        continue
    if not c:
        print(f"  {n:<28} {'-':>14} {'-':>12}   (run failed, see note)"); continue
    d = "" if base is None or n.startswith("direct") or n.startswith("SOCKSIFY_PROXY") else f"{int(c) - base:+,}"
    print(f"  {n:<28} {int(c):>14,} {d:>12}")
t, tt = val.get("budget: /bin/true"), val.get("budget: tsocks /bin/true")
if t and tt:
    print(f"  budget: tsocks adds {tt - t:+,} instructions to /bin/true at start-up")
print(f"  (files: {int(sys.argv[2]):,} bytes with the rules, {int(sys.argv[3]):,} bytes small)")
PY
}

echo "== rules: start-up, instructions of connect_latency -n 1 (one proxied connection; callgrind) =="
if [ -z "$VALGRIND" ]; then
    echo "  skipped: valgrind not installed (apt-get install -y valgrind)"
else
    startup_instructions
fi
echo

# ---- 4. start-up: wall clock of the same one-connection program
echo "== rules: start-up, wall clock of connect_latency -n 1 (one proxied connection), median of $RUNS runs =="
if ! command -v hyperfine >/dev/null; then
    echo "  skipped: hyperfine not installed (apt-get install -y hyperfine)"
    exit 0
fi
wall="$TMP/wall.tsv"
: > "$wall"
wall_row() { # NAME COMMAND (every row starts with env, so each pays the same extra exec)
    if hyperfine -N --warmup 10 --runs "$RUNS" --style none --export-json "$TMP/hf.json" "$2" > "$TMP/hf.log" 2>&1; then
        python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["results"][0]["median"]; print("%s\t%.1f" % (sys.argv[2], m * 1e6))' \
            "$TMP/hf.json" "$1" >> "$wall"
    else
        note "hyperfine failed for $1: $(tail -n 2 "$TMP/hf.log" | tr '\n' ' ')"
        printf '%s\t\n' "$1" >> "$wall"
    fi
}
wall_row "direct, no shim" "env -u SOCKSIFY_PROXY -u SOCKSIFY_CONFIG $CL -n 1 -w 0 127.0.0.1 $TARGET_PORT"
for i in "${!names[@]}"; do
    wall_row "${names[$i]}" "${envs[$i]} $CL -n 1 -w 0 127.0.0.1 $TARGET_PORT"
done
python3 - "$wall" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
val = {n: float(c) for n, c in rows if c}
base = val.get("SOCKSIFY_PROXY (no rules)")
print(f"  {'configuration':<28} {'median us':>10} {'- no rules us':>14}")
for n, c in rows:
    if not c:
        print(f"  {n:<28} {'-':>10} {'-':>14}   (failed, see note)"); continue
    d = "" if base is None or n.startswith("direct") or n.startswith("SOCKSIFY_PROXY") else f"{float(c) - base:+.1f}"
    print(f"  {n:<28} {float(c):>10.1f} {d:>14}")
PY
