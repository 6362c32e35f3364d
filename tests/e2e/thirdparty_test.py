#!/usr/bin/env python3
"""synfin held to software it did not write: Debian's nginx, redis and memcached,
driven by their own clients (curl, wrk, redis-benchmark, redis-cli, memcslap),
on loopback in a private network namespace (run.sh's ns_case). Every endpoint
synfin reports is compared with tcpdump's capture of its connection: role,
close, closer, TIME_WAIT, the seq/ack of every segment it lists, and its health
counters (bytes sent, segments sent again).

Usage: thirdparty_test.py SYNFIN OUTDIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import read_pcap, sent_again, tcpdump_verdict, wave_matches  # noqa: E402

SYNFIN, OUT = sys.argv[1], sys.argv[2]
NGINX, REDIS, MEMCACHED = 9401, 9402, 9403
NEEDED = ["nginx", "redis-server", "redis-cli", "redis-benchmark", "memcached", "memcslap",
          "curl", "wrk", "tcpdump"]


def start(cmd, **kw):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def wait_for(path, text, secs=10):
    for _ in range(secs * 10):
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for '{text}' in {path}")


def wait_port(port, secs=10):
    for _ in range(secs * 10):
        if f":{port:04X} " in open("/proc/net/tcp").read():
            return
        time.sleep(0.1)
    sys.exit(f"nothing listens on port {port}")


def nginx_conf(tmp):
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process on; worker_processes 1; pid {tmp}/nginx.pid;
error_log {tmp}/nginx.err; user root;
events {{ worker_connections 64; }}
http {{ access_log off; keepalive_timeout 2s; keepalive_requests 50;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{NGINX}; location / {{ return 200 "hello\\n"; }} }} }}
""")
    return conf


def servers(tmp):
    return [
        start(["nginx", "-c", nginx_conf(tmp), "-p", tmp]),
        start(["redis-server", "--port", str(REDIS), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", tmp]),
        start(["memcached", "-p", str(MEMCACHED), "-U", "0", "-l", "127.0.0.1", "-u", "root"]),
    ]


def clients():
    """Each client as its users run it: keep-alive and not, pipelines, load."""
    url = f"http://127.0.0.1:{NGINX}/"
    runs = [
        ["curl", "-s", "-o", "/dev/null", url],
        ["curl", "-s", "-o", "/dev/null", url, url, url],
        ["curl", "-s", "-o", "/dev/null", "-H", "Connection: close", url],
        ["wrk", "-t1", "-c3", "-d1s", url],  # a few thousand requests on 3 connections
        ["redis-cli", "-p", str(REDIS), "set", "k", "v"],
        ["redis-cli", "-p", str(REDIS), "get", "k"],
        ["redis-benchmark", "-p", str(REDIS), "-c", "3", "-n", "300", "-q", "-t", "ping,set,get"],
        ["memcslap", f"--servers=127.0.0.1:{MEMCACHED}", "--concurrency=3",
         "--execute-number=50", "-q"],
    ]
    for cmd in runs:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
                       check=True)
    # idle keep-alive connections that nginx closes itself (keepalive_timeout 2s)
    idle = start(["curl", "-s", "-o", "/dev/null", "--keepalive-time", "5", url, url])
    idle.wait(timeout=30)
    time.sleep(2.5)


def stop_servers(procs):
    subprocess.run(["redis-cli", "-p", str(REDIS), "shutdown", "nosave"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGQUIT if p.args[0] == "nginx" else signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def by_tuple(segs):
    """The capture's segments by the pair of ports they join."""
    tuples = {}
    for s in segs:
        tuples.setdefault(frozenset((s.sport, s.dport)), []).append(s)
    return tuples


def instances(tuples, c):
    """The capture's connections on c's 4-tuple, each from its SYN on."""
    conns, cur, isn = [], None, None
    for s in tuples.get(frozenset((c["lport"], c["rport"])), []):
        if s.flags == {"SYN"} and s.seq != isn:
            cur, isn = [], s.seq
            conns.append(cur)
        if cur is not None:
            cur.append(s)
    return conns


def mine(tuples, c):
    """c's own connection: the one whose ISNs are c's handshake's."""
    seqs = {w["seq"] for w in c["handshake"] if w["seq"] is not None and "SYN" in w["flags"]}
    for inst in instances(tuples, c):
        if seqs <= {s.seq for s in inst if "SYN" in s.flags}:
            return inst
    return None


def check_endpoint(c, tuples):
    """The endpoint's mismatches with its connection in the capture."""
    errs, name = [], f"{c['role']} {c['laddr']}:{c['lport']}>{c['rport']}"
    conn = mine(tuples, c)
    if conn is None:
        return [f"{name}: no connection in the capture has its handshake {c['handshake']}"]
    client = any(s.sport == c["lport"] and s.flags == {"SYN"} for s in conn)
    if c["role"] != ("client" if client else "server"):
        errs.append(f"{name}: role, the capture shows a {'client' if client else 'server'}")
    for w in c["handshake"] + c["waves"]:
        if not any(wave_matches(c, w, s) for s in conn):
            errs.append(f"{name}: wave {w} has no segment in the capture")
    kind, sender = tcpdump_verdict(conn)
    closer = "both" if sender is None else "local" if sender == c["lport"] else "peer"
    tw = kind in ("four-way", "three-way", "simultaneous") and closer in ("local", "both")
    for key, want in (("close", kind), ("closer", closer), ("time_wait", tw)):
        if c[key] != want:
            errs.append(f"{name}: {key} {c[key]}, the capture shows {want}")
    if c["gaps"]:
        errs.append(f"{name}: gaps {c['gaps']}")
    return errs + check_health(c, conn, name)


def check_health(c, conn, name):
    """The kernel's counters at the close against the capture: bytes and segments sent again."""
    if c.get("retrans") is None:
        return []
    errs = []
    sent = sum(s.len for s in conn if s.sport == c["lport"])
    again = sent_again(conn, c["lport"])
    if c["bytes_sent"] != sent:
        errs.append(f"{name}: bytes_sent {c['bytes_sent']}, the capture has {sent}")
    if c["retrans"] != again:
        errs.append(f"{name}: retrans {c['retrans']}, the capture has {again} sent again")
    return errs


def trace(tmp):
    rec, live = os.path.join(OUT, "rec.sfr"), os.path.join(OUT, "live.json")
    err = os.path.join(OUT, "trace.err")
    tr = subprocess.Popen([SYNFIN, "trace", "--json", "--netns", "/proc/self/ns/net",
                           "--record", rec], stdout=open(live, "w"), stderr=open(err, "w"))
    # headers only, and room for wrk's bursts: a capture that drops is no reference
    # --immediate-mode: else the last block waits for libpcap's timeout and an
    # interrupt drops it (the last connection, redis-cli shutdown, went missing)
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-nn", "-s", "128",
                             "-B", "131072",
                             "-w", os.path.join(OUT, "cap.pcap"), "tcp"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(OUT, "dump.err"), "w"))
    wait_for(err, "tracing TCP")
    wait_for(os.path.join(OUT, "dump.err"), "listening on")
    procs = servers(tmp)
    for port in (NGINX, REDIS, MEMCACHED):
        wait_port(port)
    clients()
    stop_servers(procs)
    time.sleep(0.5)
    dump.send_signal(signal.SIGINT)
    dump.wait()
    tr.send_signal(signal.SIGINT)
    tr.wait()
    return live


def main():
    missing = [t for t in NEEDED if not shutil.which(t)]
    if missing:
        sys.exit(f"not installed: {' '.join(missing)} (scripts/install-deps.sh)")
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        live = trace(tmp)
    lines = [json.loads(l) for l in open(live)]
    conns = [x for x in lines if x["type"] == "connection"]
    tuples = by_tuple(read_pcap(os.path.join(OUT, "cap.pcap")))
    found = [check_endpoint(c, tuples) for c in conns]
    errs = [e for f in found for e in f]
    bad = sum(1 for f in found if f)
    dump = open(os.path.join(OUT, "dump.err")).read().splitlines()
    if "0 packets dropped by kernel" not in dump:
        errs.append(f"tcpdump dropped packets, no reference: {dump[-1:]}")
    ports = {p: sum(1 for c in conns if p in (c["lport"], c["rport"]))
             for p in (NGINX, REDIS, MEMCACHED)}
    print(f"{len(conns)} endpoints (nginx {ports[NGINX]}, redis {ports[REDIS]}, "
          f"memcached {ports[MEMCACHED]}), {len(conns) - bad} agree with tcpdump, "
          f"lost {lines[-1].get('lost')}")
    for e in errs:
        print("mismatch:", e)
    ok = not errs and lines[-1].get("lost") == 0 and all(n >= 4 for n in ports.values())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
