#!/usr/bin/env bash
# Startup cost of an LD_PRELOAD socksifier on a program that never connects.
#
#  1. Instructions executed by /bin/true (valgrind --tool=callgrind, total "Collected"),
#     bare and with each library preloaded: socksify, tsocks, torsocks, proxychains-ng, Dante.
#  2. The launcher's own work: instructions of `socksify -p … /nonexistent` (all of the launch
#     but the exec, which callgrind cannot follow into the program) and the page faults (minor,
#     from wait4's rusage, median) of each command of 3.
#  3. Wall-clock median of RUNS runs (default 200; one hyperfine run for all the commands if
#     installed, else a python loop) for /bin/true, `socksify -p … /bin/true`,
#     `proxychains4 -q -f conf /bin/true`.
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

# ---------------------------------------------------------------- the launcher's own work
echo "== startup: the launcher's own instructions (callgrind, everything but the exec) =="
if [ -z "$VALGRIND" ] || [ -z "$SOCKSIFY_BIN" ]; then
    echo "  skipped: needs valgrind and the launcher"
else
    # The launcher is a static executable; valgrind 3.19 cannot read its DWARF 5 either.
    cg_bin="$TMP/socksify-nodebug"
    strip -g -o "$cg_bin" "$SOCKSIFY_BIN" 2>/dev/null || cg_bin="$SOCKSIFY_BIN"
    SOCKSIFY_LIBRARY="$SOCKSIFY_LIB" "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null \
        --log-file="$TMP/launcher.log" "$cg_bin" -q -p "$PROXY_URL" -- /nonexistent/true >/dev/null 2>&1
    count="$(awk '/Collected :/ { s += $NF } END { print s + 0 }' "$TMP/launcher.log")"
    printf '  %-44s %14s\n' "socksify -p … /nonexistent (exits 127)" "$(printf "%'d" "$count")"
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
    method="hyperfine -N, one run of all the commands"
    if hyperfine -N --warmup 20 --runs "$RUNS" --style none --export-json "$TMP/hf.json" "${cmds[@]}" \
            >"$TMP/hf.log" 2>&1; then
        python3 - "$TMP/hf.json" "${names[@]}" >> "$results" <<'PY'
import json, sys
for name, r in zip(sys.argv[2:], json.load(open(sys.argv[1]))["results"]):
    print(f"{name}\t{r['median'] * 1e6:.1f}")
PY
    else
        note "hyperfine failed:"; tail -n 5 "$TMP/hf.log" >&2
        for n in "${names[@]}"; do printf '%s\tFAILED\n' "$n" >> "$results"; done
    fi
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

echo
echo "== startup: minor page faults of each command (median of 50, wait4 rusage) =="
python3 - "${#names[@]}" "${names[@]}" "${cmds[@]}" <<'PY'
import os, shlex, statistics, sys
n = int(sys.argv[1])
names, cmds = sys.argv[2:2 + n], sys.argv[2 + n:2 + 2 * n]
devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
for name, cmd in zip(names, cmds):
    argv = shlex.split(cmd)
    faults = []
    for i in range(55):
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=devnull)
        _, status, usage = os.wait4(pid, 0)
        if i >= 5:
            faults.append(usage.ru_minflt)
    print(f"  {name:<44} {statistics.median(faults):>10.0f}")
PY
