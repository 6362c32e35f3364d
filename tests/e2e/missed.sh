#!/usr/bin/env bash
# Program runs the kernel skips: a tracer's program that fires again on a CPU
# where it is already running (a softirq interrupting it) is not run, and the
# kernel counts a recursion miss; its twin records the event instead
# (bpf/rescue.bpf.h). Eight tracers of one network namespace under loopback
# churn make such misses happen. Runs must have been skipped and rescued; each
# tracer's summary must report as missed exactly the misses bpftool reads for
# its first programs less what its twins recorded (their .bss); every tracer
# that missed nothing must have seen the same events and endpoints as the
# others; no endpoint that may have lost an event must be classified; and the
# recording must replay to the same output. Prints nothing when all holds.
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
ROUNDS=5
NS=synfin-missed-$$
PINS=$OUT/bpffs
pids=()
mkdir -p "$PINS"
rm -f "$OUT"/*.json "$OUT"/*.err "$OUT"/kernel* "$OUT"/progs* "$OUT"/loadgen "$OUT"/rec.sfr
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
	rec=()
	[ "$i" = 1 ] && rec=(--record "$OUT/rec.sfr")
	"$SYNFIN" trace --json --netns "/run/netns/$NS" "${rec[@]}" >"$OUT/live$i.json" \
		2>"$OUT/trace$i.err" &
	pids+=($!)
done
for i in $(seq "$TRACERS"); do
	wait_for "$OUT/trace$i.err" "tracing TCP"
	pin_tracer "$i" "${pids[$((i - 1))]}"
done
# churn until the kernel has skipped runs of some tracer (the first round nearly always does)
for round in $(seq "$ROUNDS"); do
	ip netns exec "$NS" "$LOADGEN" --duration 2 --threads 4 >>"$OUT/loadgen" || exit 1
	total=0
	for i in $(seq "$TRACERS"); do
		total=$((total + $(kernel_misses "$PINS/t$i")))
	done
	[ "$total" -gt 0 ] && break
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

TZ=UTC "$SYNFIN" replay --json "$OUT/rec.sfr" >"$OUT/replay.json" 2>"$OUT/replay.err"
cmp -s "$OUT/live1.json" "$OUT/replay.json" || echo "the recording does not replay to the live output"
tail -n1 "$OUT/trace1.err" | cmp -s - <(tail -n1 "$OUT/replay.err") ||
	echo "replay's summary line differs: $(tail -n1 "$OUT/replay.err")"

"$PYTHON" - "$OUT" "$TRACERS" <<'PY'
import json, re, sys
from collections import Counter

out, n = sys.argv[1], int(sys.argv[2])
skipped = saved = 0
complete = {}
for i in range(1, n + 1):
    lines = [json.loads(l) for l in open(f"{out}/live{i}.json")]
    summary = lines[-1]
    if summary.get("type") != "summary" or "missed" not in summary:
        print(f"tracer {i}: no missed in the summary: {summary}")
        continue
    missed = summary["missed"]
    kernel = int(open(f"{out}/kernel{i}").read())
    rescued = int(open(f"{out}/rescued{i}").read())
    skipped += kernel
    saved += rescued
    if missed != kernel - rescued:
        print(f"tracer {i}: the summary says {missed} missed; bpftool reads {kernel} skipped "
              f"and {rescued} recorded by the twins")
    err = open(f"{out}/trace{i}.err").read().splitlines()[-1]
    if not re.search(rf"\b{missed} missed\b", err):
        print(f"tracer {i}: the stderr summary does not say {missed} missed: {err}")
    conns = [x for x in lines if x["type"] == "connection"]
    bad = [c for c in conns if "lost" in c["gaps"] and (c["close"] != "incomplete" or c["time_wait"])]
    if bad:
        print(f"tracer {i}: {len(bad)} endpoints that may miss an event classified anyway")
    if missed == 0:
        complete[i] = (summary["events"], Counter(c["close"] for c in conns))
if len(set(map(repr, complete.values()))) > 1:
    print("tracers that missed nothing saw different events or endpoints: %s" %
          "; ".join(f"tracer {i}: {e} events, {dict(c)}" for i, (e, c) in complete.items()))
if skipped == 0 or saved == 0:
    rounds = open(f"{out}/rounds").read().strip()
    print(f"{skipped} runs skipped and {saved} recorded by twins in {rounds} rounds of churn: "
          "nothing shows that skipped runs are recorded")
PY
