#!/usr/bin/env bash
# make bench, host-wide part: what covering every network namespace of the host
# costs. NS namespaces, each holding PER sockets (bench/nsfill.py), are read by
# a host-wide snapshot (one walk of the kernel's socket hash per namespace, as
# iter/tcp lists only the namespace it is opened in), then by watch's
# reconciliations, which read only the namespaces whose counts can have
# drifted. Then the same snapshot with per-namespace hash tables
# (net.ipv4.tcp_child_ehash_entries, set only while the namespaces are made).
# Needs root, in the host's network namespace. --quick: tiny sizes.
set -u
cd "$(dirname "$0")/.."
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
NNS=${BENCH_NETNS:-200}
PER=${BENCH_NETNS_SOCKETS:-500}
QUICK=0
if [ "${1:-}" = --quick ]; then
	QUICK=1
	NNS=5
	PER=20
fi
OUT=build/bench
mkdir -p "$OUT"
PREFIX=sfbench$$

fill_start() { # [SYSCTL]: NNS namespaces of PER sockets, made with the sysctl given
	local old
	old=$(sysctl -n net.ipv4.tcp_child_ehash_entries)
	[ -n "${1:-}" ] && sysctl -qw "net.ipv4.tcp_child_ehash_entries=$1"
	coproc FILL { "$PYTHON" bench/nsfill.py "$NNS" "$PER" "$PREFIX"; }
	FILL_PID=$FILL_PID
	read -r ready <&"${FILL[0]}"
	sysctl -qw "net.ipv4.tcp_child_ehash_entries=$old"
	[ "$ready" = ready ] || { echo "hostwide: nsfill failed" >&2; exit 1; }
}

fill_stop() {
	eval "exec ${FILL[1]}>&-"
	wait "$FILL_PID" 2>/dev/null
}

# snapshot_cost ARGS...: "WALL CPU" seconds, the best of 3 runs of synfin snapshot ARGS
snapshot_cost() {
	local best=""
	for _ in 1 2 3; do
		/usr/bin/time -f "%e %U %S" -o "$OUT/hostwide.time" "$SYNFIN" snapshot --json "$@" \
			>"$OUT/hostwide.snap" 2>/dev/null
		read -r wall user sys <"$OUT/hostwide.time"
		cpu=$("$PYTHON" -c "print(round($user + $sys, 2))")
		if [ -z "$best" ] || "$PYTHON" -c "import sys; sys.exit(not $cpu < ${best#* })"; then
			best="$wall $cpu"
		fi
	done
	echo "$best"
}

# The reconciliations of a watch with a 1 s snapshot interval: its tick lines.
watch_ticks() {
	"$SYNFIN" watch --json --interval 1 --snapshot-interval 1 --duration "$1" 2>/dev/null |
		grep '"type":"tick"' >"$OUT/hostwide.ticks"
}

fill_start
read -r all_wall all_cpu < <(snapshot_cost)
sockets=$("$PYTHON" -c "
import json, sys
print(sum(json.loads(l)['count'] for l in open('$OUT/hostwide.snap')))")
read -r one_wall one_cpu < <(snapshot_cost --netns "/run/netns/$PREFIX-0")
watch_ticks $([ $QUICK = 1 ] && echo 4 || echo 12)
fill_stop
ehash=""
if [ $QUICK = 0 ]; then
	fill_start 1024
	read -r eh_wall eh_cpu < <(snapshot_cost)
	fill_stop
	ehash="$eh_wall $eh_cpu"
fi

"$PYTHON" - "$OUT/hostwide.ticks" "$NNS" "$PER" "$sockets" "$all_wall $all_cpu" \
	"$one_wall $one_cpu" "$ehash" <<'PY'
import json, statistics, sys
ticks, nns, per, sockets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
all_wall, all_cpu = map(float, sys.argv[5].split())
one_wall, one_cpu = map(float, sys.argv[6].split())
rec = []
for line in open(ticks):
    t = json.loads(line)
    key = (t["netns_read"], t["read_ms"])
    if not rec or rec[-1] != key:
        rec.append(key)
walk = (all_cpu - one_cpu) / (nns - 1) * 1000 if nns > 1 else 0
print(f"host-wide: {nns} namespaces x {per} sockets ({sockets} sockets on the host): "
      f"synfin snapshot {all_wall:.2f} s ({all_cpu:.2f} s CPU), one namespace alone "
      f"{one_wall:.2f} s ({one_cpu:.2f} s CPU): {walk:.1f} ms CPU per namespace read")
if rec:
    later = rec[1:] or rec
    print(f"host-wide watch: the first reconciliation reads {rec[0][0]} namespaces in "
          f"{rec[0][1]:.0f} ms; the next {len(later)} read "
          f"{statistics.median(n for n, _ in later):.0f} (drifted or due for the sweep) in "
          f"{statistics.median(ms for _, ms in later):.0f} ms (median)")
if sys.argv[7]:
    w, c = map(float, sys.argv[7].split())
    print(f"host-wide with per-namespace hash tables (net.ipv4.tcp_child_ehash_entries=1024 "
          f"when the namespaces were made): synfin snapshot {w:.2f} s ({c:.2f} s CPU)")
PY
