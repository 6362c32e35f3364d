#!/usr/bin/env bash
# What a hostile local user, a cancelled CI job and a killed tracer do to synfin.
# Usage: attacks.sh --list | attacks.sh NAME (prints nothing and exits 0 when
# synfin held). Needs root; SYNFIN, SCEN and OUT come from tests/e2e/run.sh.
set -u
cd "$(dirname "$0")/../.."
SYNFIN=$(realpath "${SYNFIN:-./synfin}")
SCEN=$(realpath "${SCEN:-build/scen}")
OUT=${OUT:-build/e2e/attacks}
NOBODY=${NOBODY:-nobody}
ATTACKS="symlink-record symlink-junit foreign-record netns-not-a-namespace killed-recording escape-names
	interrupted-check only-bpf-caps absurd-durations metrics-thread-caps"

as_nobody() { setpriv --reuid="$NOBODY" --regid=nogroup --clear-groups "$@"; }

# A sticky world-writable folder like /tmp, and a root-owned file elsewhere to protect.
make_arena() {
	ARENA=$(mktemp -d /tmp/synfin-attack.XXXXXX)
	chmod 1777 "$ARENA"
	VICTIM=$(mktemp -d /tmp/synfin-victim.XXXXXX)/passwd
	echo "root:x:0:0" >"$VICTIM"
	chmod 0644 "$VICTIM"
}

drop_arena() { rm -rf "$ARENA" "$(dirname "$VICTIM")"; }

# refused COMMAND... : exits 1 with one line on stderr, the victim untouched
refused() {
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = 1 ] || echo "exit $rc, want 1: $*"
	[ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || echo "want one error line, got: $err"
	[ "$(cat "$VICTIM")" = "root:x:0:0" ] || echo "the victim file was written"
	[ "$(stat -c %a "$VICTIM")" = 644 ] || echo "the victim's mode changed"
	printf '%s\n' "$err" >"$OUT/$NAME.err"
}

attack_symlink-record() {
	make_arena
	as_nobody ln -s "$VICTIM" "$ARENA/trace.sfr"
	refused "$SYNFIN" trace --duration 1 --record "$ARENA/trace.sfr"
	grep -q "symbolic link" "$OUT/$NAME.err" || cat "$OUT/$NAME.err"
	drop_arena
}

attack_symlink-junit() {
	make_arena
	as_nobody ln -s "$VICTIM" "$ARENA/junit.xml"
	refused "$SYNFIN" check --junit "$ARENA/junit.xml" --expect 'count>=0' -- true
	grep -q "symbolic link" "$OUT/$NAME.err" || cat "$OUT/$NAME.err"
	drop_arena
}

attack_foreign-record() {
	make_arena
	as_nobody sh -c "echo theirs > '$ARENA/theirs.sfr'"
	VICTIM=$ARENA/theirs.sfr
	echo "root:x:0:0" | as_nobody tee "$VICTIM" >/dev/null
	refused "$SYNFIN" trace --duration 1 --record "$ARENA/theirs.sfr"
	grep -q "belongs to uid" "$OUT/$NAME.err" || cat "$OUT/$NAME.err"
	rm -rf "$ARENA"
}

attack_netns-not-a-namespace() {
	local rc
	"$SYNFIN" trace --duration 1 --netns /etc/passwd >/dev/null 2>"$OUT/$NAME.err"
	rc=$?
	[ $rc = 2 ] || echo "trace --netns /etc/passwd: exit $rc, want 2"
	grep -q "not a network namespace" "$OUT/$NAME.err" || cat "$OUT/$NAME.err"
}

# kill -9 mid-run: the recording replays up to its last event and says it has no end
attack_killed-recording() {
	local ns=synfin-attack-$$ rec=$OUT/killed.sfr pid n
	ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	rm -f "$rec"
	"$SYNFIN" trace --netns "/run/netns/$ns" --record "$rec" >/dev/null 2>"$OUT/$NAME.trace" &
	pid=$!
	for _ in $(seq 100); do grep -q "tracing TCP" "$OUT/$NAME.trace" && break; sleep 0.1; done
	for _ in 1 2 3; do ip netns exec "$ns" "$SCEN" four-way $((9000 + RANDOM % 1000)) >/dev/null 2>&1; done
	sleep 1.5
	kill -9 $pid
	wait $pid 2>/dev/null
	ip netns del "$ns"
	"$SYNFIN" replay --json "$rec" >"$OUT/$NAME.json" 2>"$OUT/$NAME.err" ||
		{ echo "replay of the killed recording failed:"; cat "$OUT/$NAME.err"; }
	grep -q "no end marker" "$OUT/$NAME.err" || echo "replay did not say the end marker is missing"
	n=$(grep -c '"type":"connection"' "$OUT/$NAME.json")
	[ "$n" -ge 6 ] || echo "only $n connections replayed from the killed recording, want 6"
}

# no raw control byte in a text view, whatever a process calls itself
clean_text() { # FILE WHAT
	if grep -q $'\x1b' "$1" || grep -q '^FAKE' "$1"; then
		echo "$2 printed a raw escape or a forged line:"
		cat -v "$1"
	fi
	grep -q 'RED\\x0aFAKE' "$1" || { echo "$2 does not show the escaped name:"; cat -v "$1"; }
}

attack_escape-names() {
	local ns=synfin-attack-$$ pids="" v f
	ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	for v in lines states ladder; do
		f=$OUT/$v.out
		case $v in lines) set -- ;; states) set -- --states ;; ladder) set -- --ladder ;; esac
		"$SYNFIN" trace --netns "/run/netns/$ns" "$@" >"$f" 2>"$f.err" &
		pids="$pids $!"
	done
	for v in lines states ladder; do
		for _ in $(seq 100); do grep -q "tracing TCP" "$OUT/$v.out.err" && break; sleep 0.1; done
	done
	coproc EVIL { ip netns exec "$ns" "${PYTHON:-python3}" tests/e2e/evilname.py 8100; }
	read -r _ <&"${EVIL[0]}"
	ip netns exec "$ns" "$SYNFIN" snapshot -p >"$OUT/snapshot.out" 2>&1
	ip netns exec "$ns" "$SYNFIN" watch --once --alert 'close_wait>0' >"$OUT/watch.out" 2>&1
	sleep 1.2
	kill -INT $pids
	wait $pids 2>/dev/null
	exec {EVIL[1]}>&-
	wait "$EVIL_PID" 2>/dev/null
	ip netns del "$ns"
	for v in lines states ladder snapshot watch; do clean_text "$OUT/$v.out" "$v"; done
}

# Every process whose environment carries this run's mark: check, its helpers, COMMAND and its children.
marked() { grep -lsx -z "SF_ATTACK_MARK=$1" /proc/[0-9]*/environ | cut -d/ -f3; }

# The BPF links not in IDS_BEFORE that no process, or only one of ours, holds.
stranded_links() { # IDS_BEFORE MARK
	local id holders
	for id in $(bpftool link show 2>/dev/null | sed -n 's/^\([0-9]*\): .*/\1/p'); do
		grep -qx "$id" <<<"$1" && continue
		holders=$(grep -rlsx "link_id:[[:space:]]*$id" /proc/[0-9]*/fdinfo | cut -d/ -f3 | sort -u)
		bpftool link show id "$id" >/dev/null 2>&1 || continue
		if [ -z "$holders" ] || grep -qxF -f <(marked "$2") <<<"$holders"; then echo "$id"; fi
	done
}

# One check, sent SIG after DELAY seconds to its whole process group (as Ctrl-C
# or a CI runner does; -SIG: to its process alone): once it is gone, nothing of
# it may stay behind. Run with
# job control on, so that the check has a process group of its own from the start
# and SIGINT as it comes, not ignored as in a script's background.
interrupt_check() { # SIG DELAY N
	local mark=int-$$-$3 cgroot pid left
	cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	set -- "$@" "--settle" 0
	[ $(($3 % 2)) = 1 ] && set -- "$@" --netns-new
	SF_ATTACK_MARK=$mark env --default-signal=INT,TERM "$SYNFIN" check "${@:4}" \
		--expect 'count>=0' -- \
		sh -c 'sleep 1000 & sleep 1000' >/dev/null 2>&1 &
	pid=$!
	# the instants count from synfin's exec, with SIGINT and SIGTERM at their
	# defaults: a signal before it meets bash's own handler in the child, or is
	# ignored where job control did not take (seen once in CI, under ASan)
	for _ in $(seq 400); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$SYNFIN" ] && break
		sleep 0.005
	done
	sleep "$2"
	if [ "${1:0:1}" = - ]; then kill "$1" "$pid"; else kill -"$1" -- -"$pid"; fi
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && echo "SIG$1 after $2 s: check did not end" && kill -9 "$pid"
	wait "$pid"
	for _ in $(seq 60); do
		left=$(marked "$mark")
		[ -z "$left" ] && [ ! -e "$cgroot/synfin-check.$pid" ] && return 0
		sleep 0.05
	done
	[ -n "$left" ] && echo "SIG$1 after $2 s: left $(ps -o pid=,args= -p "${left//$'\n'/,}" | tr '\n' ';')"
	[ -e "$cgroot/synfin-check.$pid" ] && echo "SIG$1 after $2 s: left $cgroot/synfin-check.$pid"
	kill -9 $left 2>/dev/null
	rmdir "$cgroot/synfin-check.$pid" 2>/dev/null
}

# check interrupted at 31 instants of its start (0 to 150 ms) by SIGINT, SIGTERM
# and SIGKILL to its group, and at 16 by SIGKILL to it alone, leaves no process,
# no cgroup and no BPF link behind
attack_interrupted-check() {
	local links sig ms n=0
	links=$(bpftool link show 2>/dev/null | sed -n 's/^\([0-9]*\): .*/\1/p')
	for sig in INT TERM KILL -KILL; do
		for ms in $(seq 0 $((${#sig} == 5 ? 10 : 5)) 150); do
			n=$((n + 1))
			(set -m && interrupt_check "$sig" "$(printf '0.%03d' "$ms")" "$n") 2>/dev/null
		done
	done
	for id in $(stranded_links "$links" "int-$$-.*"); do echo "BPF link $id left behind"; done
}

# Given only CAP_BPF and CAP_PERFMON (a container's grant), synfin still runs and
# drops them all: snapshot -p, whose owner capabilities were not given, included.
attack_only-bpf-caps() {
	local caps pid status
	caps() { setpriv --bounding-set=-all,+bpf,+perfmon "$@"; }
	caps "$SYNFIN" snapshot -p >/dev/null 2>"$OUT/snapshot.err" ||
		{ echo "snapshot -p with CAP_BPF+CAP_PERFMON failed:"; cat "$OUT/snapshot.err"; }
	caps "$SYNFIN" watch --once --alert 'close_wait>0' >/dev/null 2>"$OUT/watch.err"
	[ $? -le 3 ] || { echo "watch --alert with CAP_BPF+CAP_PERFMON failed:"; cat "$OUT/watch.err"; }
	rm -f "$OUT/trace.err"
	setpriv --bounding-set=-all,+bpf,+perfmon "$SYNFIN" trace --duration 3 >/dev/null \
		2>"$OUT/trace.err" &
	pid=$!
	for _ in $(seq 100); do grep -qs "tracing TCP" "$OUT/trace.err" && break; sleep 0.1; done
	status=$(grep -E '^(CapEff|CapPrm|NoNewPrivs)' "/proc/$pid/status" | tr -s '\t\n' ' ')
	wait $pid || { echo "trace with CAP_BPF+CAP_PERFMON failed:"; cat "$OUT/trace.err"; }
	[ "$status" = "CapPrm: 0000000000000000 CapEff: 0000000000000000 NoNewPrivs: 1 " ] ||
		echo "trace with CAP_BPF+CAP_PERFMON kept: $status"
}

# NaN, infinity, a sign or a duration too short to count: refused with the option named
attack_absurd-durations() {
	local cmd opt v rc extra
	for cmd in "trace --duration" "watch --interval" "watch --snapshot-interval" \
		"watch --duration" "check --settle" "check --timeout"; do
		for v in nan inf -1 1e400 0.0000001; do
			[ "$v" = 0.0000001 ] && [ "$cmd" = "check --settle" ] && continue
			opt=${cmd#* }
			extra=()
			[ "${cmd%% *}" = check ] && extra=(--expect 'count>=0' -- true)
			# shellcheck disable=SC2086 # the command and its option
			timeout 5 "$SYNFIN" $cmd "$v" "${extra[@]}" >/dev/null 2>"$OUT/err"
			rc=$?
			[ $rc = 2 ] && grep -qF -e "$opt '$v'" -e "$opt $v " "$OUT/err" ||
				{ echo "synfin $cmd $v: exit $rc:"; cat "$OUT/err"; }
		done
	done
}

# Capabilities belong to threads: the ones that answer the network (libmicrohttpd's,
# and the guard against slow clients) hold none, even when watch keeps two for /proc.
attack_metrics-thread-caps() {
	local pid main=0 t caps
	"$SYNFIN" watch --metrics 127.0.0.1:19412 --alert 'close_wait>100' --duration 5 \
		>/dev/null 2>"$OUT/watch.err" &
	pid=$!
	# serving once its metrics are there
	for _ in $(seq 40); do
		curl -s --max-time 1 http://127.0.0.1:19412/metrics | grep -q synfin_ && break
		sleep 0.1
	done
	for t in /proc/"$pid"/task/*; do
		caps=$(grep -E '^(CapPrm|CapEff|NoNewPrivs)' "$t/status" | tr -s '\t\n' ' ')
		if [ "${t##*/}" = "$pid" ]; then
			main=1
		elif [ "$caps" != "CapPrm: 0000000000000000 CapEff: 0000000000000000 NoNewPrivs: 1 " ]; then
			echo "thread ${t##*/} of watch --metrics holds: $caps"
		fi
	done
	[ "$(ls "/proc/$pid/task" | wc -l)" -ge 3 ] || echo "watch --metrics has no serving threads"
	wait $pid || { echo "watch --metrics failed:"; cat "$OUT/watch.err"; }
	[ $main = 1 ] || echo "watch --metrics was not seen running"
}

if [ "${1:-}" = --list ]; then
	echo $ATTACKS
	exit 0
fi
NAME=${1:?usage: attacks.sh --list | NAME}
mkdir -p "$OUT"
"attack_$NAME"
