#!/usr/bin/env bash
# Builds one libFuzzer target with AddressSanitizer and runs it.
#
#   fuzz/run.sh TARGET [SECONDS] [-- LIBFUZZER_OPTIONS…]
#   fuzz/run.sh TARGET crash-FILE       # reruns one saved input (a crash, or any corpus file)
#   fuzz/run.sh list
#
# The fuzzer is the core's Swift sources (Sources/SocksifyCore), the C shim module they import
# (Sources/SocksifyLibc) and fuzz/support + fuzz/targets/TARGET.swift, compiled as one module
# with swiftc -sanitize=fuzzer,address. The corpus is fuzz/corpus/TARGET: seed-* files are
# committed, what libFuzzer adds there is ignored (fuzz/.gitignore). Crashes go to
# fuzz/artifacts/TARGET/. SOCKSIFY_FUZZ_STRICT=1 stops stepping around the known bugs.
set -euo pipefail
cd "$(dirname "$0")/.."

targets() { for f in fuzz/targets/*.swift; do basename "$f" .swift; done; }

target=${1:-}
if [ "$target" = list ]; then targets; exit 0; fi
if [ -z "$target" ] || [ ! -f "fuzz/targets/$target.swift" ]; then
    if [ -n "$target" ]; then echo "unknown target '$target'" >&2; fi
    echo "usage: fuzz/run.sh TARGET [SECONDS | INPUT-FILE] [-- LIBFUZZER_OPTIONS…]; targets:" >&2
    targets | sed 's/^/  /' >&2
    exit 2
fi
shift
what=${1:-60}
[ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift

build=fuzz/.build
mkdir -p "$build/modules" "$build/obj"

# The C module the core imports: SwiftPM writes its module map itself, swiftc needs one.
modulemap="$build/modules/module.modulemap"
printf 'module SocksifyLibc {\n    header "%s/Sources/SocksifyLibc/include/socksify_libc.h"\n    export *\n}\n' "$PWD" > "$modulemap.new"
cmp -s "$modulemap.new" "$modulemap" && rm "$modulemap.new" || mv "$modulemap.new" "$modulemap"

sources=$(find Sources/SocksifyCore -name '*.swift' | LC_ALL=C sort)
csources=$(find Sources/SocksifyLibc -name '*.c' | LC_ALL=C sort)
binary="$build/$target"

# Rebuild when any input is newer than the fuzzer.
stale=0
[ -x "$binary" ] || stale=1
if [ $stale = 0 ]; then
    for f in $sources $csources Sources/SocksifyLibc/include/*.h fuzz/support/*.swift "fuzz/targets/$target.swift" "$0"; do
        if [ "$f" -nt "$binary" ]; then stale=1; break; fi
    done
fi
if [ $stale = 1 ]; then
    echo "== building $binary" >&2
    objects=()
    for c in $csources; do
        o="$build/obj/$(basename "$c" .c).o"
        clang -c -O1 -g -fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer \
            -I Sources/SocksifyLibc/include "$c" -o "$o"
        objects+=("$o")
    done
    # -O keeps Swift's overflow and bounds traps (only -Ounchecked drops them); -g for stacks.
    swiftc -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -g \
        -module-name SocksifyFuzz -I "$build/modules" -use-ld=lld \
        $sources fuzz/support/*.swift "fuzz/targets/$target.swift" "${objects[@]}" -ldl \
        -o "$binary.new"
    mv "$binary.new" "$binary"
fi

corpus="fuzz/corpus/$target"
artifacts="fuzz/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
dict=()
[ -f "fuzz/dicts/$target.dict" ] && dict=(-dict="fuzz/dicts/$target.dict")

if [ -f "$what" ]; then
    exec "$binary" "${dict[@]}" "$@" "$what"
fi
case $what in
    '' | *[!0-9]*) echo "SECONDS must be a whole number, or an input file to rerun: '$what'" >&2; exit 2 ;;
esac
# -max_len covers the largest legal message and a rules file of a few dozen lines.
exec "$binary" "$corpus" "${dict[@]}" -max_total_time="$what" -artifact_prefix="$artifacts/" \
    -print_final_stats=1 -max_len=4096 "$@"
