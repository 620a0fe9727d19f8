#!/usr/bin/env bash
# Startup cost of an LD_PRELOAD socksifier on a program that never connects.
#
#  1. Instructions executed by /bin/true (valgrind --tool=callgrind, total "Collected"),
#     bare and with each library preloaded: socksify, tsocks, torsocks, proxychains-ng, Dante.
#  2. Wall-clock median of RUNS runs (default 200; hyperfine if installed, else a python loop)
#     for /bin/true, `socksify -p … /bin/true`, `proxychains4 -q -f conf /bin/true`.
#
# Env: SOCKSIFY_BIN, SOCKSIFY_LIB (see common.sh), RUNS (default 200),
#      NO_HYPERFINE=1 to use the python timing loop even when hyperfine is installed.
# No proxy is needed: /bin/true never connects; the proxy URL only has to parse.
set -uo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${RUNS:-200}"
find_socksify
find_peers
warn_if_busy
TMP="$(mktemp -d /tmp/socksify-bench-startup.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
PROXY_PORT=1080            # nothing needs to listen here
PROXY_URL="socks5://127.0.0.1:$PROXY_PORT"
write_peer_configs "$PROXY_PORT" "$TMP"
TRUE_BIN="$(command -v true)"
[ -x /bin/true ] && TRUE_BIN=/bin/true

# ---------------------------------------------------------------- instructions
# callgrind_count ENV... : prints the total instruction count of /bin/true run
# under callgrind with the given extra environment, or nothing on failure.
callgrind_count() {
    local log="$TMP/cg.log"
    rm -f "$log"
    if ! env "$@" "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" "$TRUE_BIN" \
            >"$TMP/cg.out" 2>&1; then
        note "callgrind run failed for: $*"
        cat "$TMP/cg.out" "$log" 2>/dev/null | tail -n 12 | sed 's/^/    /' >&2
        return 0
    fi
    # "==PID== Collected : 128549" (one line per process; only one process here)
    awk '/Collected :/ { s += $NF; found = 1 } END { if (found) print s }' "$log"
}

find_valgrind   # valgrind.bin, not Debian's shell wrapper (see common.sh)

echo "== startup: instructions executed by $TRUE_BIN (callgrind) =="
if [ -z "$VALGRIND" ]; then
    echo "  skipped: valgrind not installed (apt-get install -y valgrind)"
else
    rows="$TMP/rows.tsv"
    : > "$rows"
    add_row() { # name count-or-empty note
        printf '%s\t%s\t%s\n' "$1" "${2:-}" "${3:-}" >> "$rows"
    }
    bare="$(callgrind_count)"
    add_row "bare" "$bare"
    if [ -n "$SOCKSIFY_LIB" ]; then
        # valgrind 3.19 gives up on some DWARF 5 that Swift emits ("debuginfo reader:
        # ... Giving up"); debug info does not change the instruction count, so measure a
        # copy without it.
        cg_lib="$(nodebug_copy "$SOCKSIFY_LIB" "$TMP")" cg_note=""
        [ "$cg_lib" != "$SOCKSIFY_LIB" ] && cg_note="(debug info stripped)"
        add_row "socksify (LD_PRELOAD)" "$(callgrind_count LD_PRELOAD="$cg_lib" SOCKSIFY_PROXY="$PROXY_URL")" "$cg_note"
    else
        add_row "socksify (LD_PRELOAD)" "" "libsocksify.so not built (swift build -c release)"
    fi
    if [ -n "$TSOCKS_LIB" ]; then
        add_row "tsocks" "$(callgrind_count LD_PRELOAD="$TSOCKS_LIB" TSOCKS_CONF_FILE="$TMP/tsocks.conf")"
    else add_row "tsocks" "" "not installed (apt-get install tsocks)"; fi
    if [ -n "$TORSOCKS_LIB" ]; then
        add_row "torsocks" "$(callgrind_count LD_PRELOAD="$TORSOCKS_LIB" TORSOCKS_CONF_FILE="$TMP/torsocks.conf")"
    else add_row "torsocks" "" "not installed (apt-get install torsocks)"; fi
    if [ -n "$PROXYCHAINS_LIB" ]; then
        add_row "proxychains-ng" "$(callgrind_count LD_PRELOAD="$PROXYCHAINS_LIB" PROXYCHAINS_CONF_FILE="$TMP/proxychains.conf")"
    else add_row "proxychains-ng" "" "not installed (apt-get install libproxychains4)"; fi
    if [ -n "$DANTE_LIB" ]; then
        add_row "dante (libdsocks)" "$(callgrind_count LD_PRELOAD="$DANTE_LIB" SOCKS_CONF="$TMP/dante.conf")"
    else add_row "dante (libdsocks)" "" "not installed (apt-get install dante-client)"; fi

    python3 - "$rows" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
bare = int(rows[0][1]) if rows and rows[0][1] else None
print(f"  {'what':<24} {'instructions':>14} {'extra over bare':>16} {'x bare':>8}")
for name, count, note in rows:
    if not count:
        print(f"  {name:<24} {'-':>14} {'-':>16} {'-':>8}   skipped: {note or 'run failed'}")
        continue
    c = int(count)
    extra = f"{c - bare:+,}" if bare else "?"
    ratio = f"{c / bare:.2f}" if bare else "?"
    print(f"  {name:<24} {c:>14,} {extra:>16} {ratio:>8}" + (f"   {note}" if note else ""))
PY
fi
echo

# ---------------------------------------------------------------- wall clock
echo "== startup: wall clock, median of $RUNS runs =="
names=() cmds=()
add_cmd() { names+=("$1"); cmds+=("$2"); }
add_cmd "/bin/true" "$TRUE_BIN"
skipped=()
if [ -n "$SOCKSIFY_BIN" ]; then
    add_cmd "socksify -p … /bin/true" "$SOCKSIFY_BIN -q -p $PROXY_URL -- $TRUE_BIN"
else
    skipped+=("socksify launcher: not built (swift build -c release)")
fi
if [ -n "$SOCKSIFY_LIB" ]; then
    add_cmd "env /bin/true" "env $TRUE_BIN"
    add_cmd "env LD_PRELOAD=libsocksify.so /bin/true" "env LD_PRELOAD=$SOCKSIFY_LIB SOCKSIFY_PROXY=$PROXY_URL $TRUE_BIN"
fi
if [ -n "$PROXYCHAINS_BIN" ]; then
    add_cmd "proxychains4 -q -f conf /bin/true" "$PROXYCHAINS_BIN -q -f $TMP/proxychains.conf $TRUE_BIN"
else
    skipped+=("proxychains4: not installed (apt-get install proxychains4)")
fi

results="$TMP/wall.tsv"
: > "$results"
if [ "${NO_HYPERFINE:-0}" != 1 ] && command -v hyperfine >/dev/null; then
    method="hyperfine -N"
    # one hyperfine call per command, so a failing command loses only its own row
    for i in "${!cmds[@]}"; do
        if hyperfine -N --warmup 20 --runs "$RUNS" --style none --export-json "$TMP/hf.json" "${cmds[$i]}" \
                >"$TMP/hf.log" 2>&1; then
            python3 - "$TMP/hf.json" "${names[$i]}" >> "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{sys.argv[2]}\t{r['median'] * 1e6:.1f}")
PY
        else
            note "hyperfine failed for ${cmds[$i]}:"; tail -n 5 "$TMP/hf.log" >&2
            printf '%s\tFAILED\n' "${names[$i]}" >> "$results"
        fi
    done
else
    method="python3 posix_spawn loop (hyperfine not installed)"
    python3 - "$RUNS" "${#names[@]}" "${names[@]}" "${cmds[@]}" >> "$results" <<'PY'
import os, shlex, statistics, sys, time
runs, n = int(sys.argv[1]), int(sys.argv[2])
names, cmds = sys.argv[3:3 + n], sys.argv[3 + n:3 + 2 * n]
# like hyperfine: the commands' stdout goes to /dev/null (stderr stays visible)
devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
for name, cmd in zip(names, cmds):
    argv = shlex.split(cmd)
    times = []
    for i in range(runs + 20):
        t0 = time.perf_counter_ns()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=devnull)
        _, status = os.waitpid(pid, 0)
        t1 = time.perf_counter_ns()
        if status != 0:
            print(f"note: {cmd}: exit status {status}", file=sys.stderr)
            print(f"{name}\tFAILED")
            break
        if i >= 20:
            times.append((t1 - t0) / 1000)
    else:
        print(f"{name}\t{statistics.median(times):.1f}")
PY
fi
python3 - "$results" "$method" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print(f"  method: {sys.argv[2]}")
if not rows:
    print("  no results"); sys.exit(0)
base = float(rows[0][1]) if rows[0][1] != "FAILED" else None
print(f"  {'what':<44} {'median us':>10} {'x /bin/true':>12}")
for name, us in rows:
    if us == "FAILED":
        print(f"  {name:<44} {'FAILED':>10} {'-':>12}   (see note above)")
        continue
    ratio = f"{float(us) / base:.2f}" if base else "-"
    print(f"  {name:<44} {float(us):>10.1f} {ratio:>12}")
PY
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
