#!/bin/sh
# /init of make vmtest's VMs (busybox sh; the initramfs is the whole system).
# Puts the static synfin through every check this kernel allows and prints one
# line per check, "VMTEST ok NAME" or "VMTEST FAIL NAME: the error line", with
# the outputs of failed checks after it as "VMTEST | ..." lines (and a failed
# repro's recording as "VMTEST sfr NAME ..." lines), then "VMTEST DONE". No kernel config file is readable here, as in most containers.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
. /lib.sh # scripts/lib.sh, which initramfs.sh puts there
T=/tmp/vmtest
TW_PORT=7001 # sockhold: N TIME_WAIT here
CW_PORT=7002 # and M CLOSE_WAIT here
TW_N=20
CW_M=7
TRACE_PORT=7101 # trace cases: four-way on it, reset on the next port
LIVE_PORT=7201 # watch live: a four-way close on it

setup() {
	/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
	/bin/busybox --install -s
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs dev /dev 2>/dev/null
	mkdir -p $T
	echo 1 >/proc/sys/kernel/printk
	ip link set lo up
	# nf_tables for the simultaneous-close scenario, dependencies first
	while read -r m; do
		insmod "/lib/modules/$m.ko" || echo "VMTEST | insmod $m failed"
	done </lib/modules/load
	echo "VMTEST kernel $(uname -r) $(uname -m)"
}

pass() {
	echo "VMTEST ok $1"
}

# fail NAME WHY [FILE...]: the files' last lines follow, for the console log
fail() {
	local f
	echo "VMTEST FAIL $1: $2"
	shift 2
	for f; do
		[ -s "$f" ] && tail -n 30 "$f" | sed "s#^#VMTEST | $(basename "$f"): #"
	done
}

# sf NAME ARGS...: synfin ARGS, output in $T/NAME.out and .err; its exit status
sf() {
	local name="$1"
	shift
	timeout 120 synfin "$@" >"$T/$name.out" 2>"$T/$name.err"
}

# why NAME: synfin's error line, with the cause libbpf gave when synfin points
# at libbpf's log (the checks run synfin with -v), else the first expectation
# that failed
why() {
	local line cause=
	line=$(grep -v '^libbpf: \|^$' "$T/$1.err" | tail -n 1)
	case $line in *"libbpf's log"*) cause=$(libbpf_cause "$T/$1.err") ;; esac
	[ -n "$cause" ] && line="$line [$cause]"
	[ -z "$line" ] && line=$(grep -m 1 '"pass":false' "$T/$1.out")
	echo "${line:-no error message}"
}

# libbpf_cause FILE: the verifier's last word on a rejected program, else the
# first libbpf line that says what failed beyond "failed to load"
libbpf_cause() {
	awk '/-- END PROG LOAD LOG --/ { print last; found = 1; exit }
		!/^processed [0-9]+ insns|^verification time|^stack depth/ { last = $0 }
		END { exit !found }' "$1" ||
		grep '^libbpf: ' "$1" | grep -i 'fail\|error\|invalid\|cannot' |
		grep -v 'failed to load\( object\| BPF skeleton\|:\)' | head -n 1
}

# matches FILE PATTERN...: how many lines of FILE hold every PATTERN
matches() {
	local p
	cp "$1" $T/m
	shift
	for p; do
		grep -F -- "$p" $T/m >$T/m2
		mv $T/m2 $T/m
	done
	wc -l <$T/m
}

# want NAME N FILE PATTERN...: exactly N lines hold every PATTERN, or the check fails
want() {
	local name="$1" n="$2" f="$3" got
	shift 3
	got=$(matches "$f" "$@")
	[ "$got" = "$n" ] && return 0
	fail "$name" "$got lines, not $n, hold $*" "$f" "$T/$name.err"
	return 1
}

# libbpf's two places for the kernel config: snapshot and watch must do without
check_no_config() {
	local f
	for f in "/boot/config-$(uname -r)" /proc/config.gz; do
		if [ -e "$f" ]; then
			fail no-kernel-config "$f is readable: the VM would not be what it is for"
			return
		fi
	done
	pass no-kernel-config
}

# snapshot and watch count sockets that exist before they start
check_counts() {
	local hold
	sockhold $TW_PORT $TW_N $CW_PORT $CW_M >$T/hold.out 2>&1 &
	hold=$!
	if ! await_line $T/hold.out ready; then
		fail snapshot "sockhold did not get its sockets ready" $T/hold.out
		kill "$hold"
		return
	fi
	if ! sf snapshot snapshot --json -v; then
		fail snapshot "$(why snapshot)" $T/snapshot.err
	elif want snapshot 1 $T/snapshot.out "\"port\":$TW_PORT," '"state":"TIME_WAIT"' \
		"\"count\":$TW_N," && want snapshot 1 $T/snapshot.out "\"port\":$CW_PORT," \
		'"state":"CLOSE_WAIT"' "\"count\":$CW_M,"; then
		pass snapshot
	fi
	if ! sf watch watch --once --json -v; then
		fail watch "$(why watch)" $T/watch.err
	elif want watch 1 $T/watch.out "\"port\":$TW_PORT," "\"time_wait\":$TW_N," &&
		want watch 1 $T/watch.out "\"port\":$CW_PORT," "\"close_wait\":$CW_M,"; then
		pass watch
	fi
	check_alert
	check_watch_live
	kill "$hold"
}

# watch --once exits 3 when an alert fires: close_wait > M-1 fires, > M does not
check_alert() {
	local fired quiet
	sf alert watch --once --alert "port=$CW_PORT close_wait>$((CW_M - 1))"
	fired=$?
	sf alert-quiet watch --once --alert "port=$CW_PORT close_wait>$CW_M"
	quiet=$?
	if [ "$fired" = 3 ] && [ "$quiet" = 0 ]; then
		pass watch-alert
	elif [ "$fired" != 3 ] && [ "$fired" != 0 ]; then
		fail watch-alert "$(why alert)"
	else
		fail watch-alert "exit $fired over the threshold (want 3), $quiet at it (want 0)" \
			$T/alert.out $T/alert-quiet.out
	fi
}

# last_group FILE PORT: the last refresh's line for PORT in watch --json's output
last_group() {
	grep '"type":"group"' "$1" | grep "\"port\":$2," | tail -n 1
}

# watch live: the tracer's events and the iterator's refreshes together, a
# four-way close played once the first refresh is out
check_watch_live() {
	local w out=$T/watch-live.out live tw
	synfin watch --json -v --duration 6s --snapshot-interval 1s >$out 2>$T/watch-live.err &
	w=$!
	await_line $out '"type":"tick"' && scen four-way $LIVE_PORT >$T/scen.err 2>&1
	if ! wait "$w"; then
		fail watch-live "$(why watch-live)" $T/watch-live.err
		return
	fi
	live=$(last_group $out $LIVE_PORT)
	tw=$(last_group $out $TW_PORT)
	case $live in
	*'"close_kinds":{"four-way":1}'*) ;;
	*)
		fail watch-live "the last refresh of port $LIVE_PORT: ${live:-none}" $T/scen.err
		return ;;
	esac
	case $tw in
	*"\"time_wait\":$TW_N,"*) pass watch-live ;;
	*) fail watch-live "the last refresh of port $TW_PORT: ${tw:-none}" ;;
	esac
}

# trace ATTACH: a four-way close and a reset, traced live, as the scenarios expect
check_trace() {
	local name="trace-$1" tracer played
	synfin trace --json -v --attach "$1" >"$T/$name.out" 2>"$T/$name.err" &
	tracer=$!
	if ! await_line "$T/$name.err" "tracing TCP"; then
		kill "$tracer" 2>/dev/null
		wait "$tracer"
		fail "$name" "$(why "$name")" "$T/$name.err"
		return
	fi
	scen four-way $TRACE_PORT >$T/scen.err 2>&1 &&
		scen reset $((TRACE_PORT + 1)) >>$T/scen.err 2>&1
	played=$?
	sleep 1
	kill -INT "$tracer"
	wait "$tracer"
	if [ $played != 0 ]; then
		fail "$name" "the scenarios failed" $T/scen.err
	elif ! grep -q "($1)" "$T/$name.err"; then
		fail "$name" "not attached as $1: $(head -n 1 "$T/$name.err")"
	else
		trace_matches "$name" && pass "$name"
	fi
}

# trace_matches NAME: one connection line per end and scenario, as check_trace
# played them, with the close kind, closer and TIME_WAIT the scenario expects
trace_matches() {
	local out="$T/$1.out" c='"type":"connection"' rport=$((TRACE_PORT + 1))
	want "$1" 1 "$out" "$c" "\"rport\":$TRACE_PORT," '"role":"client"' \
		'"close":"four-way"' '"closer":"local"' '"time_wait":true' &&
		want "$1" 1 "$out" "$c" "\"lport\":$TRACE_PORT," '"role":"server"' \
			'"close":"four-way"' '"closer":"peer"' '"time_wait":false' &&
		want "$1" 1 "$out" "$c" "\"rport\":$rport," '"role":"client"' \
			'"close":"reset"' '"closer":"local"' &&
		want "$1" 1 "$out" "$c" "\"lport\":$rport," '"role":"server"' \
			'"close":"reset"' '"closer":"peer"'
}

# the classic tracepoints need tracefs, which nothing here has mounted: synfin does
check_tracepoint() {
	if [ -d /sys/kernel/tracing/events ]; then
		fail trace-tracepoint "tracefs is already mounted: the case would prove nothing"
		return
	fi
	check_trace tracepoint
}

# a kernel without BTF: the one line that names what is missing
check_no_btf() {
	local rc
	mount -t tmpfs none /sys/kernel/btf
	sf no-btf trace --json
	rc=$?
	umount /sys/kernel/btf
	if [ $rc = 0 ] || [ "$(wc -l <$T/no-btf.err)" != 1 ]; then
		fail no-btf "exit $rc and $(wc -l <$T/no-btf.err) lines" $T/no-btf.err
	elif grep -q "kernel has no BTF" $T/no-btf.err; then
		pass no-btf
	else
		fail no-btf "$(why no-btf)"
	fi
}

# recording NAME FILE: a failed check's events, base64 on the console, which
# vmtest.sh decodes into NAME.sfr beside the log for synfin replay
recording() {
	[ -s "$2" ] && base64 "$2" | sed "s#^#VMTEST sfr $1 #"
}

# repro NAME [OPTION]: the scenario played and checked by synfin itself
check_repro() {
	local name="repro-$1${2:+$2}"
	if sf "$name" repro "$@" --json -v --record "$T/$name.sfr"; then
		pass "$name"
	else
		fail "$name" "$(why "$name")" "$T/$name.err" "$T/$name.out"
		recording "$name" "$T/$name.sfr"
	fi
}

setup
check_no_config
check_counts
check_tracepoint
check_trace tp_btf
check_no_btf
for s in $(synfin repro --list | awk '{ print $1 }'); do
	check_repro "$s"
done
check_repro four-way --ipv6
echo "VMTEST DONE"
poweroff -f
