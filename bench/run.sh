#!/usr/bin/env bash
# Run all socksify benchmarks and print their tables.
#   bench/run.sh                      # everything
#   RUNS=50 N=500 REPEATS=1 bench/run.sh   # quicker, noisier
# startup.sh, connect_latency.sh (with the remote DNS rows), rules.sh (1,000-rule file),
# udp_latency.sh (datagrams through danted), event_loop.sh (Node.js through a distant proxy).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
find_socksify
find_rules_bench
echo "socksify launcher: ${SOCKSIFY_BIN:-<not built>}"
echo "socksify library:  ${SOCKSIFY_LIB:-<not built>}"
echo "rules-bench:       ${RULES_BENCH:-<not built>}"
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
warn_if_busy
echo
status=0
"$here/startup.sh" || status=1
echo
"$here/connect_latency.sh" || status=1
echo
"$here/rules.sh" || status=1
echo
"$here/udp_latency.sh" || status=1
echo
"$here/event_loop.sh" || status=1
exit $status
