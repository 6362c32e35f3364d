#!/usr/bin/env bash
# Regenerates the recordings the unit tests replay (needs root and a build).
# Each is a real trace of loopback traffic in a private network namespace.
# With names (e.g. "fastopen listener-closed"), only those recordings are made:
# the unit tests assert exact values of the others, so keep them.
set -eu
cd "$(dirname "$0")/../.."
NS=synfin-rec-$$
OUTD=tests/data
trap 'ip netns del $NS 2>/dev/null; kill $TP 2>/dev/null || true' EXIT
TP=
start() { # FILE [trace options]
	local f=$1
	rm -f /tmp/rec.err
	shift
	ip netns add $NS
	ip -n $NS link set lo up
	./synfin trace --json --netns /run/netns/$NS --record "$OUTD/$f" "$@" >"${SINK:-/dev/null}" 2>/tmp/rec.err &
	TP=$!
	until grep -q tracing /tmp/rec.err; do sleep 0.1; done
}
stop() {
	sleep 0.3
	kill -INT $TP
	wait $TP || true
	TP=
	ip netns del $NS
}
old_recordings() {
	for s in four-way three-way server-first simultaneous reset refused half-close; do
		start $s.sfr
		ip netns exec $NS build/scen $s 9200
		stop
	done
	start ipv6-four-way.sfr
	ip netns exec $NS build/scen four-way 9200 -6
	stop

	# SYNs dropped for 1.5 s: two retransmitted SYNs, then the handshake completes
	start syn-retrans.sfr
	ip netns exec $NS python3 tests/data/synretrans.py 9200
	stop

	# the server's SYN-ACKs dropped for 1.5 s: it sends them again from its request socket
	start synack-retrans.sfr
	ip netns exec $NS python3 tests/data/synretrans.py 9200 synack
	stop

	# a connect that times out in SYN_SENT: aborted
	start aborted.sfr
	ip netns exec $NS python3 tests/data/aborted.py 9200
	stop

	# a connection that exists before tracing starts
	ip netns add $NS
	ip -n $NS link set lo up
	rm -f /tmp/rec.err
	coproc HOLD { ip netns exec $NS python3 tests/data/hold.py 9200; }
	read -r _ <&"${HOLD[0]}"
	./synfin trace --json --netns /run/netns/$NS --record $OUTD/preexisting.sfr >/dev/null 2>/tmp/rec.err &
	TP=$!
	until grep -q tracing /tmp/rec.err; do sleep 0.1; done
	echo go >&"${HOLD[1]}"
	wait $HOLD_PID
	stop

	# a one-page ring buffer and a reader that stalls: a burst overflows it while
	# one connection (port 9201) lives across the loss and closes after it
	rm -f /tmp/rec.fifo
	mkfifo /tmp/rec.fifo
	(sleep 1; cat >/dev/null) </tmp/rec.fifo &
	SINK=/tmp/rec.fifo start lost.sfr --ringbuf-size 4096
	coproc HOLD { ip netns exec $NS python3 tests/data/hold.py 9201; }
	read -r _ <&"${HOLD[0]}"
	ip netns exec $NS python3 tests/data/burst.py 9200 500
	sleep 2
	echo go >&"${HOLD[1]}"
	wait $HOLD_PID
	stop
	rm -f /tmp/rec.fifo
}

# the ends of issue 12, one recording each: NAME -> how it is played
new_recording() { # NAME
	case $1 in
	shutdown-close | abort-on-data | listener-closed | fastopen | simultaneous-open | \
		unread-data | user-timeout | syn-timeout | keepalive-timeout | fin-wait2-timeout)
		start "$1.sfr"
		ip netns exec $NS build/scen "$1" 9200
		stop
		;;
	abort-fw2 | abort-queued | fastopen-reset)
		start "$1.sfr"
		ip netns exec $NS python3 tests/data/abort.py 9200 "${1#*-}"
		stop
		;;
	*)
		echo "make-recordings: no recording named $1" >&2
		exit 2
		;;
	esac
}

if [ $# = 0 ]; then
	old_recordings
	for n in shutdown-close abort-on-data listener-closed fastopen simultaneous-open \
		unread-data abort-fw2 abort-queued fastopen-reset user-timeout syn-timeout \
		keepalive-timeout fin-wait2-timeout; do
		new_recording $n
	done
else
	for n in "$@"; do
		new_recording "$n"
	done
fi
ls -la $OUTD/*.sfr
