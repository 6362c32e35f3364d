#!/usr/bin/env python3
"""End-to-end tests of synfin snapshot and watch. Run inside a private network
namespace (ip netns exec): everything here talks to 127.0.0.1 only.

Usage: watch_test.py SYNFIN
"""
import ctypes
import socket
import subprocess
import sys
import time

from sflib import Buildup, check, finish, http_get, json_lines, metric_values, synfin_runner

SYNFIN = sys.argv[1]
run = synfin_runner(SYNFIN, 60)


def groups(lines):
    return {(g["port"], g["state"]): g for g in lines if g.get("type") == "group"}


def scrape(port):
    return metric_values(http_get(f"http://127.0.0.1:{port}/metrics"), "synfin_sockets{")


# 300 TIME_WAIT on port 9500 (client side) and 20 CLOSE_WAIT on 9501, made before synfin starts
b = Buildup(9500, 9501, 300, 20)

r = run("snapshot", "--json", "-p")
check(r.returncode == 0, f"snapshot runs ({r.stderr.strip()})")
g = groups(json_lines(r.stdout))
check(g.get((9500, "TIME_WAIT"), {}).get("count") == 300, "snapshot: 300 TIME_WAIT on port 9500")
check(g.get((9501, "CLOSE_WAIT"), {}).get("count") == 20, "snapshot: 20 CLOSE_WAIT on port 9501")
check(g.get((9501, "FIN_WAIT2"), {}).get("count") == 20,
      "snapshot: the 20 orphaned clients wait in FIN_WAIT2 mini-sockets")
check([p["pid"] for p in g.get((9501, "CLOSE_WAIT"), {}).get("pids") or []] == [b.pid],
      "snapshot -p: the CLOSE_WAIT sockets belong to the process holding them")
check(g.get((9500, "TIME_WAIT"), {}).get("oldest_s") is not None,
      "snapshot: TIME_WAIT ages are known")
r = run("snapshot")
check("9500    TIME_WAIT         300" in r.stdout, "snapshot table shows the count")

# watch's first view counts what existed before it started
w = subprocess.Popen([SYNFIN, "watch", "--json", "--interval", "0.5", "--duration", "1"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
out, err = w.communicate(timeout=30)
first = []
for line in json_lines(out):
    if line["type"] == "tick":
        break
    first.append(line)
fg = {x["port"]: x for x in first}
check(w.returncode == 0, f"watch exits after --duration ({err.strip()})")
check(fg.get(9500, {}).get("counts", {}).get("time_wait") == 300, "watch first view: 300 TIME_WAIT")
check(fg.get(9501, {}).get("counts", {}).get("close_wait") == 20, "watch first view: 20 CLOSE_WAIT")

# --once: exit 3 with the alert naming the port and the pid, 0 without one
r = run("watch", "--once", "--json", "--alert", "close_wait>10")
alerts = [x for x in json_lines(r.stdout) if x["type"] == "alert"]
check(r.returncode == 3, f"--once exits 3 when an alert fires (got {r.returncode})")
check(len(alerts) == 1 and alerts[0]["port"] == 9501 and alerts[0]["state"] == "firing",
      "--once: the alert names port 9501")
check(alerts and [p["pid"] for p in alerts[0]["pids"]] == [b.pid], "--once: the alert names the pid")
r = run("watch", "--once", "--alert", "close_wait>100", "--alert", "port=9500 time_wait>300")
check(r.returncode == 0, f"--once exits 0 when no alert fires (got {r.returncode})")
r = run("watch", "--once", "--alert", "close_wait>10")
check(f"held by {b.pid}/python3" in r.stdout, "--once text names the holder")

# an alert with 'for' fires after the hold and clears with hysteresis; /metrics follows
w = subprocess.Popen([SYNFIN, "watch", "--json", "--interval", "0.2", "--snapshot-interval", "1",
                      "--alert", "port=9501 close_wait>=30 for 2s", "--metrics", "9465"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.5)
m = scrape(9465)
check(m.get('synfin_sockets{state="close_wait",port="9501"}') == 20, "/metrics: 20 CLOSE_WAIT")
t_up = time.monotonic()
b.cmd("cw 15")  # 35 >= 30
time.sleep(0.6)
m = scrape(9465)
check(m.get('synfin_sockets{state="close_wait",port="9501"}') == 35, "/metrics: the gauge rises to 35")
time.sleep(2.5)
b.cmd("close 6")  # 29: below 30 but within the 10% margin, so it stays firing
time.sleep(1.5)
b.cmd("close")  # 0
time.sleep(1.5)
m = scrape(9465)
check(m.get('synfin_sockets{state="close_wait",port="9501"}') == 0,
      "/metrics: the gauge is back to 0 after they close")
w.send_signal(2)
out, err = w.communicate(timeout=30)
events = []
for x in json_lines(out):
    if x["type"] == "alert":
        events.append((x["state"], x["value"]))
check(events == [("firing", 35), ("cleared", 0)],
      f"alert fired once at 35, stayed firing at 29 (hysteresis), cleared at 0: {events}")
fire_ts = [x["ts"] for x in json_lines(out) if x["type"] == "alert" and x["state"] == "firing"]
first_ts = next(x["ts"] for x in json_lines(out) if x["type"] == "group")
# the hold: the firing line comes at least 2 s after the sockets appeared (0.6 s after start + 0.9)
fire_after_start = None
if fire_ts:
    def secs(ts):
        h, m_, s = ts[11:-1].split(":")
        return int(h) * 3600 + int(m_) * 60 + float(s)
    fire_after_start = secs(fire_ts[0]) - secs(first_ts)
check(fire_after_start is not None and fire_after_start >= 1.5 + 2.0 - 0.4,
      f"the alert waited for its 2 s hold ({fire_after_start})")

# bad input: exit 2 with a clear line
r = run("watch", "--alert", "close_wiat>10")
check(r.returncode == 2 and "unknown metric 'close_wiat'" in r.stderr, "malformed alert: exit 2")
r = run("watch", "--alert", "close_wait>ten")
check(r.returncode == 2 and "invalid value 'ten'" in r.stderr, "bad alert value: exit 2")
busy = socket.socket()
busy.bind(("127.0.0.1", 9466))
busy.listen()
r = run("watch", "--metrics", "9466")
check(r.returncode == 2 and "Address already in use" in r.stderr, "metrics port in use: exit 2")
busy.close()
r = run("watch", "--interval", "10ms")
check(r.returncode == 2 and "--interval 10ms is out of range" in r.stderr,
      f"an interval under 50ms: exit 2, the option named ({r.stderr.strip()})")

# JSON strings go through the one escaper: a control character in an owner's
# name or in a rule comes out as \u00XX, and every line stays valid JSON
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, b"sf\x01holder", 0, 0, 0)  # PR_SET_NAME
srv = socket.socket()
srv.bind(("127.0.0.1", 9502))
srv.listen()
cli = socket.create_connection(("127.0.0.1", 9502))
acc, _ = srv.accept()
cli.close()  # acc, held here, waits in CLOSE_WAIT
time.sleep(0.2)
r = run("snapshot", "--json", "-p")
g = groups(json_lines(r.stdout))
check([p["comm"] for p in g.get((9502, "CLOSE_WAIT"), {}).get("pids") or []] == ["sf\x01holder"],
      "snapshot --json -p: a control character in a process name is escaped, not dropped")
r = run("watch", "--once", "--json", "--alert", "port=9502 close_wait>0\t")
try:
    alerts = [x for x in json_lines(r.stdout) if x["type"] == "alert"]
except ValueError as e:
    alerts = []
    print(f"not JSON: {e}")
check(len(alerts) == 1 and alerts[0]["rule"] == "port=9502 close_wait>0\t"
      and [p["comm"] for p in alerts[0]["pids"]] == ["sf\x01holder"],
      "watch --json: the rule text and the owner's name are escaped")
acc.close()
srv.close()


def linger0_resets(port, n):
    """n connections to port, each closed by its client with SO_LINGER 0: a RST"""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(n)
    held = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        held.append(srv.accept()[0])
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        c.close()
    time.sleep(0.2)
    for a in held:
        a.close()
    srv.close()


# a reason selects the closes a rate counts: 20 linger0 resets fire the
# reason=linger0 rule, never the reason=unread-data one
w = subprocess.Popen([SYNFIN, "watch", "--json", "--interval", "0.5",
                      "--alert", "port=9510 reason=linger0 resets_per_s>2",
                      "--alert", "port=9510 reason=unread-data resets_per_s>0"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.5)
linger0_resets(9510, 20)
time.sleep(1.5)
w.send_signal(2)
out, err = w.communicate(timeout=30)
fired = [x["rule"] for x in json_lines(out) if x["type"] == "alert" and x["state"] == "firing"]
check(fired == ["port=9510 reason=linger0 resets_per_s>2"],
      f"reason=linger0 fired on linger0 resets, reason=unread-data did not: {fired} {err.strip()}")
r = run("watch", "--alert", "close_wait>1 reason=linger0")
check(r.returncode == 2 and "reason= applies to closes_per_s and resets_per_s" in r.stderr,
      f"a reason on a state count: exit 2 ({r.stderr.strip()})")

b.stop()
finish("watch")
