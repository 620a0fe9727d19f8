#!/usr/bin/env bash
# Regenerates Sources/CShim/hot-symbols.txt: the functions of libsocksify-preload.so that run
# when a program starts, connects through the proxy, closes, reads and writes a file (callgrind
# over bench/clients/conn).
# The release link puts them first in .text (lld --symbol-ordering-file), so they share one or two
# 64 KiB fault-around windows instead of touching every page of the code (bench/README.md, 4).
# Names that later disappear are skipped by the linker: a stale list only costs memory.
#
#   swift build -c release && bench/hot-symbols.sh
#   rm .build/release/libsocksify-preload.so && swift build -c release   # SwiftPM does not see the list change
#
# Needs valgrind, gcc, microsocks; no root (loopback, SOCKSIFY_PROXY_LOOPBACK=1).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$HERE")"
LIB="${SOCKSIFY_LIB:-$REPO/.build/release/libsocksify-preload.so}"
OUT="$REPO/Sources/CShim/hot-symbols.txt"
TMP="$(mktemp -d /tmp/socksify-hot.XXXXXX)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

gcc -O2 -o "$TMP/conn" "$HERE/clients/conn.c"
gcc -O2 -o "$TMP/target" "$HERE/clients/target.c"
"$TMP/target" 127.0.0.1 0 >"$TMP/target.out" 2>&1 &
PIDS+=($!)
PROXY_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
microsocks -i 127.0.0.1 -p "$PROXY_PORT" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q '^port ' "$TMP/target.out" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break
    sleep 0.05
done
PORT="$(awk '/^port /{print $2}' "$TMP/target.out")"

LD_PRELOAD="$LIB" SOCKSIFY_PROXY="socks5://127.0.0.1:$PROXY_PORT" SOCKSIFY_PROXY_LOOPBACK=1 \
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$TMP/conn" --smaps "$TMP/smaps" -n 20 127.0.0.1 "$PORT" >/dev/null 2>&1

# Every function of the library with any cost, most instructions first. The C runtime's own
# start-up functions (crtbeginS.o) run at load and are listed too.
{
    printf '%s\n' frame_dummy __do_global_dtors_aux register_tm_clones deregister_tm_clones
    callgrind_annotate --threshold=100 "$TMP/cg.out" 2>/dev/null |
        grep -F "[$(readlink -f "$LIB")]" |
        sed -E 's/^ *[0-9,]+ +\([^)]*\) +//; s/^\?\?\?://; s/ \[.*//' |
        grep -v -e '^0x' -e "'"
} | awk '!seen[$0]++' >"$OUT"
echo "$(wc -l <"$OUT") functions -> $OUT"
