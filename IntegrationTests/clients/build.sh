#!/usr/bin/env bash
# Build the C test clients into IntegrationTests/clients/bin/.
# Idempotent: a binary is rebuilt only when its source is newer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/bin"
mkdir -p "$out"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2 -Wall -Wextra -pthread}"
for src in "$here"/*.c; do
    [ -e "$src" ] || continue
    name="$(basename "$src" .c)"
    bin="$out/$name"
    stale=0
    # a local file it includes (a header, or async_waits.c in its fortified variant) counts too
    for dep in $(sed -n 's/^#include "\(.*\)"/\1/p' "$src"); do
        [ "$here/$dep" -nt "$bin" ] && stale=1
    done
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$stale" = 1 ] || [ "${FORCE:-0}" = 1 ]; then
        # shellcheck disable=SC2086
        $CC $CFLAGS -o "$bin.tmp.$$" "$src" && mv -f "$bin.tmp.$$" "$bin"
        echo "built $bin"
    fi
done
