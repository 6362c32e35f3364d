#!/usr/bin/env python3
"""Host-wide and workload-aware snapshot, watch, trace and check, end to end.

Two "pods" and one "container", each in its own network namespace and in a
real cgroup v2 directory named exactly as the kubelet (systemd driver with
containerd, cgroupfs driver with CRI-O) and Docker (systemd driver) name
them, with the runtimes' metadata written under a temporary --host-root whose
proc and sys are links to the real ones; a systemd unit on the host's own
namespace. TIME_WAIT and CLOSE_WAIT buildup is made in each before synfin
starts. Run as root in the host's network namespace: synfin covers every
namespace of the host; everything made here is removed at the end.

Usage: workload_test.py SYNFIN
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from sflib import (CRIO, CTRD, DOCKER, Buildup, HostFixture, check, cid, finish, in_cgroup,
                   json_lines, kubepods_slice, metric_values, synfin_runner, wait_metrics)

SYNFIN = os.path.realpath(sys.argv[1])
PY = sys.executable
TW, CW = 9650, 9651  # service ports of the buildup, in every namespace
TAG = f"sfwl{os.getpid()}"
run = synfin_runner(SYNFIN, 120)


def oci(annotations):
    return {"ociVersion": "1.1.0", "annotations": annotations}


class Workload(Buildup):
    """A network namespace, a cgroup, and buildup.py holding sockets in both."""

    def __init__(self, fx, name, cgroup, n_tw, n_cw):
        self.name, self.n_tw, self.n_cw = name, n_tw, n_cw
        self.ns = f"{TAG}-{name}"
        self.inum = fx.add_netns(self.ns) if name != "unit" else os.stat("/proc/self/ns/net").st_ino
        self.cg = fx.mkcg(cgroup)
        enter = [] if name == "unit" else ["nsenter", f"--net=/run/netns/{self.ns}"]
        super().__init__(TW, CW, n_tw, n_cw, in_cgroup(self.cg) + enter)
        fx.procs.append(self.p)


def make_workloads(fx):
    """Pod web-1 (kubelet systemd driver, containerd), pod api-0 (cgroupfs driver,
    CRI-O), container cache (Docker, systemd driver), unit synfin-e2e.service."""
    u1, i1 = str(uuid.uuid4()), cid()
    fx.write(CTRD.format(i1),
             oci({"io.kubernetes.cri.container-type": "container",
                  "io.kubernetes.cri.container-name": "web",
                  "io.kubernetes.cri.sandbox-name": "web-1",
                  "io.kubernetes.cri.sandbox-namespace": "shop",
                  "io.kubernetes.cri.sandbox-uid": u1}))
    web = Workload(fx, "web", f"{kubepods_slice('besteffort', u1)}/cri-containerd-{i1}.scope",
                   40, 12)
    u2, i2 = str(uuid.uuid4()), cid()
    fx.write(CRIO.format(i2),
             oci({"io.kubernetes.container.name": "api", "io.kubernetes.pod.name": "api-0",
                  "io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.uid": u2}))
    api = Workload(fx, "api", f"kubepods/burstable/pod{u2}/crio-{i2}", 25, 7)
    i3 = cid()
    fx.write(DOCKER.format(i3),
             {"ID": i3, "Name": "/cache", "Config": {"Labels": {}}})
    cache = Workload(fx, "cache", f"system.slice/docker-{i3}.scope", 10, 5)
    fx.bind_netns(cache.ns, f"run/docker/netns/{os.urandom(6).hex()}")
    unit = Workload(fx, "unit", "system.slice/synfin-e2e.service", 0, 4)
    # a container whose metadata is broken: one warning, its name stays null
    i4 = cid()
    fx.bad_meta = fx.write(DOCKER.format(i4), '{"Name": "/x", ')
    bad = Workload(fx, "bad", f"system.slice/docker-{i4}.scope", 0, 2)
    return web, api, cache, unit, bad, (i1, i2, i3, i4)


def by_netns(groups, inum):
    return {(g["port"], g["state"] if "state" in g else None): g for g in groups
            if g.get("netns") == inum}


def test_snapshot(fx, wls, ids):
    web, api, cache, unit, bad, _ = wls + (None,)
    r = run("snapshot", "--json", "--host-root", fx.root)
    check(r.returncode == 0, f"host-wide snapshot runs ({r.returncode})")
    g = [x for x in json_lines(r.stdout) if x["type"] == "group"]
    for w, pod, ns, ctr in ((web, "web-1", "shop", "web"), (api, "api-0", "shop", "api"),
                            (cache, None, None, "cache")):
        mine = by_netns(g, w.inum)
        tw = mine.get((TW, "TIME_WAIT"), {})
        cw = mine.get((CW, "CLOSE_WAIT"), {})
        check(tw.get("count") == w.n_tw and cw.get("count") == w.n_cw,
              f"snapshot: {w.name}: {w.n_tw} TIME_WAIT and {w.n_cw} CLOSE_WAIT in its namespace "
              f"(got {tw.get('count')}, {cw.get('count')})")
        check((cw.get("pod"), cw.get("namespace"), cw.get("container")) == (pod, ns, ctr)
              and (tw.get("pod"), tw.get("container")) == (pod, ctr),
              f"snapshot: {w.name}'s groups name pod {pod}, namespace {ns}, container {ctr}: "
              f"{cw.get('pod')}, {cw.get('namespace')}, {cw.get('container')}")
    cw = by_netns(g, web.inum).get((CW, "CLOSE_WAIT"), {})
    check(cw.get("container_id") == ids[0][:12] and cw.get("unit") is None,
          f"snapshot: the container id in 12 hex digits ({cw.get('container_id')})")
    b = by_netns(g, bad.inum).get((CW, "CLOSE_WAIT"), {})
    check(b.get("count") == 2 and b.get("container") is None
          and b.get("container_id") == ids[3][:12],
          f"snapshot: malformed config.v2.json: counted, name null, id known ({b})")
    warn = [x for x in r.stderr.splitlines() if fx.bad_meta in x]
    check(len(warn) == 1 and len(r.stderr.splitlines()) == 1,
          f"snapshot: one line for the malformed file: {r.stderr.strip()!r}")
    r = run("snapshot", "--json", "--host-root", fx.root, "--unit", "synfin-e2e.service")
    g = [x for x in json_lines(r.stdout) if x["type"] == "group"]
    cw = [x for x in g if (x["port"], x["state"]) == (CW, "CLOSE_WAIT")]
    check(r.returncode == 0 and g and all(x["unit"] == "synfin-e2e.service" for x in g)
          and len(cw) == 1 and cw[0]["count"] == unit.n_cw,
          f"snapshot --unit: the unit's sockets on the host's namespace, by their cgroup "
          f"({[(x['port'], x['state'], x['count']) for x in g]})")
    r = run("snapshot", "--host-root", fx.root, "--pod", "web-1")
    rows = [x for x in r.stdout.splitlines()[1:] if x.strip()]
    check(r.returncode == 0 and rows and all("shop/web-1" in x for x in rows)
          and any(x.startswith(f"{CW}    CLOSE_WAIT        {web.n_cw:3d}") for x in rows),
          "snapshot --pod web-1: only its namespace, WORKLOAD shop/web-1")


def test_watch_first_view(fx, wls):
    web, api, cache = wls[:3]
    r = run("watch", "--json", "--interval", "0.5", "--duration", "1", "--host-root", fx.root)
    first = []
    for x in json_lines(r.stdout):
        if x["type"] == "tick":
            break
        first.append(x)
    check(r.returncode == 0, f"watch runs host-wide ({r.stderr.strip()})")
    for w, pod, ctr in ((web, "web-1", "web"), (api, "api-0", "api"), (cache, None, "cache")):
        g = {x["port"]: x for x in first if x["netns"] == w.inum}
        tw = g.get(TW, {}).get("counts", {}).get("time_wait")
        cw = g.get(CW, {}).get("counts", {}).get("close_wait")
        check(tw == w.n_tw and cw == w.n_cw and g.get(CW, {}).get("pod") == pod
              and g.get(CW, {}).get("container") == ctr,
              f"watch first view: {w.name}: {tw} TIME_WAIT, {cw} CLOSE_WAIT, pod {pod}, "
              f"container {ctr}")
    unit = wls[3]
    r = run("watch", "--json", "--once", "--unit", "synfin-e2e.service", "--host-root", fx.root)
    g = {x["port"]: x for x in json_lines(r.stdout) if x["type"] == "group"}
    check(set(g) == {TW, CW} and g[CW]["counts"]["close_wait"] == unit.n_cw
          and all(x["unit"] == "synfin-e2e.service" for x in g.values()),
          f"watch --unit: the unit's two ports on the host's namespace ({sorted(g)})")
    r = run("watch", "--by", "pod", "--once", "--host-root", fx.root)
    check(any(x.startswith("shop/web-1") for x in r.stdout.splitlines()),
          "watch --by pod: a row for shop/web-1")


def scrape(port, *args):
    """synfin_sockets series of a watch serving metrics: {labels: value}."""
    w = subprocess.Popen([SYNFIN, "watch", "--json", "--metrics", f"127.0.0.1:{port}",
                          "--duration", "30", *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    # the first figures can take seconds on a loaded host: wait for them, then stop
    text = wait_metrics(port, "synfin_sockets{", w, 150, 0.2)
    w.send_signal(signal.SIGINT)
    w.wait(30)
    return metric_values(text, "synfin_sockets{", "synfin_connections_closed")


def test_metrics(fx, wls):
    web, api = wls[:2]
    m = scrape(19471, "--host-root", fx.root)
    key = f'synfin_sockets{{state="close_wait",port="{CW}",namespace="shop",pod="web-1"}}'
    check(m.get(key) == web.n_cw, f"/metrics: {key} {m.get(key)}")
    key = f'synfin_sockets{{state="time_wait",port="{TW}",namespace="shop",pod="api-0"}}'
    check(m.get(key) == api.n_tw, f"/metrics: {key} {m.get(key)}")
    check(any(k.startswith('synfin_connections_closed_total{close="reset",port=') for k in m),
          "/metrics: close counters carry the same labels")
    m = scrape(19472, "--host-root", fx.root, "--metrics-ports", "2")
    sets = {k.split(",", 1)[1] for k in m if k.startswith("synfin_sockets{")}
    check(len(sets) == 3 and 'port="other"}' in sets,
          f"/metrics --metrics-ports 2: the 2 busiest label sets and 'other' ({len(sets)})")


def test_alerts(fx, wls):
    web, api = wls[:2]
    r = run("watch", "--once", "--json", "--host-root", fx.root, "--alert",
            f"port={CW} close_wait>10")
    a = [x for x in json_lines(r.stdout) if x["type"] == "alert"]
    check(r.returncode == 3, f"watch --once: an alert fires, exit 3 ({r.returncode})")
    check(len(a) == 1 and a[0]["pod"] == "web-1" and a[0]["namespace"] == "shop"
          and a[0]["container"] == "web" and a[0]["netns"] == web.inum
          and [p["pid"] for p in a[0]["pids"]] == [web.pid],
          f"watch --once: the alert names pod web-1, container web and the holder: {a}")
    r = run("watch", "--once", "--host-root", fx.root, "--alert", f"port={CW} close_wait>10")
    check(f"on port {CW} of shop/web-1" in r.stdout and f"held by {web.pid}/" in r.stdout,
          "watch --once text: the alert names the pod and the holder")
    r = run("watch", "--once", "--json", "--host-root", fx.root, "--alert",
            "pod=api-0 close_wait>3")
    a = [x for x in json_lines(r.stdout) if x["type"] == "alert"]
    check(r.returncode == 3 and len(a) == 1 and a[0]["pod"] == "api-0"
          and a[0]["value"] == api.n_cw,
          f"a pod= rule fires only for that pod ({[(x['pod'], x['value']) for x in a]})")


def traced(fx, wls, *args):
    """The connections trace shows while each workload makes one more CLOSE_WAIT."""
    p = subprocess.Popen([SYNFIN, "trace", "--json", "--host-root", fx.root, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        time.sleep(0.1)
        try:
            with open(f"/proc/{p.pid}/status") as f:
                if "NoNewPrivs:\t1" in f.read():
                    break
        except OSError:
            break
    for w in wls:
        w.cmd("cw 1")
    time.sleep(0.5)
    p.send_signal(2)
    out, err = p.communicate(timeout=30)
    fx.live = out
    return [x for x in json_lines(out) if x["type"] == "connection"], err


def test_trace(fx, wls):
    web, api, cache, unit = wls[:4]
    rec = f"{fx.root}/trace.sfr"
    conns, err = traced(fx, wls[:4], "--port", str(CW), "--record", rec)
    r = run("replay", "--json", "--port", str(CW), rec)
    check(r.stdout == fx.live and '"pod":"web-1"' in r.stdout,
          "replay of the recording names the workloads as the live run did (FILE.names)")
    r = run("replay", "--json", "--port", str(CW), "--pod", "api-0", rec)
    check(len([x for x in json_lines(r.stdout) if x["type"] == "connection"]) == 2,
          "replay --pod api-0: its connection's two ends")
    want = {web.inum: ("web-1", "shop", "web", None), api.inum: ("api-0", "shop", "api", None),
            cache.inum: (None, None, "cache", None)}
    for c in conns:
        key = unit.inum if c["netns"] == unit.inum and c["cgroup"] else c["netns"]
        got = (c["pod"], c["namespace"], c["container"], c["unit"])
        exp = want.get(key, (None, None, None, "synfin-e2e.service"))
        check(got == exp, f"trace: a connection in {key} is {exp}: {got}")
    check(len(conns) == 8, f"trace: both ends of one connection in each workload ({len(conns)})")
    conns, err = traced(fx, wls[:4], "--pod", "web-1", "--port", str(CW))
    check(len(conns) == 2 and all((c["pod"], c["container"]) == ("web-1", "web") for c in conns),
          f"trace --pod web-1: its connection only ({len(conns)} endpoints; {err.strip()})")


def test_check(fx, wls):
    web = wls[0]
    client = (f"import socket; c = socket.create_connection(('127.0.0.1', {CW + 1})); "
              "c.close()")
    server = (f"import socket; s = socket.socket(); s.bind(('127.0.0.1', {CW + 1})); "
              "s.listen(); a, _ = s.accept(); a.recv(1); a.close()")
    r = run("check", "--json", "--host-root", fx.root, "--expect", "pod=web-1 count=2", "--expect",
            "pod=api-0 count=0", "--expect", "namespace=shop role=client time_wait=yes", "--",
            "nsenter", f"--net=/run/netns/{web.ns}", "sh", "-c",
            f"{PY} -c \"{server}\" & sleep 0.3; {PY} -c \"{client}\"; wait")
    out = json_lines(r.stdout)
    conns = [x for x in out if x["type"] == "connection"]
    check(r.returncode == 0, f"check: the pod= expectations hold ({r.returncode}: "
          f"{r.stderr.strip()} {[x for x in out if x['type'] == 'expectation']})")
    check(len(conns) == 2 and all(c["pod"] == "web-1" and c["namespace"] == "shop"
                                  for c in conns),
          f"check: records of a connection made in pod web-1 name it "
          f"({[(c['pod'], c['container']) for c in conns]})")


def ticks_of(w):
    """Each tick's set of namespaces with groups, as watch prints them."""
    seen = set()
    for line in w.stdout:
        x = json.loads(line)
        if x["type"] == "group":
            seen.add(x["netns"])
        elif x["type"] == "tick":
            yield seen
            seen = set()


def test_gone(fx, wls):
    cache = wls[2]
    w = subprocess.Popen([SYNFIN, "watch", "--json", "--interval", "0.3", "--snapshot-interval",
                          "0.3", "--container", "cache", "--host-root", fx.root],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ticks = ticks_of(w)
    first = next(ticks, set())
    check(first == {cache.inum}, f"watch --container cache: its namespace alone ({first})")
    cache.p.kill()
    cache.p.wait()
    for m in list(fx.mounts):
        subprocess.run(["umount", m])
        fx.mounts.remove(m)
    subprocess.run(["ip", "netns", "del", cache.ns], check=True)
    fx.netns.remove(cache.ns)
    deadline, after = time.monotonic() + 20, []
    for seen in ticks:
        after.append(seen)
        if cache.inum not in seen and len(after) >= 3 or time.monotonic() > deadline:
            break
    w.send_signal(2)
    _, err = w.communicate(timeout=30)
    gone = [i for i, seen in enumerate(after) if cache.inum not in seen]
    check(gone and all(cache.inum not in seen for seen in after[gone[0]:]),
          f"watch: a namespace deleted while watch runs leaves the counts "
          f"(tick {gone[0] if gone else None} of {len(after)} after)")
    err = [x for x in err.splitlines() if fx.bad_meta not in x]
    check(w.returncode == 0 and not err, f"... without an error ({err})")


def test_bad_input(fx):
    r = run("snapshot", "--pod", "nope-9", "--host-root", fx.root)
    check(r.returncode == 1 and len(r.stderr.splitlines()) <= 2
          and "no socket belongs to pod=nope-9" in r.stderr,
          f"snapshot --pod of no pod: one line ({r.stderr.strip()!r})")
    r = run("watch", "--pod", "nope-9", "--once", "--host-root", fx.root)
    err = [x for x in r.stderr.splitlines() if fx.bad_meta not in x]
    check(r.returncode == 0 and err == ["synfin watch: no socket belongs to pod=nope-9 now; "
                                        "watching for it"],
          f"watch --pod of no pod: one line ({err})")
    r = run("watch", "--pod", "", "--once")
    check(r.returncode == 2 and "invalid pod ''" in r.stderr and len(r.stderr.splitlines()) == 1,
          f"--pod '': exit 2, one line ({r.stderr.strip()!r})")
    r = run("trace", "--pod", "nope-9", "--duration", "1")
    check(r.returncode == 0 and "no network namespace belongs to pod=nope-9" in r.stderr,
          f"trace --pod of no pod: one line, tracing anyway ({r.stderr.strip()!r})")
    r = run("watch", "--alert", "pod= close_wait>1", "--once")
    check(r.returncode == 2 and "invalid pod ''" in r.stderr, "a rule with an empty pod=: exit 2")
    r = run("snapshot", "--host-root", "/nonexistent")
    check(r.returncode != 0 and "--host-root /nonexistent" in r.stderr
          and len(r.stderr.splitlines()) == 1, f"a --host-root that is not there ({r.stderr!r})")


def main():
    if os.geteuid() != 0:
        sys.exit("workload_test: needs root")
    if os.stat("/proc/self/ns/net").st_ino != os.stat("/proc/2/ns/net").st_ino:
        sys.exit("workload_test: run in the host's network namespace")
    fx = HostFixture("synfin-wl")
    try:
        *wls, ids = make_workloads(fx)
        test_snapshot(fx, tuple(wls), ids)
        test_watch_first_view(fx, wls)
        test_metrics(fx, wls)
        test_alerts(fx, wls)
        test_trace(fx, wls)
        test_check(fx, wls)
        test_gone(fx, wls)
        test_bad_input(fx)
    finally:
        fx.cleanup()
    left = [d for d in fx.dirs if os.path.exists(d)]
    check(not left, f"every cgroup removed ({len(left)} left)")
    finish("workload_test")


if __name__ == "__main__":
    main()
