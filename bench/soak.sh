#!/usr/bin/env bash
# make soak: peak loopback churn for SOAK_SECONDS (default 600) under
# `synfin trace --json` and `synfin watch --json`, their RSS sampled every
# minute. Passes when each one's RSS at the end is within 5% of its RSS at
# minute 1. A benchmark, not a test: it takes the whole machine for ten minutes.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
LOADGEN=$(realpath build/loadgen)
SECONDS_TOTAL=${SOAK_SECONDS:-600}
STEP=${SOAK_STEP:-60}
NS=synfin-soak-$$
OUT=build/soak
mkdir -p "$OUT"

die() {
	echo "soak: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (BPF, network namespaces)"
[ "$SECONDS_TOTAL" -ge $((2 * STEP)) ] || die "SOAK_SECONDS must be at least twice SOAK_STEP"

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || die "cannot create a network namespace"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"

"$SYNFIN" trace --json --netns "/run/netns/$NS" >/dev/null 2>"$OUT/trace.err" &
TRACE=$!
"$SYNFIN" watch --json --netns "/run/netns/$NS" --interval 5 >/dev/null 2>"$OUT/watch.err" &
WATCH=$!
PIDS+=("$TRACE" "$WATCH")
await_line "$OUT/trace.err" "tracing TCP" || die "synfin trace did not start: $(cat "$OUT/trace.err")"
sleep 2
ip netns exec "$NS" "$LOADGEN" --duration "$SECONDS_TOTAL" >"$OUT/load.out" 2>&1 &
PIDS+=($!)

rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "soak: ${SECONDS_TOTAL}s of churn, RSS every ${STEP}s"
printf "%-8s %12s %12s\n" "minute" "trace KiB" "watch KiB"
: >"$OUT/rss"
for ((t = STEP; t <= SECONDS_TOTAL; t += STEP)); do
	sleep "$STEP"
	kill -0 "$TRACE" 2>/dev/null && kill -0 "$WATCH" 2>/dev/null || die "a synfin process died"
	r1=$(rss "$TRACE")
	r2=$(rss "$WATCH")
	echo "$t $r1 $r2" >>"$OUT/rss"
	printf "%-8s %12s %12s\n" "$((t / 60))" "$r1" "$r2"
done
wait "${PIDS[2]}"
cat "$OUT/load.out"
kill -INT "$TRACE" "$WATCH"
wait "$TRACE" "$WATCH"
tail -1 "$OUT/trace.err"

awk -v step="$STEP" 'NR == 1 { a = $2; b = $3 } { c = $2; d = $3 }
END {
	ok = c <= a * 1.05 && d <= b * 1.05
	printf "trace: %d KiB at minute 1, %d KiB at the end (%+.1f%%)\n", a, c, (c - a) * 100 / a
	printf "watch: %d KiB at minute 1, %d KiB at the end (%+.1f%%)\n", b, d, (d - b) * 100 / b
	print ok ? "soak: within 5%" : "soak: RSS grew more than 5%"
	exit !ok
}' "$OUT/rss"
