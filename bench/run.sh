#!/usr/bin/env bash
# make bench: synfin against the untraced baseline and libbpf-tools' tcpstates
# and tcplife, on the same loopback churn in a private network namespace, in
# one run; then replay throughput, memory per tracked connection, and ring
# buffer headroom. Needs root. --quick: tiny sizes, to check the bench runs.
set -u
cd "$(dirname "$0")/.."
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
LOADGEN=$(realpath build/loadgen)
FLOOR=$(realpath build/floor)
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
DUR=${BENCH_SECONDS:-5}
HOLD=${BENCH_HOLD:-50000}
REPLAY_SECONDS=${BENCH_REPLAY_SECONDS:-12}
LOADARGS=(--duration "$DUR")
if [ $QUICK = 1 ]; then
	LOADARGS=(--conns 100)
	HOLD=100
	REPLAY_SECONDS=0
fi
NS=synfin-bench-$$
OUT=build/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.res "$OUT"/*.err

die() {
	echo "bench: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (BPF, network namespaces)"
[ -x "$SYNFIN" ] && [ -x "$LOADGEN" ] && [ -x "$FLOOR" ] || die "build first (make bench does)"
if [ $QUICK = 0 ] && ! command -v tcpstates >/dev/null; then
	echo "bench: installing libbpf-tools (tcpstates, tcplife) to compare with"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbpf-tools >/dev/null ||
		die "cannot install libbpf-tools"
fi
# libbpf-tools attach classic tracepoints: they need tracefs
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null

cleanup() {
	[ -n "${TOOL_PID:-}" ] && kill "$TOOL_PID" 2>/dev/null && wait "$TOOL_PID" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled=0
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || die "cannot create a network namespace"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
sysctl -qw kernel.bpf_stats_enabled=1

prog_ids() { bpftool prog show --json 2>/dev/null | "$PYTHON" -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))'; }
# run_stats IDS...: total run_time_ns and run_cnt of these programs
run_stats() {
	bpftool prog show --json 2>/dev/null | "$PYTHON" -c '
import json, sys
ids = set(int(x) for x in sys.argv[1:])
t = c = 0
for p in json.load(sys.stdin):
    if p["id"] in ids:
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
print(t, c)' "$@"
}

CLOSE=client
load() { ip netns exec "$NS" "$LOADGEN" "${LOADARGS[@]}" --close "$CLOSE" "$@"; }
rate_of() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p' "$1"; }

# measure NAME COMMAND...: start the tool, run the churn, stop it; writes $OUT/NAME.*
measure() {
	local name=$1
	shift
	local before after
	before=$(prog_ids)
	TOOL_PID=
	if [ $# -gt 0 ]; then
		"$@" >"${SINK:-$OUT/$name.out}" 2>"$OUT/$name.err" &
		TOOL_PID=$!
		for _ in $(seq 100); do
			after=$(prog_ids)
			[ "$after" != "$before" ] && grep -qv '^$' <<<"$after" && break
			sleep 0.1
		done
		sleep 1 # attached: let it settle
	fi
	local ids
	ids=$(comm -13 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$(prog_ids)" | sort) | tr '\n' ' ')
	local s0 s1
	s0=$(run_stats $ids)
	load >"$OUT/$name.load" 2>&1
	s1=$(run_stats $ids)
	if [ -n "$TOOL_PID" ]; then
		kill -INT "$TOOL_PID"
		wait "$TOOL_PID"
		TOOL_PID=
	fi
	read -r t0 c0 <<<"$s0"
	read -r t1 c1 <<<"$s1"
	echo "$(rate_of "$OUT/$name.load") $((t1 - t0)) $((c1 - c0))" >"$OUT/$name.res"
}

# Configurations take turns, ROUNDS times over: the machine's own drift then
# falls on all of them alike, and each ratio pairs a run with its own round's
# baseline. The table gives medians.
ROUNDS=${BENCH_ROUNDS:-3}
[ $QUICK = 1 ] && ROUNDS=1
echo "bench: churn for ${DUR}s per configuration, $ROUNDS rounds ($(nproc) CPUs)" >&2
for r in $(seq "$ROUNDS"); do
	measure "baseline.r$r"
	SINK=/dev/null measure "synfin-trace.r$r" "$SYNFIN" trace --json
	# floors: an empty program on the same tracepoint, and synfin filtering
	# every event out in the kernel after a few reads
	measure "floor.r$r" "$FLOOR"
	SINK=/dev/null measure "synfin-filtered.r$r" "$SYNFIN" trace --json --port 1
	SINK=/dev/null measure "synfin-watch.r$r" "$SYNFIN" watch --json --netns "/run/netns/$NS"
	if [ $QUICK = 0 ]; then
		measure "tcpstates.r$r" tcpstates
		measure "tcplife.r$r" tcplife
	fi
	# the other close order: the server's endpoint then holds TIME_WAIT
	CLOSE=server
	measure "baseline-server.r$r"
	SINK=/dev/null measure "synfin-trace-server.r$r" "$SYNFIN" trace --json
	CLOSE=client
done

# replay throughput on a recording of at least 2 million events
replay_line="-"
if [ "$REPLAY_SECONDS" != 0 ]; then
	"$SYNFIN" trace --json --netns "/run/netns/$NS" --record "$OUT/replay.sfr" >/dev/null \
		2>"$OUT/record.err" &
	TOOL_PID=$!
	sleep 2
	LOADARGS=(--duration "$REPLAY_SECONDS") load >/dev/null
	kill -INT $TOOL_PID
	wait $TOOL_PID
	TOOL_PID=
	ev=$(sed -n 's/^synfin: \([0-9]*\) events.*/\1/p' "$OUT/record.err")
	best=0
	for _ in 1 2 3; do
		t0=$(date +%s.%N)
		"$SYNFIN" replay --json "$OUT/replay.sfr" >/dev/null 2>&1
		t1=$(date +%s.%N)
		r=$("$PYTHON" -c "print(int($ev / ($t1 - $t0)))")
		[ "$r" -gt "$best" ] && best=$r
	done
	replay_line="$ev events: $best events/s (best of 3)"
	rm -f "$OUT/replay.sfr"
fi

# memory: peak RSS of synfin trace while it tracks HOLD held connections (2 endpoints each)
"$SYNFIN" trace --json --netns "/run/netns/$NS" >/dev/null 2>"$OUT/mem.err" &
TOOL_PID=$!
sleep 2
# anonymous memory only: the ring buffer's shared pages are the kernel's, not our state
rss0=$(awk '/RssAnon/ {print $2}' /proc/$TOOL_PID/status)
coproc HOLDER { ip netns exec "$NS" "$LOADGEN" --hold "$HOLD" --port 7001; }
holder_pid=$HOLDER_PID
read -r held <&"${HOLDER[0]}"
[ "$held" = "held $HOLD" ] || die "the load generator could not hold $HOLD connections"
sleep 2
hwm=$(awk '/RssAnon/ {print $2}' /proc/$TOOL_PID/status)
eval "exec ${HOLDER[1]}>&-"
wait "$holder_pid" 2>/dev/null
kill -INT $TOOL_PID
wait $TOOL_PID
TOOL_PID=
mem_line=$("$PYTHON" -c "
hold, rss0, hwm = $HOLD, $rss0, $hwm
print(f'{hold} connections ({2 * hold} endpoints) held: anonymous RSS {rss0} KiB idle, '
      f'{hwm} KiB while tracking them: {(hwm - rss0) * 1024 / (2 * hold):.0f} bytes per tracked endpoint')")

# ring buffer headroom: events lost at peak churn, per ring size
headroom=""
for size in 64K 1M 16M; do
	[ $QUICK = 1 ] && [ $size != 16M ] && continue
	SINK=/dev/null measure "ring-$size" "$SYNFIN" trace --json --ringbuf-size $size
	lost=$(sed -n 's/^synfin: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$OUT/ring-$size.err")
	read -r rate _ <"$OUT/ring-$size.res"
	headroom="$headroom| ring buffer $size$([ $size = 16M ] && echo ' (default)') | $rate conn/s | ${lost:-?} events lost |"$'\n'
done

# every network namespace of the host: a host-wide snapshot and watch's reconciliations
hostwide=$(bench/hostwide.sh $([ $QUICK = 1 ] && echo --quick))

"$PYTHON" - "$OUT" "$QUICK" "$replay_line" "$mem_line" "$headroom" "$hostwide" <<'PY'
import os, re, sys
out, quick, replay, mem, headroom, hostwide = sys.argv[1:7]
rounds = sorted({m.group(1) for m in (re.search(r"\.r(\d+)\.res$", f) for f in os.listdir(out)) if m})
def res(name, r):
    p = os.path.join(out, f"{name}.r{r}.res")
    if not os.path.exists(p):
        return None
    rate, t, c = open(p).read().split()
    return float(rate), int(t), int(c)
def lost(name):
    total = None
    for r in rounds:
        p = os.path.join(out, f"{name}.r{r}.err")
        for line in open(p) if os.path.exists(p) else []:
            if line.startswith("synfin:") and " lost" in line:
                total = (total or 0) + int(line.split()[3])
    return "-" if total is None else str(total)
def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
labels = {"baseline": "untraced", "synfin-trace": "synfin trace --json > /dev/null",
          "floor": "an empty program on the same tracepoint",
          "synfin-filtered": "synfin trace --port 1 (all filtered in the kernel)",
          "synfin-watch": "synfin watch --json", "tcpstates": "tcpstates (libbpf-tools)",
          "tcplife": "tcplife (libbpf-tools)",
          "baseline-server": "untraced, server closes first",
          "synfin-trace-server": "synfin trace --json, server closes first"}
secs = float(os.environ.get("BENCH_SECONDS", 5))
print("| configuration | conn/s | vs untraced | BPF ns/event | events/s | lost |")
print("|---|---|---|---|---|---|")
for name, label in labels.items():
    base = "baseline-server" if name.endswith("-server") else "baseline"
    runs = [(res(name, r), res(base, r)) for r in rounds]
    runs = [(x, b) for x, b in runs if x and b]
    if not runs:
        continue
    rate = median([x[0] for x, _ in runs])
    ratio = median([x[0] / b[0] for x, b in runs])
    t = sum(x[1] for x, _ in runs)
    c = sum(x[2] for x, _ in runs)
    per = f"{t / c:.0f}" if c else "-"
    evs = "-" if not c else (f"{c / secs / len(runs):.0f}" if quick == "0" else str(c))
    spread = ""
    if len(runs) > 1 and name not in ("baseline", "baseline-server"):
        rs = sorted(x[0] / b[0] for x, b in runs)
        spread = f" ({rs[0]:.3f}-{rs[-1]:.3f})"
    print(f"| {label} | {rate:.0f} | {ratio:.3f}{spread} | {per} | {evs} | {lost(name) if name.startswith('synfin') else '-'} |")
print()
print(f"replay: {replay}")
print(f"memory: {mem}")
print()
print("| ring buffer headroom | churn | lost |")
print("|---|---|---|")
print(headroom.replace("| ring buffer ", "| ").rstrip())
print()
print(hostwide)
PY
