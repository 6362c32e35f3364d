#!/usr/bin/env bash
# Program runs the kernel skips: a tracer's program that fires again on a CPU
# where it is already running (a softirq interrupting it) is not run, and the
# kernel counts a recursion miss. With tp_btf, its twin records the event
# instead (bpf/rescue.bpf.h); classic tracepoint programs have no twins. Four
# tracers of each kind watch one network namespace under loopback churn, which
# makes such misses happen in both. Each tracer's summary must report as missed
# exactly the misses bpftool reads for its first programs less what its twins
# recorded (their .bss). The tp_btf tracers must have had runs skipped and
# recorded, must miss none, and must all have seen the same events and
# endpoints; the tracepoint ones must have missed runs. No endpoint that may
# have lost an event may be classified, and both kinds' recordings must replay
# to their live output. Prints nothing when all holds.
# Needs root.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
# pins keep the programs readable after their tracer exits: in a bpffs of a
# private mount namespace, so they vanish with it, whatever happens
if [ -z "${MISSED_PRIVATE_MNT:-}" ]; then
	MISSED_PRIVATE_MNT=1 exec unshare --mount --propagation private "$0" "$@"
fi
SYNFIN=${SYNFIN:-./synfin}
LOADGEN=${LOADGEN:-build/loadgen}
OUT=${OUT:-build/e2e/missed}
PYTHON=${PYTHON:-python3}
TRACERS=8
TWINS=4 # tracers 1-4 attach tp_btf, with twins; 5-8 classic tracepoints
ROUNDS=5
NS=synfin-missed-$$
PINS=$OUT/bpffs
pids=()
mkdir -p "$PINS"
rm -f "$OUT"/*.json "$OUT"/*.err "$OUT"/kernel* "$OUT"/rescued* "$OUT"/loadgen "$OUT"/rec*.sfr
mount -t bpf bpf "$PINS" || exit 1

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	umount "$PINS" 2>/dev/null
}
trap cleanup EXIT

wait_for() { # FILE PATTERN
	await_line "$1" "$2" 20 && return 0
	echo "timed out waiting for '$2' in $1"
	exit 1
}

# the ids of the BPF programs process PID holds (its links name them too)
prog_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -u
}

# the ids of the BPF maps process PID holds
map_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^map_id:/ {print $2}' | sort -u
}

# pin_tracer I PID: its programs as t<I>-<id>, its .bss (the twins' counts) as bss<I>
pin_tracer() {
	local id
	for id in $(prog_ids "$2"); do
		bpftool prog pin id "$id" "$PINS/t$1-$id" || exit 1
	done
	for id in $(map_ids "$2"); do
		case $(bpftool -j map show id "$id") in
		*'.bss"'*) bpftool map pin id "$id" "$PINS/bss$1" || exit 1 ;;
		esac
	done
}

# the recursion misses bpftool reads for the first programs pinned as PREFIX-*
# (a twin is skipped only while its first program is free to run: not counted)
kernel_misses() {
	local f
	for f in "$1"-*; do bpftool -j prog show pinned "$f"; echo; done | "$PYTHON" -c '
import json, sys
progs = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(p.get("recursion_misses", 0) for p in progs if not p["name"].startswith("rescue_")))'
}

# what the twins of tracer I recorded
rescued() {
	bpftool -j map dump pinned "$PINS/bss$1" | "$PYTHON" -c '
import json, sys
bss = json.load(sys.stdin)[0]["formatted"]["value"][".bss"]
print(sum(next(v["rescued"] for v in bss if "rescued" in v)))'
}

ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1
for i in $(seq "$TRACERS"); do
	args=(--attach tp_btf)
	[ "$i" -gt "$TWINS" ] && args=(--attach tracepoint)
	[ "$i" = 1 ] || [ "$i" = $((TWINS + 1)) ] && args+=(--record "$OUT/rec$i.sfr")
	"$SYNFIN" trace --json --netns "/run/netns/$NS" "${args[@]}" >"$OUT/live$i.json" \
		2>"$OUT/trace$i.err" &
	pids+=($!)
done
for i in $(seq "$TRACERS"); do
	wait_for "$OUT/trace$i.err" "tracing TCP"
	pin_tracer "$i" "${pids[$((i - 1))]}"
done
# churn until the kernel has skipped runs of both kinds (the first round nearly always does)
for round in $(seq "$ROUNDS"); do
	ip netns exec "$NS" "$LOADGEN" --duration 2 --threads 4 >>"$OUT/loadgen" || exit 1
	btf=0 tp=0
	for i in $(seq "$TRACERS"); do
		n=$(kernel_misses "$PINS/t$i")
		if [ "$i" -le "$TWINS" ]; then btf=$((btf + n)); else tp=$((tp + n)); fi
	done
	[ "$btf" -gt 0 ] && [ "$tp" -gt 0 ] && break
done
echo "$round" >"$OUT/rounds"
for p in "${pids[@]}"; do kill -INT "$p"; done
for p in "${pids[@]}"; do wait "$p" || echo "a tracer exited $?"; done
pids=()
ip netns del "$NS"
# detached now: the counts are final
for i in $(seq "$TRACERS"); do
	kernel_misses "$PINS/t$i" >"$OUT/kernel$i"
	rescued "$i" >"$OUT/rescued$i"
done

for i in 1 $((TWINS + 1)); do
	TZ=UTC "$SYNFIN" replay --json "$OUT/rec$i.sfr" >"$OUT/replay$i.json" 2>"$OUT/replay$i.err"
	cmp -s "$OUT/live$i.json" "$OUT/replay$i.json" ||
		echo "tracer $i: the recording does not replay to the live output"
	tail -n1 "$OUT/trace$i.err" | cmp -s - <(tail -n1 "$OUT/replay$i.err") ||
		echo "tracer $i: replay's summary line differs: $(tail -n1 "$OUT/replay$i.err")"
done

"$PYTHON" - "$OUT" "$TRACERS" "$TWINS" <<'PY'
import json, re, sys
from collections import Counter

out, n, twins = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
skipped = {"tp_btf": 0, "tracepoint": 0}
saved = 0
seen = {}
for i in range(1, n + 1):
    kind = "tp_btf" if i <= twins else "tracepoint"
    err = open(f"{out}/trace{i}.err").read().splitlines()
    if f"({kind})" not in err[0]:
        print(f"tracer {i}: not attached as {kind}: {err[0]}")
    lines = [json.loads(l) for l in open(f"{out}/live{i}.json")]
    summary = lines[-1]
    if summary.get("type") != "summary" or "missed" not in summary:
        print(f"tracer {i}: no missed in the summary: {summary}")
        continue
    missed = summary["missed"]
    kernel = int(open(f"{out}/kernel{i}").read())
    rescued = int(open(f"{out}/rescued{i}").read())
    skipped[kind] += kernel
    saved += rescued
    if missed != kernel - rescued:
        print(f"tracer {i}: the summary says {missed} missed; bpftool reads {kernel} skipped "
              f"and {rescued} recorded by the twins")
    if not re.search(rf"\b{missed} missed\b", err[-1]):
        print(f"tracer {i}: the stderr summary does not say {missed} missed: {err[-1]}")
    conns = [x for x in lines if x["type"] == "connection"]
    bad = [c for c in conns if "lost" in c["gaps"] and (c["close"] != "incomplete" or c["time_wait"])]
    if bad:
        print(f"tracer {i}: {len(bad)} endpoints that may miss an event classified anyway")
    if kind == "tp_btf":
        if missed:
            print(f"tracer {i}: {missed} skipped runs that no twin recorded")
        seen[i] = (summary["events"], Counter(c["close"] for c in conns))
if len(set(map(repr, seen.values()))) > 1:
    print("the tp_btf tracers saw different events or endpoints: %s" %
          "; ".join(f"tracer {i}: {e} events, {dict(c)}" for i, (e, c) in seen.items()))
rounds = open(f"{out}/rounds").read().strip()
if skipped["tp_btf"] == 0 or saved == 0:
    print(f"tp_btf: {skipped['tp_btf']} runs skipped and {saved} recorded by twins in {rounds} "
          "rounds of churn: nothing shows that skipped runs are recorded")
if skipped["tracepoint"] == 0:
    print(f"tracepoint: no run skipped in {rounds} rounds of churn: nothing shows that misses "
          "are reported")
PY
