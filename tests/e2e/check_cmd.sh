#!/usr/bin/env bash
# Tests of synfin check, run inside the network namespace $NSNAME.
# Env: SYNFIN, SCEN (absolute paths), NSNAME, DIR (scratch folder).
set -u
failures=0
in_ns() { ip netns exec "$NSNAME" "$@"; }

ok() { echo "ok: $1"; }
bad() {
	echo "FAIL: $1"
	failures=$((failures + 1))
}
# expect_rc WANT NAME: compares $rc
expect_rc() {
	if [ "$rc" = "$1" ]; then ok "$2 (exit $rc)"; else bad "$2: exit $rc, want $1"; cat "$DIR/out" "$DIR/err"; fi
}
expect_in() { # FILE TEXT NAME
	if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $1"; cat "$1"; fi
}

# a true expectation
in_ns "$SYNFIN" check --expect 'role=client close=three-way closer=local time_wait=yes' \
	--expect 'role=server close=three-way closer=peer time_wait=no' \
	-- "$SCEN" three-way 9401 >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 0 "true expectations"
expect_in "$DIR/out" "PASS  role=client close=three-way" "PASS is reported"

# a false one: exit 1 and the diff
in_ns "$SYNFIN" check --expect 'role=client close=four-way' -- "$SCEN" three-way 9402 \
	>"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 1 "false expectation"
expect_in "$DIR/out" "FAIL  role=client close=four-way" "FAIL is reported"
expect_in "$DIR/out" "broke: close=three-way (want four-way)" "the diff names observed and wanted"
expect_in "$DIR/out" "states=SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2" "the diff shows the state path"

# nothing matched: count>=1 by default
in_ns "$SYNFIN" check --expect 'port=1 close=reset' -- "$SCEN" three-way 9403 >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 1 "an expectation that matches nothing fails"
expect_in "$DIR/out" "count: 0 endpoints matched" "the count failure is explained"

# malformed expressions: exit 2, the bad key or value named, the valid ones listed
in_ns "$SYNFIN" check --expect 'rol=client' -- true >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 2 "unknown key"
expect_in "$DIR/err" "unknown key 'rol' (valid keys: role, port" "the unknown key is named"
in_ns "$SYNFIN" check --expect 'close=sideways' -- true >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 2 "bad value"
expect_in "$DIR/err" "invalid value 'sideways' for close (valid: incomplete, four-way" "the bad value is named"
in_ns "$SYNFIN" check --expect 'close>=1' -- true >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 2 "bad operator"
expect_in "$DIR/err" "close takes = or !=" "the operator rule is said"

# COMMAND failing, missing, or timing out: exit 4
in_ns "$SYNFIN" check --expect 'count=0' -- sh -c 'exit 3' >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 4 "a failing command"
expect_in "$DIR/out" "exited with status 3" "the command's status is reported"
in_ns "$SYNFIN" check --expect 'count=0' -- /nonexistent/cmd >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 4 "a command that cannot run"
in_ns "$SYNFIN" check --timeout 0.5 --expect 'count=0' -- sleep 10 >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 4 "a command that times out"
expect_in "$DIR/out" "timed out after 0.5 s" "the timeout is reported"
in_ns "$SYNFIN" check --timeout 300ms --settle 0 --expect 'count=0' -- sleep 10 >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 4 "a timeout with a unit"
expect_in "$DIR/out" "timed out after 0.3 s" "the timeout with a unit is reported"

# durations: finite, and a timeout too short to count is an error, not "no timeout"
for bad in "--timeout 0.0001" "--timeout 0" "--timeout nan" "--settle inf" "--settle -1"; do
	# shellcheck disable=SC2086 # the option and its value
	in_ns "$SYNFIN" check $bad --expect 'count=0' -- true >"$DIR/out" 2>"$DIR/err"
	rc=$?
	expect_rc 2 "check $bad is refused"
	expect_in "$DIR/err" "${bad%% *}" "check $bad: the option is named"
done

# JUnit XML a standard parser reads: one testcase per expectation, failures counted
in_ns "$SYNFIN" check --junit "$DIR/junit.xml" --expect 'role=client time_wait=yes' \
	--expect 'role=server close=three-way' --expect 'role=client close=reset' \
	-- "$SCEN" four-way 9404 >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 1 "junit run"
if "$PYTHON" - "$DIR/junit.xml" <<'PY'; then ok "junitparser reads 3 testcases, 2 failures"; else bad "junit counts"; cat "$DIR/junit.xml"; fi
import sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
cases = [c for suite in xml for c in suite]
failed = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
assert len(cases) == 3, len(cases)
assert len(failed) == 2, len(failed)
assert any("four-way (want three-way)" in (r.text or "") for c in failed for r in c.result)
assert "\"type\":\"connection\"" in xml_text if (xml_text := open(sys.argv[1]).read().replace("&quot;", '"')) else False
PY

# expectation files with comments
cat >"$DIR/expect.txt" <<'TXT'
# the client closes first
role=client closer=local time_wait=yes   # and holds TIME_WAIT

role=server closer=peer count=1
TXT
in_ns "$SYNFIN" check --expect-file "$DIR/expect.txt" -- "$SCEN" three-way 9405 >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 0 "expectation file with comments"
expect_in "$DIR/out" "2 of 2 expectations held" "both lines of the file were read"
printf 'role=client\nclose=nope\n' >"$DIR/bad.txt"
in_ns "$SYNFIN" check --expect-file "$DIR/bad.txt" -- true >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 2 "a bad expectation file"
expect_in "$DIR/err" "bad.txt:2: invalid value 'nope'" "the file and line are named"

# expectation files that are not: one line and exit 2, never a read without end
bad_file() { # NAME FILE TEXT
	timeout 10 "$SYNFIN" check --expect-file "$2" -- true >"$DIR/out" 2>"$DIR/err"
	rc=$?
	expect_rc 2 "$1"
	expect_in "$DIR/err" "$3" "$1: said so"
}
bad_file "--expect-file /dev/zero" /dev/zero "/dev/zero: larger than 1 MiB"
bad_file "--expect-file a directory" "$DIR" "$DIR: a directory, not a file"
printf 'role=client\nport=1\0 close=reset\n' >"$DIR/nul.txt"
bad_file "a NUL byte" "$DIR/nul.txt" "nul.txt:2: a NUL byte in the line"
printf 'role=client %01100d\n' 0 >"$DIR/long.txt"
bad_file "a line over 1 KiB" "$DIR/long.txt" "long.txt:1: longer than 1024 bytes"
head -c $((10 << 20)) /dev/zero | tr '\0' '\n' >"$DIR/big.txt"
bad_file "a 10 MB file" "$DIR/big.txt" "big.txt: larger than 1 MiB"
# the largest file allowed, 149796 expectations, parses in linear time (under ASan too)
yes port=1 | head -c 1048572 >"$DIR/max.txt"
start=$(date +%s)
timeout 60 "$SYNFIN" check --settle 0 --expect-file "$DIR/max.txt" -- true >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 1 "a 1 MiB expectation file in $(($(date +%s) - start)) s"
expect_in "$DIR/out" "0 of 149796 expectations held" "every line of the 1 MiB file was read"

# COMMAND that moves out of its cgroup and removes it was not traced: exit 4, said so
in_ns "$SYNFIN" check --expect 'count=0' -- sh -c 'cg=$(awk "\$3 == \"cgroup2\" { print \$2; exit }" /proc/mounts)
	d=$(sed -n "s/^0:://p" /proc/self/cgroup)
	echo $$ >"$cg/cgroup.procs" && rmdir "$cg$d"' >"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 4 "a command that removes its cgroup"
expect_in "$DIR/out" "removed its cgroup" "the removed cgroup is reported"

# --netns-new: the command's sockets live in a namespace of their own
host_ns=$(in_ns stat -L -c %i /proc/self/ns/net)
in_ns "$SYNFIN" check --netns-new --json --expect 'role=client count=1' -- "$SCEN" reset 9406 \
	>"$DIR/out" 2>"$DIR/err"
rc=$?
expect_rc 0 "--netns-new"
if "$PYTHON" - "$DIR/out" "$host_ns" <<'PY'; then ok "--netns-new traced a namespace of its own"; else bad "--netns-new netns"; cat "$DIR/out"; fi
import json, sys
conns = [json.loads(l) for l in open(sys.argv[1]) if '"connection"' in l]
assert len(conns) == 2 and all(c["netns"] != int(sys.argv[2]) for c in conns), conns
assert len({c["netns"] for c in conns}) == 1
PY

# two checks at once see only their own sockets
in_ns "$SYNFIN" check --json --expect 'count=2' -- sh -c "$SCEN four-way 9407" >"$DIR/a.json" 2>"$DIR/a.err" &
a=$!
in_ns "$SYNFIN" check --json --expect 'count=2' -- sh -c "$SCEN four-way 9408" >"$DIR/b.json" 2>"$DIR/b.err" &
b=$!
wait $a; ra=$?
wait $b; rb=$?
if [ $ra = 0 ] && [ $rb = 0 ] && "$PYTHON" - "$DIR/a.json" 9407 "$DIR/b.json" 9408 <<'PY'; then ok "concurrent checks are isolated"; else bad "concurrent checks ($ra, $rb)"; cat "$DIR/a.json" "$DIR/b.json" "$DIR/a.err" "$DIR/b.err"; fi
import json, sys
for path, port in ((sys.argv[1], int(sys.argv[2])), (sys.argv[3], int(sys.argv[4]))):
    conns = [json.loads(l) for l in open(path) if '"connection"' in l]
    assert len(conns) == 2 and all(port in (c["lport"], c["rport"]) for c in conns), (path, conns)
PY

echo "check: $failures failures"
[ $failures = 0 ]
