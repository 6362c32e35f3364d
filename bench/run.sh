#!/usr/bin/env bash
# make bench: synfin against the untraced baseline, the floor (an empty program
# on the same tracepoint), the clock floor (one that only reads the clock) and
# libbpf-tools' tcpstates and tcplife, on the same loopback churn in a private
# network namespace, in one run; then replay
# throughput, memory per tracked endpoint, and ring buffer headroom. Needs root.
#   --quick            tiny sizes, one round: checks that the bench runs
#   BENCH_SECONDS      churn per configuration (5)
#   BENCH_ROUNDS       rounds the configurations take turns over (3)
#   BENCH_VARIANTS     "label=path ..." other synfin binaries measured with
#                      `trace --json` in the same rounds: a change's before/after
#   BENCH_PEERS=0      leave out libbpf-tools' tcpstates and tcplife
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
LOADGEN=$(realpath build/loadgen)
FLOOR=$(realpath build/floor)
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
DUR=${BENCH_SECONDS:-5}
HOLD=${BENCH_HOLD:-50000}
REPLAY_SECONDS=${BENCH_REPLAY_SECONDS:-12}
ROUNDS=${BENCH_ROUNDS:-3}
LOADARGS=(--duration "$DUR")
if [ $QUICK = 1 ]; then
	LOADARGS=(--conns 100)
	HOLD=100
	REPLAY_SECONDS=0
	ROUNDS=1
fi
NS=synfin-bench-$$
OUT=build/bench
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"
rm -f "$OUT"/*.res "$OUT"/*.err "$OUT"/*.mem "$OUT"/replay.*

die() {
	echo "bench: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (BPF, network namespaces)"
[ -x "$SYNFIN" ] && [ -x "$LOADGEN" ] && [ -x "$FLOOR" ] || die "build first (make bench does)"
if [ $QUICK = 0 ] && [ "${BENCH_PEERS:-1}" = 1 ] && ! command -v tcpstates >/dev/null; then
	echo "bench: installing libbpf-tools (tcpstates, tcplife) to compare with"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbpf-tools >/dev/null ||
		die "cannot install libbpf-tools"
fi
# libbpf-tools attach classic tracepoints: they need tracefs
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null

cleanup() {
	[ -n "${TOOL_PID:-}" ] && kill "$TOOL_PID" 2>/dev/null && wait "$TOOL_PID" 2>/dev/null
	[ -n "${STATS_PID:-}" ] && kill "$STATS_PID" 2>/dev/null && wait "$STATS_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || die "cannot create a network namespace"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
# stats_on: BPF run time statistics from now until stats_off, whatever else on
# the machine does with the kernel.bpf_stats_enabled sysctl meanwhile
stats_on() {
	"$FLOOR" --stats 2>"$OUT/stats.err" &
	STATS_PID=$!
	await_line "$OUT/stats.err" 'statistics on' ||
		die "cannot keep BPF statistics on: $(cat "$OUT/stats.err")"
}
# stats_off: statistics cost two clock reads around every program run (most of
# the floor's ~60 ns per event), which a host running synfin does not pay
stats_off() {
	kill "$STATS_PID"
	wait "$STATS_PID"
	STATS_PID=
}
stats_on

# prog_stats PID: run_time_ns and run_cnt summed over the BPF programs the
# process holds, from its descriptors: other tracers on the machine do not
# count. synfin's twins (rescue_*, bpf/rescue.bpf.h) run on every event their
# first program runs on: their time counts, their runs do not, and their time
# is also given alone (the third figure)
prog_stats() {
	local twins
	twins=$(bpftool prog show 2>/dev/null | awk '/ name rescue_/ { sub(":", "", $1); print $1 }')
	# every fdinfo starts with pos:; a program's gives its prog_id, then its statistics
	{
		echo "$twins" | sed 's/^/twin /'
		cat /proc/"$1"/fdinfo/* 2>/dev/null
	} | awk '$1 == "twin" { twin[$2] = 1 } /^pos:/ { id = "" } /^prog_id:/ { id = $2 }
		/^run_time_ns:/ { t[id] = $2 } /^run_cnt:/ { c[id] = $2 }
		END { for (i in t) { T += t[i]; if (i in twin) R += t[i]; else C += c[i] }
		      printf "%.0f %.0f %.0f\n", T, C, R }'
}
# prog_count PID: BPF programs the process holds
prog_count() { cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^prog_id:'; }
# cpu_ns PID: user + system CPU the process has used so far, all threads, in ns
cpu_ns() {
	local f
	f=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	read -ra f <<<"$f"
	# after the ") ": field 14 (utime) is index 11, field 15 (stime) index 12
	echo $(((f[11] + f[12]) * 1000000000 / CLK_TCK))
}

CLOSE=client
load() { ip netns exec "$NS" "$LOADGEN" "${LOADARGS[@]}" --close "$CLOSE" "$@"; }
rate_of() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p' "$1"; }

# start_tool NAME COMMAND...: start the tool and wait until its programs are loaded
start_tool() {
	local name=$1 n=0 last=-1
	shift
	"$@" >"${SINK:-$OUT/$name.out}" 2>"$OUT/$name.err" &
	TOOL_PID=$!
	for _ in $(seq 100); do
		n=$(prog_count "$TOOL_PID")
		[ "$n" -gt 0 ] && [ "$n" = "$last" ] && break
		last=$n
		sleep 0.1
	done
	sleep 1 # attached: let it settle
}

# measure NAME [COMMAND...]: start the tool, run the churn, stop it. Writes
# $OUT/NAME.res: conn/s, the BPF run time (ns) and run count of the tool's
# programs over the churn, the tool's CPU time (ns) over the churn and the
# drain that follows it, and the part of that run time synfin's twins took
measure() {
	local name=$1 s0="0 0 0" s1="0 0 0" c0=0 c1=0
	shift
	TOOL_PID=
	[ $# -gt 0 ] && start_tool "$name" "$@"
	if [ -n "$TOOL_PID" ]; then
		s0=$(prog_stats "$TOOL_PID")
		c0=$(cpu_ns "$TOOL_PID")
	fi
	load >"$OUT/$name.load" 2>&1
	if [ -n "$TOOL_PID" ]; then
		s1=$(prog_stats "$TOOL_PID")
		sleep 0.5 # the reader drains what the ring still holds (it polls every 100 ms)
		c1=$(cpu_ns "$TOOL_PID")
		kill -INT "$TOOL_PID"
		wait "$TOOL_PID"
		TOOL_PID=
	fi
	read -r t0 n0 r0 <<<"$s0"
	read -r t1 n1 r1 <<<"$s1"
	echo "$(rate_of "$OUT/$name.load") $((t1 - t0)) $((n1 - n0)) $((c1 - c0)) $((r1 - r0))" \
		>"$OUT/$name.res"
}

# one_round R: every configuration once, in turn
one_round() {
	local r=$1 v
	measure "baseline.r$r"
	SINK=/dev/null measure "synfin-trace.r$r" "$SYNFIN" trace --json
	# floors: an empty program on the same tracepoint, one that only reads the
	# clock (which every recorded event needs), and synfin filtering every
	# event out in the kernel after a few reads
	measure "floor.r$r" "$FLOOR"
	measure "clock.r$r" "$FLOOR" --clock
	SINK=/dev/null measure "synfin-filtered.r$r" "$SYNFIN" trace --json --port 1
	SINK=/dev/null measure "synfin-watch.r$r" "$SYNFIN" watch --json --netns "/run/netns/$NS"
	for v in ${BENCH_VARIANTS:-}; do
		SINK=/dev/null measure "variant-${v%%=*}.r$r" "${v#*=}" trace --json
	done
	if [ $QUICK = 0 ] && [ "${BENCH_PEERS:-1}" = 1 ]; then
		measure "tcpstates.r$r" tcpstates
		measure "tcplife.r$r" tcplife
	fi
	# the other close order: the server's endpoint then holds TIME_WAIT
	CLOSE=server
	measure "baseline-server.r$r"
	SINK=/dev/null measure "synfin-trace-server.r$r" "$SYNFIN" trace --json
	CLOSE=client
}

# production_round R: the churn ratios as a host pays them, statistics off.
# The untraced run comes before and after the traced ones; each ratio is to
# their mean, so drift within the round falls out of it too
production_round() {
	local r=$1
	stats_off
	measure "prod-baseline.r$r"
	SINK=/dev/null measure "prod-trace.r$r" "$SYNFIN" trace --json
	measure "prod-floor.r$r" "$FLOOR"
	SINK=/dev/null measure "prod-watch.r$r" "$SYNFIN" watch --json --netns "/run/netns/$NS"
	measure "prod-baseline-after.r$r"
	stats_on
}

# bench_replay: a recording of the churn, replayed three times on one core.
# Writes $OUT/replay.res: the recording's events, then each run's events/s
bench_replay() {
	local cpu=$(($(nproc) - 1)) ev t0 t1
	"$SYNFIN" trace --json --netns "/run/netns/$NS" --record "$OUT/replay.sfr" >/dev/null \
		2>"$OUT/replay.err" &
	TOOL_PID=$!
	sleep 2
	LOADARGS=(--duration "$REPLAY_SECONDS") load >/dev/null
	kill -INT $TOOL_PID
	wait $TOOL_PID
	TOOL_PID=
	ev=$(sed -n 's/^synfin: \([0-9]*\) events.*/\1/p' "$OUT/replay.err")
	echo "$ev $cpu" >"$OUT/replay.res"
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		taskset -c "$cpu" "$SYNFIN" replay --json "$OUT/replay.sfr" >/dev/null 2>&1
		t1=$(date +%s%N)
		echo $((ev * 1000000000 / (t1 - t0))) >>"$OUT/replay.res"
	done
	rm -f "$OUT/replay.sfr"
}

# bench_memory R: anonymous RSS of synfin trace idle, then while it tracks HOLD
# held connections (2 endpoints each). Writes $OUT/mem.rR.mem: KiB idle, KiB tracking
bench_memory() {
	local r=$1 rss0 hwm held holder_pid
	"$SYNFIN" trace --json --netns "/run/netns/$NS" >/dev/null 2>"$OUT/mem.r$r.err" &
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
	echo "$rss0 $hwm" >"$OUT/mem.r$r.mem"
}

# bench_headroom: events lost at peak churn, per ring size
bench_headroom() {
	local size
	for size in 64K 1M 16M; do
		[ $QUICK = 1 ] && [ $size != 16M ] && continue
		SINK=/dev/null measure "ring-$size" "$SYNFIN" trace --json --ringbuf-size $size
	done
}

# Configurations take turns, ROUNDS times over: the machine's own drift then
# falls on all of them alike, and each ratio pairs a run with its own round's
# baseline. The tables give medians with the range over the rounds.
echo "bench: churn for ${DUR}s per configuration, $ROUNDS rounds ($(nproc) CPUs)" >&2
# what else ran meanwhile: the load average before and after, in the report
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
	one_round "$r"
	production_round "$r"
	bench_memory "$r"
done
[ "$REPLAY_SECONDS" != 0 ] && bench_replay
bench_headroom

BENCH_SECONDS=$DUR BENCH_HOLD=$HOLD BENCH_LOAD="$LOAD_BEFORE $(cut -d' ' -f1 /proc/loadavg)" \
	"$PYTHON" bench/report.py "$OUT" "$QUICK" "${BENCH_VARIANTS:-}"

# every network namespace of the host: a host-wide snapshot and watch's reconciliations
echo
bench/hostwide.sh $([ "$QUICK" = 1 ] && echo --quick)
