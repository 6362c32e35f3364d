#!/usr/bin/env bash
# bench/profile.sh: where synfin's time goes at peak churn (root; perf and
# valgrind installed). Not a test, no thresholds: docs/performance.md reads it.
#   1. BPF side: system-wide perf samples (cpu-clock: this VM has no hardware
#      counters) while `synfin trace --json` traces the churn, charged by
#      bench/bpfprof.py to the program's own code or the helper it called;
#   2. user side: perf samples of the synfin process, with DWARF call graphs;
#   3. replay: callgrind on a recording of the same churn.
# PROFILE_SECONDS sets each churn (8); everything lands in build/profile/.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
LOADGEN=$(realpath build/loadgen)
SECS=${PROFILE_SECONDS:-8}
NS=synfin-profile-$$
OUT=build/profile
mkdir -p "$OUT"

die() {
	echo "profile: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (BPF, perf, network namespaces)"
command -v perf >/dev/null || die "needs perf (Debian: linux-perf)"
command -v valgrind >/dev/null || die "needs valgrind"
[ -x "$SYNFIN" ] && [ -x "$LOADGEN" ] || die "build first: make synfin build/loadgen"

cleanup() {
	[ -n "${TOOL_PID:-}" ] && kill "$TOOL_PID" 2>/dev/null && wait "$TOOL_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || die "cannot create a network namespace"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
load() { ip netns exec "$NS" "$LOADGEN" --duration "$SECS" >/dev/null; }

# start_trace ARGS...: synfin trace in the background, once it is attached
start_trace() {
	"$SYNFIN" trace --json "$@" >/dev/null 2>"$OUT/trace.err" &
	TOOL_PID=$!
	await_line "$OUT/trace.err" "tracing TCP" ||
		die "synfin trace did not start: $(cat "$OUT/trace.err")"
}
stop_trace() {
	kill -INT "$TOOL_PID"
	wait "$TOOL_PID"
	TOOL_PID=
}

# the tag of the program on inet_sock_set_state that process PID holds
state_prog_tag() {
	local id
	for id in $(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | sort -u); do
		bpftool prog show id "$id" 2>/dev/null |
			awk '/ name btf_state / { for (i = 1; i < NF; i++) if ($i == "tag") print $(i + 1) }'
	done | head -1
}

bpf_side() {
	local tag
	start_trace
	tag=$(state_prog_tag "$TOOL_PID")
	perf record -a -g -F 9999 -e cpu-clock -o "$OUT/bpf.data" -- sleep "$SECS" \
		>/dev/null 2>&1 &
	load
	wait $!
	stop_trace
	echo "== BPF side: samples in synfin's program on inet_sock_set_state, by what it ran"
	perf script -F comm,ip,sym -i "$OUT/bpf.data" 2>/dev/null | bench/bpfprof.py "$tag"
}

user_side() {
	start_trace
	perf record -F 9999 -e cpu-clock --call-graph dwarf,8192 -p "$TOOL_PID" \
		-o "$OUT/user.data" -- sleep "$SECS" >/dev/null 2>&1 &
	load
	wait $!
	stop_trace
	echo "== user side: synfin trace --json > /dev/null, by function (self)"
	perf report -i "$OUT/user.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -25
}

replay_side() {
	start_trace --netns "/run/netns/$NS" --record "$OUT/profile.sfr"
	load
	stop_trace
	echo "== replay: callgrind on $(sed -n 's/^synfin: \([0-9]*\) events.*/\1/p' "$OUT/trace.err") events, instructions by function (inclusive)"
	valgrind --tool=callgrind --callgrind-out-file="$OUT/replay.callgrind" \
		"$SYNFIN" replay --json "$OUT/profile.sfr" >/dev/null 2>"$OUT/callgrind.err"
	callgrind_annotate --inclusive=yes "$OUT/replay.callgrind" 2>/dev/null |
		grep -E '^ *[0-9,]+ \( *[0-9.]+%\) .*synfin' | head -25
	rm -f "$OUT/profile.sfr"
}

echo "profile: ${SECS}s of churn per part; load average $(cut -d' ' -f1 /proc/loadavg)" >&2
bpf_side
echo
user_side
echo
replay_side
