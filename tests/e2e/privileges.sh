#!/usr/bin/env bash
# Least privilege beyond trace: watch and snapshot keep at most the two
# capabilities that name socket owners, in the permitted set only, and still name
# a CLOSE_WAIT owner running as nobody; check's tracing process keeps none while
# COMMAND keeps its own; the cgroup goes even when check is killed. Needs root.
set -u
cd "$(dirname "$0")/../.."
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
PYTHON=${PYTHON:-/usr/bin/python3}
NS=synfin-priv-$$
OWNER_CAPS=0000000000080004 # CAP_SYS_PTRACE | CAP_DAC_READ_SEARCH
fails=0
HOLDER=

cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

expect() { # WHAT COMMAND...: run COMMAND, count a failure if it fails
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
	else
		echo "FAIL $what"
		fails=$((fails + 1))
	fi
}

not() { ! "$@"; }

caps_of() { # PID: "CapEff CapPrm CapBnd NoNewPrivs"
	awk '/^CapEff/{e=$2} /^CapPrm/{p=$2} /^CapBnd/{b=$2} /^NoNewPrivs/{n=$2}
	     END{print e, p, b, n}' "/proc/$1/status"
}

# wait_caps PATTERN: caps of the newest process matching PATTERN once it has dropped
wait_caps() {
	local pid caps
	for _ in $(seq 100); do
		pid=$(pgrep -n -f "$1")
		if [ -n "$pid" ]; then
			caps=$(caps_of "$pid" 2>/dev/null)
			case $caps in *" 1") echo "$caps"; return 0 ;; esac
		fi
		sleep 0.1
	done
	echo "none"
}

ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1

# a CLOSE_WAIT held by a process of another user, so naming it takes CAP_SYS_PTRACE
ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups "$PYTHON" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9411)); s.listen()
c = socket.create_connection(("127.0.0.1", 9411)); a, _ = s.accept(); c.close()
print("ready", flush=True); time.sleep(60)' >"/tmp/synfin-priv-$$.holder" &
HOLDER=$!
for _ in $(seq 50); do grep -q ready "/tmp/synfin-priv-$$.holder" && break; sleep 0.1; done
rm -f "/tmp/synfin-priv-$$.holder"
holder_pid=$(pgrep -n -u 65534 -f "9411")

# watch_caps ARGS...: the capabilities of a 3-second watch of the namespace, once dropped
watch_caps() {
	"$SYNFIN" watch --netns "/run/netns/$NS" --duration 3 "$@" >/dev/null 2>&1 &
	local watcher=$!
	wait_caps "synfin watch --netns /run/netns/$NS"
	wait $watcher
}

caps=$(watch_caps --alert 'close_wait>0' --json --metrics 127.0.0.1:19411)
echo "watch with an alert: $caps"
expect "watch keeps only the owner capabilities, not effective" \
	[ "$caps" = "0000000000000000 $OWNER_CAPS 0000000000000000 1" ]

out=$("$SYNFIN" watch --netns "/run/netns/$NS" --alert 'close_wait>0' --once --json 2>&1)
echo "$out" | grep '"type":"alert"'
expect "watch names the CLOSE_WAIT owner that runs as nobody" \
	grep -q "\"pids\":\[{\"pid\":$holder_pid," <<<"$out"

caps=$(watch_caps)
echo "watch without alerts: $caps"
expect "watch without alerts or --by process keeps nothing" \
	[ "$caps" = "0000000000000000 0000000000000000 0000000000000000 1" ]

out=$("$SYNFIN" snapshot --netns "/run/netns/$NS" -p 2>&1)
echo "$out" | grep CLOSE_WAIT
expect "snapshot -p names the owner after its drop" \
	grep -q "CLOSE_WAIT .* $holder_pid/python3" <<<"$out"

# check: COMMAND reports its parent's (the tracer's) capabilities and its own
out=$("$SYNFIN" check --expect 'count>=0' -- sh -c \
	'grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/$PPID/status; grep "^CapEff" /proc/self/status' 2>&1)
echo "$out" | grep -E 'Cap|NoNew'
expect "check traces with no capability and no_new_privs" \
	[ "$(grep -c -E 'CapEff:\s+0+$|CapPrm:\s+0+$|NoNewPrivs:\s+1$' <<<"$out")" = 3 ]
expect "check's COMMAND keeps its own capabilities" \
	grep -q -E '^CapEff:\s+0*[1-9a-f][0-9a-f]*$' <<<"$(grep '^CapEff' <<<"$out" | tail -1)"

# killed outright, check still leaves no cgroup and no COMMAND behind
"$SYNFIN" check --expect 'count>=0' -- sleep 300 >/dev/null 2>&1 &
checker=$!
cg= cmd_pid=
for _ in $(seq 200); do
	for root in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -r "$root/synfin-check.$checker/cgroup.procs" ] || continue
		cg=$root/synfin-check.$checker
		for p in $(cat "$cg/cgroup.procs"); do
			[ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ] && cmd_pid=$p
		done
	done
	[ -n "$cmd_pid" ] && break
	sleep 0.1
done
echo "cgroup while running: ${cg:-none}, COMMAND pid ${cmd_pid:-none}"
kill -KILL $checker
wait $checker 2>/dev/null
for _ in $(seq 100); do
	[ ! -e "${cg:-/nonexistent}" ] && ! kill -0 "${cmd_pid:-999999999}" 2>/dev/null && break
	sleep 0.1
done
expect "a killed check had its cgroup with COMMAND in it" [ -n "$cg" -a -n "$cmd_pid" ]
expect "a killed check leaves no cgroup" [ ! -e "${cg:-/nonexistent}" ]
expect "a killed check leaves no COMMAND" not kill -0 "${cmd_pid:-999999999}"

exit $((fails > 0))
