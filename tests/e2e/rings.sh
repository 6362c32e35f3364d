#!/usr/bin/env bash
# A ring buffer per CPU, merged back into time order: synfin trace must hold one
# BPF ring buffer for each online CPU, each an equal share of --ringbuf-size
# (by default 16 MiB over all CPUs, at least 1 MiB each; a power of two, at
# least a page), and under loopback churn recorded on every CPU its recording
# (what the engine was fed) must carry the events in time order, every CPU's
# among them, also when synfin runs in a time namespace (whose CLOCK_MONOTONIC,
# the reader's clock, is shifted; the programs' is not): there the recording's
# start, its wall-clock offset and its end marker must still be on the
# events' clock. A single shared ring
# does not: a run nested in another (a softirq interrupting a task's run)
# queues its event behind one stamped later.
# Prints nothing when all holds. Needs root and two CPUs.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
SYNFIN=${SYNFIN:-./synfin}
LOADGEN=${LOADGEN:-build/loadgen}
OUT=${OUT:-build/e2e/rings}
PYTHON=${PYTHON:-python3}
NS=synfin-rings-$$
BPF_MAP_TYPE_RINGBUF=27
pid=
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.err "$OUT"/*.sfr "$OUT"/loadgen

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

# CPUs online ("0-1", "0,2-5"): the rings synfin makes
online_cpus() {
	tr ',' '\n' </sys/devices/system/cpu/online |
		awk -F- '{ n += ($2 == "" ? 1 : $2 - $1 + 1) } END { print n }'
}

# ring_sizes PID: the sizes of the ring buffers process PID holds, one a line
ring_sizes() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null |
		awk -v rb=$BPF_MAP_TYPE_RINGBUF '/^pos:/ { t = "" } /^map_type:/ { t = $2 }
			/^max_entries:/ && t == rb { print $2 }'
}

# expect_rings NAME EXPECTED_SIZE [synfin trace options]: the rings it holds
expect_rings() {
	local name=$1 size=$2 sizes want
	shift 2
	"$SYNFIN" trace --json --netns "/run/netns/$NS" "$@" >"$OUT/$name.json" 2>"$OUT/$name.err" &
	pid=$!
	await_line "$OUT/$name.err" "tracing TCP" 20 || {
		echo "$name: synfin did not start: $(cat "$OUT/$name.err")"
		exit 1
	}
	sizes=$(ring_sizes "$pid" | sort | uniq -c | awk '{ print $1 "x" $2 }')
	want="${NCPUS}x$size"
	[ "$sizes" = "$want" ] || echo "$name: ring buffers held: '${sizes//$'\n'/ }', expected $want"
}

# in_order FILE LABEL: the recording's events in time order, from every CPU
in_order() {
	"$PYTHON" - "$1" "$2" "$NCPUS" <<'PY'
import struct, sys

# include/tracer.h struct sf_event: ts_ns first, kind at 116, cpu at 124;
# src/core/record.h: a 64-byte header whose event_size is at 12
data = open(sys.argv[1], "rb").read()
label, ncpus = sys.argv[2], int(sys.argv[3])
size = struct.unpack_from("<I", data, 12)[0]
prev, back, events, cpus = 0, 0, 0, set()
for off in range(64, len(data) - size + 1, size):
    ts, = struct.unpack_from("<Q", data, off)
    kind, cpu = data[off + 116], struct.unpack_from("<H", data, off + 124)[0]
    if not 1 <= kind <= 4:
        continue  # the session's markers (lost, missed, end) are stamped when written
    events += 1
    cpus.add(cpu)
    if ts < prev:
        back += 1
    prev = max(prev, ts)
if events < 10000 or len(cpus) < min(ncpus, 2) or back:
    print(f"{label}: {events} events from CPUs {sorted(cpus)}, {back} stamped before one ahead of them")
PY
}

# on_events_clock FILE LABEL: the recording's start, end marker and wall-clock
# offset agree with its events and with the time now
on_events_clock() {
	"$PYTHON" - "$1" "$2" <<'PY'
import struct, sys, time

# src/core/record.h: realtime_offset_ns at 16, start_ns at 24; SF_EV_END = 18
data = open(sys.argv[1], "rb").read()
label = sys.argv[2]
size = struct.unpack_from("<I", data, 12)[0]
offset, start = struct.unpack_from("<qQ", data, 16)
first = last = end = None
for off in range(64, len(data) - size + 1, size):
    ts, kind = struct.unpack_from("<Q", data, off)[0], data[off + 116]
    if 1 <= kind <= 4:
        first = ts if first is None else first
        last = ts
    elif kind == 18:
        end = ts
if first is None or end is None:
    print(f"{label}: no events or no end marker")
elif (not 0 <= first - start < 60e9 or not 0 <= end - last < 60e9
      or abs((first + offset) / 1e9 - time.time()) > 120):
    print(f"{label}: start {start}, first event {first}, last {last}, end marker {end}, "
          f"first event's wall clock {time.ctime((first + offset) / 1e9)}")
PY
}

stop() {
	kill -INT "$pid"
	wait "$pid"
	pid=
}

NCPUS=$(online_cpus)
[ "$NCPUS" -ge 2 ] || {
	echo "needs two CPUs, this machine has $NCPUS"
	exit 1
}
ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1

# a share of 64 KiB, at least a page
small=$((65536 / NCPUS))
small=$((small < 4096 ? 4096 : small))
expect_rings small "$(
	s=4096
	while [ $((s * 2)) -le "$small" ]; do s=$((s * 2)); done
	echo $s
)" --ringbuf-size 64K
stop

# rings of a page, the least there is: still read (a reader that took a
# slice only when a ring's worth of budget was left read nothing from them)
expect_rings tiny 4096 --ringbuf-size 4K
ip netns exec "$NS" "$LOADGEN" --conns 20 >"$OUT/loadgen" 2>&1 || echo "loadgen failed: $(cat "$OUT/loadgen")"
sleep 0.5
stop
grep -q '"type":"summary","events":[1-9]' "$OUT/tiny.json" ||
	echo "rings of a page: nothing read: $(tail -1 "$OUT/tiny.json")"

default=$(((16 << 20) / NCPUS))
s=$((1 << 20))
while [ $((s * 2)) -le "$default" ]; do s=$((s * 2)); done
expect_rings default $s --record "$OUT/rec.sfr"
ip netns exec "$NS" "$LOADGEN" --duration 2 >"$OUT/loadgen" 2>&1 || echo "loadgen failed: $(cat "$OUT/loadgen")"
stop
grep -q '"type":"summary"' "$OUT/default.json" || echo "no summary: $(tail -2 "$OUT/default.err")"

in_order "$OUT/rec.sfr" recording

# in a time namespace CLOCK_MONOTONIC, the reader's clock, is shifted; the
# programs' bpf_ktime_get_ns() is not
unshare --time --monotonic 100000 --fork "$SYNFIN" trace --json --netns "/run/netns/$NS" \
	--duration 5s --record "$OUT/timens.sfr" >"$OUT/timens.json" 2>"$OUT/timens.err" &
pid=$!
await_line "$OUT/timens.err" "tracing TCP" 20 || echo "timens: synfin did not start: $(cat "$OUT/timens.err")"
ip netns exec "$NS" "$LOADGEN" --duration 2 >"$OUT/loadgen" 2>&1 || echo "loadgen failed: $(cat "$OUT/loadgen")"
wait "$pid"
pid=
in_order "$OUT/timens.sfr" "in a time namespace 100000 s ahead"
on_events_clock "$OUT/rec.sfr" recording
on_events_clock "$OUT/timens.sfr" "in a time namespace 100000 s ahead"
