#!/usr/bin/env python3
"""Prints bench/run's results (a TSV of kind, row, field, value) as one table and its details.

Medians and ratios are computed here, from the samples of this one run.
"""
import collections
import re
import statistics
import sys

GOALS = {  # the project's open issue
    "instr": 5.0,    # extra instructions per read/write over bare
    "sys": 15.0,     # system calls per proxied connection
    "lat": 3.0,      # us over the hand-written client
    "rss": 300.0,    # KiB over direct
}
HAND = "hand-written SOCKS5 (C)"
DIRECT = "direct (no proxy)"
BARE = "bare (no LD_PRELOAD)"

data = collections.defaultdict(lambda: collections.defaultdict(list))
order = collections.defaultdict(list)
info, skips, traces = {}, [], collections.defaultdict(list)
rssmap = collections.defaultdict(dict)
textparts = []
profile = []
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.rstrip("\n").split("\t")
    parts += [""] * (4 - len(parts))
    kind, row, field, value = parts[:4]
    if kind == "info":
        info[row] = value
    elif kind == "skip":
        skips.append((row, field, value))
    elif kind == "trace":
        traces[row].append(value)
    elif kind == "rssmap":
        rssmap[row][field] = int(value)
    elif kind == "prof":
        profile.append((row, field, float(value)))
    elif kind == "textpart":
        textparts.append((row, int(value)))
    else:
        if row not in order[kind]:
            order[kind].append(row)
        try:
            data[(kind, row)][field].append(float(value))
        except ValueError:
            pass


def med(kind, row, field):
    values = data[(kind, row)].get(field)
    return statistics.median(values) if values else None


def is_current_socksify(row):
    return row.startswith("socksify") and "@" not in row


def verdict(kind, value):
    if value is None:
        return ""
    return "met" if value <= GOALS[kind] else "NOT met"


def table(header, rows, right=()):
    """Columns in `right` are right-justified, the others left-justified."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    def fmt(r):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))


print(f"socksify bench: commit {info.get('commit', '?')}; {info.get('machine', '')}")
print(f"  {info.get('settings', '')}; syscalls counted with {info.get('syscall_counter', '?')}")
print()

rows = []
# 1. instructions
bare = med("instr", BARE, "per_call")
for r in order["instr"]:
    v = med("instr", r, "per_call")
    if r == BARE:
        rows.append(["1 instructions per read/write", r, f"{v:.1f}", "", "", ""])
        continue
    extra = v - bare if bare is not None else None
    goal = ""
    if is_current_socksify(r):
        goal = ("(descriptors below an associated one: table read inline)" if "UDP" in r
                else f"<= +{GOALS['instr']:g}: {verdict('instr', extra)}")
    rows.append(["", r, f"{v:.1f}", f"+{extra:.1f}" if extra is not None else "",
                 f"{v / bare:.2f}x bare" if bare else "", goal])
# 2. system calls
hand_sys = med("sys", HAND, "total")
first = True
for r in order["sys"]:
    v = med("sys", r, "total")
    d = f"{v - hand_sys:+.1f}" if hand_sys is not None and r != HAND else ""
    ratio = f"{v / hand_sys:.2f}x hand" if hand_sys and r != HAND else ""
    rows.append(["2 syscalls per connection" if first else "", r, f"{v:.1f}", d, ratio,
                 f"<= {GOALS['sys']:g}: {verdict('sys', v)}" if is_current_socksify(r) else ""])
    first = False
# 3. latency
hand_lat = med("lat", HAND, "median_ns")
direct_lat = med("lat", DIRECT, "median_ns")
first = True
for r in order["lat"]:
    v = med("lat", r, "median_ns")
    runs = data[("lat", r)]["median_ns"]
    spread = f" ({min(runs) / 1000:.0f}-{max(runs) / 1000:.0f})" if len(runs) > 1 else ""
    d = (v - hand_lat) / 1000 if hand_lat is not None and r != HAND else None
    ratio = []
    if hand_lat and r != HAND:
        ratio.append(f"{v / hand_lat:.2f}x hand")
    if direct_lat and r != DIRECT:
        ratio.append(f"{v / direct_lat:.2f}x direct")
    rows.append(["3 median connect latency, us" if first else "", r, f"{v / 1000:.1f}{spread}",
                 f"{d:+.1f}" if d is not None else "", ", ".join(ratio),
                 f"<= +{GOALS['lat']:g} us: {verdict('lat', d)}" if is_current_socksify(r) else ""])
    first = False
# 3b. client CPU per connection
hand_cpu = med("lat", HAND, "cpu_ns")
first = True
for r in order["lat"]:
    v = med("lat", r, "cpu_ns")
    if v is None:
        continue
    d = (v - hand_cpu) / 1000 if hand_cpu is not None and r != HAND else None
    rows.append(["3b client CPU per connection, us" if first else "", r, f"{v / 1000:.1f}",
                 f"{d:+.1f}" if d is not None else "", f"{v / hand_cpu:.2f}x hand" if hand_cpu and r != HAND else "", ""])
    first = False
# 3c. instructions per connection
hand_ins = med("ins", HAND, "per_conn")
first = True
for r in order["ins"]:
    v = med("ins", r, "per_conn")
    rows.append(["3c instructions per connection" if first else "", r, f"{v:,.0f}",
                 f"{v - hand_ins:+,.0f}" if hand_ins is not None and r != HAND else "",
                 f"{v / hand_ins:.2f}x hand" if hand_ins and r != HAND else "", ""])
    first = False
# 4. memory
direct_hwm = med("rss", DIRECT, "hwm_kib")
direct_time = med("rss", DIRECT, "time_kib")
first = True
for r in order["rss"]:
    hwm, tm = med("rss", r, "hwm_kib"), med("rss", r, "time_kib")
    added = hwm - direct_hwm if direct_hwm is not None else None
    added_time = tm - direct_time if direct_time is not None else None
    rows.append(["4 peak RSS, KiB (200 conns)" if first else "", r, f"{hwm:.0f} / {tm:.0f}",
                 f"{added:+.0f} / {added_time:+.0f}" if r != DIRECT and added is not None else "",
                 "",
                 f"<= +{GOALS['rss']:g}: {verdict('rss', added)}" if is_current_socksify(r) else ""])
    first = False
table(["measure", "row", "value", "difference", "ratio", "goal"], rows, right=(2, 3, 4))
print("""
  1: (instructions of 101,000 minus 1,000 write+read pairs on a pipe) / 200,000 calls; difference over bare.
  2: (calls with 201 connections minus with 1) / 200; the connection is socket, connect (with the
     SOCKS5 exchange, by hand or inside socksify), close. Difference and ratio against the hand-written client.
  3: median of the runs' medians, socket() to usable socket (close not timed), min-max of the runs'
     medians in brackets; difference against the hand-written client. 3b: the client's own user+system
     CPU time per connection (getrusage over the timed loop, close included), median of the runs.
     3c: user-space instructions of the whole client per connection (callgrind, (101 - 1 connections) / 100).
  4: VmHWM (the client's own peak) / /usr/bin/time -f %M, medians; difference against direct.""")

# ---- details
hand_names = {k[5:]: statistics.median(v) for k, v in data[("sys", HAND)].items() if k.startswith("name:")}
shown = []
for r in order["sys"]:
    if not r.startswith("socksify release"):
        continue
    names = {k[5:]: statistics.median(v) for k, v in data[("sys", r)].items() if k.startswith("name:")}
    if any(names == other for other in shown):
        print(f"\nSystem calls per connection by name: {r}: the same as above")
        continue
    shown.append(names)
    diff = [(n, hand_names.get(n, 0), names.get(n, 0)) for n in set(names) | set(hand_names)]
    diff = [d for d in diff if abs(d[2] - d[1]) >= 0.005]
    diff.sort(key=lambda d: (-(d[2] - d[1]), d[0]))
    print(f"\nSystem calls per connection by name: {r} against the hand-written client")
    table(["call", "hand-written", "socksify", "extra"],
          [[n, f"{h:g}", f"{s:g}", f"{s - h:+g}"] for n, h, s in diff], right=(1, 2, 3))

if profile:
    total = med("ins", "socksify release", "per_conn")
    print("\nInstructions per connection by function, socksify release (callgrind self cost, top 20"
          + (f" of {total:,.0f}" if total else "") + ")")
    table(["instructions", "function", "object"],
          [[f"{v:,.0f}", n.lstrip("$")[:100], re.sub(r"^[0-9a-f]{8}-", "", o)] for n, o, v in profile], right=(0,))
    alloc = sum(v for n, o, v in profile
                if re.search(r"malloc|free|memalign|swift_(allocObject|release|retain)|deinit", n))
    print(f"  of which heap allocation, freeing and reference counting: {alloc:,.0f}")

for r, lines in traces.items():
    print(f"\nOne connection, {r} (strace, the third of three):")
    for line in lines:
        print("  " + line)

if rssmap:
    labels = ["direct", "socksify", "socksify, 5000 connections"]
    print("\nResident memory by mapping (smaps at exit, KiB): direct vs socksify release")
    groups = sorted(rssmap, key=lambda g: -(rssmap[g].get("socksify", 0) - rssmap[g].get("direct", 0)))
    rows = []
    for g in groups:
        v = [rssmap[g].get(label, 0) for label in labels]
        if any(v):
            rows.append([g, v[0], v[1], f"{v[1] - v[0]:+d}", v[2]])
    totals = [sum(rssmap[g].get(label, 0) for g in rssmap) for label in labels]
    rows.append(["total", totals[0], totals[1], f"{totals[1] - totals[0]:+d}", totals[2]])
    table(["mapping", "direct", "socksify", "extra", "after 5000 conns"], rows, right=(1, 2, 3, 4))
    if "lib_text" in info:
        print(f"  libsocksify-preload.so (release): .text {int(info['lib_text']):,} bytes: "
              + ", ".join(f"{name} {size:,}" for name, size in textparts))
    if "lib_needed" in info:
        print(f"  NEEDED: {info['lib_needed']}; symbols it takes from libm: {info.get('lib_symbols_from_libm', '?') or 'none'}")

if skips:
    print("\nSkipped:")
    for row, what, why in skips:
        print(f"  {row}{' (' + what + ')' if what else ''}: {why}")
