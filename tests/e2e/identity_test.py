#!/usr/bin/env python3
"""Identity end to end: who a socket belongs to, from its cgroup v2 id or its
network namespace.

Real cgroup v2 directories named exactly as the kubelet (systemd and cgroupfs
drivers), containerd, CRI-O, Docker and systemd name them, each holding a
sleeping process; the runtimes' metadata files written under a temporary
--host-root whose proc and sys are links to the real ones (cgroups stay real,
metadata is the test's); network namespaces from `ip netns add`, holding
processes of a pod or a container, or bind-mounted where containerd and Docker
put them. build/identity_probe answers through src/sys/identity.c. Also:
malformed, oversized, non-regular and unreadable metadata (one warning per
file, identity stays empty), renames seen after a refresh, the once-a-second
rescan, and the cost of cached lookups and of a cold walk. Needs root.
Everything is created below a private cgroup and removed at the end.

Usage: identity_test.py [PROBE]   (make build/identity_probe)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from sflib import CRIO, CTRD, DOCKER, HostFixture, check, cid, finish, kubepods_slice

PROBE = sys.argv[1] if len(sys.argv) > 1 else "build/identity_probe"


class Fixture(HostFixture):
    def __init__(self):
        super().__init__("synfin-identity")

    def cgroup(self, rel, procs=1):
        """mkdir -p BASE/rel, a sleeping process in it: its cgroup id."""
        path = self.mkcg(rel)
        for _ in range(procs):
            self.move(self.sleeper([]), path)
        return os.stat(path).st_ino

    def sleeper(self, prefix):
        p = subprocess.Popen(prefix + ["sleep", "1000"])
        self.procs.append(p)
        return p.pid

    def netns_sleeper(self, name, cgroup):
        """A sleeping process in namespace NAME and in cgroup BASE/cgroup, once it is in both."""
        pid = self.sleeper(["nsenter", f"--net=/run/netns/{name}"])
        self.move(pid, f"{self.base}/{cgroup}")
        want = f"net:[{os.stat(f'/run/netns/{name}').st_ino}]"
        for _ in range(100):
            if os.readlink(f"/proc/{pid}/ns/net") == want:
                return pid
            time.sleep(0.02)
        raise RuntimeError(f"{pid} never entered {name}")

    def move(self, pid, path):
        with open(f"{path}/cgroup.procs", "w") as f:
            f.write(str(pid))


class Probe:
    def __init__(self, root, errfile, prefix=()):
        self.err = open(errfile, "w")
        self.p = subprocess.Popen(list(prefix) + [PROBE, "--host-root", root],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise RuntimeError(f"identity_probe died on '{line}'")
        return out

    def cgroup(self, ino):
        return json.loads(self.ask(f"cgroup {ino}").split(" ", 2)[2])

    def netns(self, ino):
        return json.loads(self.ask(f"netns {ino}").split(" ", 2)[2])

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(10)
        self.err.close()
        return rc


def expect(probe_answer, what, **want):
    got = {k: probe_answer[k] for k in want}
    check(got == want, f"{what}: {got}" + ("" if got == want else f" != {want}"))


def oci(annotations, netns_path="/proc/1/ns/net"):
    return {"ociVersion": "1.1.0", "process": {"args": ["/pause"]}, "annotations": annotations,
            "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"},
                                     {"type": "network", "path": netns_path}]}}


def containerd(name, pod, ns, uid, kind="container", netns_path="/proc/1/ns/net"):
    a = {"io.kubernetes.cri.container-type": kind, "io.kubernetes.cri.sandbox-name": pod,
         "io.kubernetes.cri.sandbox-namespace": ns, "io.kubernetes.cri.sandbox-uid": uid}
    if name:
        a["io.kubernetes.cri.container-name"] = name
    return oci(a, netns_path)


def crio(name, pod, ns, uid):
    return oci({"io.kubernetes.container.name": name, "io.kubernetes.pod.name": pod,
                "io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid,
                "io.kubernetes.cri-o.ContainerType": "container"})


def docker(ident, name, sandbox_key=""):
    return {"ID": ident, "Name": name, "Config": {"Image": "nginx", "Labels": {}},
            "State": {"Running": True, "Pid": 1},
            "NetworkSettings": {"SandboxID": cid(), "SandboxKey": sandbox_key}}


# a probe that cannot open file handles (no CAP_DAC_READ_SEARCH)
WALK_ONLY = ["setpriv", "--bounding-set", "-dac_read_search", "--inh-caps", "-all"]


def cgroup_cases(fx):
    """Each runtime's cgroup and metadata: [(what, cgroup id, expected fields)]."""
    cases = []
    u1, i1, s1 = str(uuid.uuid4()), cid(), cid()
    pod1 = kubepods_slice("besteffort", u1)
    fx.write(CTRD.format(i1), containerd("web", "web-1", "shop", u1))
    fx.write(CTRD.format(s1), containerd("", "web-1", "shop", u1, "sandbox"))
    fx.pod1 = (f"{pod1}/cri-containerd-{i1}.scope", f"{pod1}/cri-containerd-{s1}.scope", u1)
    cases.append(("kubelet systemd driver + containerd", fx.cgroup(fx.pod1[0]),
                  dict(namespace="shop", pod="web-1", pod_uid=u1, container="web",
                       container_id=i1, unit="", label="shop/web-1")))
    u2, i2 = str(uuid.uuid4()), cid()
    fx.write(CRIO.format(i2), crio("api", "api-7d9f", "shop", u2))
    cases.append(("kubelet systemd driver + CRI-O", fx.cgroup(
        f"{kubepods_slice('burstable', u2)}/crio-{i2}.scope"),
        dict(namespace="shop", pod="api-7d9f", pod_uid=u2, container="api", container_id=i2,
             label="shop/api-7d9f")))
    u3, i3 = str(uuid.uuid4()), cid()
    fx.write(CTRD.format(i3), containerd("cache", "redis-0", "db", u3))
    cases.append(("kubelet cgroupfs driver + containerd", fx.cgroup(
        f"kubepods/besteffort/pod{u3}/{i3}"),
        dict(namespace="db", pod="redis-0", pod_uid=u3, container="cache", container_id=i3)))
    u4, i4 = str(uuid.uuid4()), cid()
    os.makedirs(f"{fx.root}/var/log/pods/batch_job-x_{u4}/main")
    cases.append(("kubelet cgroupfs driver + CRI-O, names from /var/log/pods", fx.cgroup(
        f"kubepods/burstable/pod{u4}/crio-{i4}"),
        dict(namespace="batch", pod="job-x", pod_uid=u4, container="", container_id=i4,
             label="batch/job-x")))
    i5, i6 = cid(), cid()
    fx.write(DOCKER.format(i5), docker(i5, "/nginx-proxy"))
    fx.docker5 = (i5, fx.cgroup(f"system.slice/docker-{i5}.scope"))
    cases.append(("Docker, systemd driver", fx.docker5[1],
                  dict(container="nginx-proxy", container_id=i5, unit="", pod="",
                       label="nginx-proxy")))
    fx.write(DOCKER.format(i6), docker(i6, "/db"))
    cases.append(("Docker, cgroupfs driver", fx.cgroup(f"docker/{i6}"),
                  dict(container="db", container_id=i6, label="db")))
    cases.append(("systemd unit", fx.cgroup("system.slice/nginx.service"),
                  dict(unit="nginx.service", container_id="", label="nginx.service",
                       cgroup=f"{fx.prefix}/system.slice/nginx.service")))
    cases.append(("systemd unit in nested slices", fx.cgroup(
        "system.slice/app.slice/app-web.slice/web@1.service"),
        dict(unit="web@1.service", label="web@1.service")))
    cases.append(("a plain host cgroup", fx.cgroup("plain"),
                  dict(unit="", container_id="", pod_uid="", label="host",
                       cgroup=f"{fx.prefix}/plain")))
    return cases


def bad_cases(fx):
    """Bad metadata: [(what, cgroup id, expected, metadata path or None)]."""
    cases = []
    i7 = cid()
    path = fx.write(DOCKER.format(i7), '{"Name": "/half", "Config": {')
    cases.append(("truncated config.v2.json", fx.cgroup(f"system.slice/docker-{i7}.scope"),
                  dict(container="", container_id=i7, label=i7[:12]), path))
    u, i = str(uuid.uuid4()), cid()
    path = fx.write(CRIO.format(i), json.dumps(crio("evil", "evil", "evil", u)) + " trailing")
    cases.append(("config.json with trailing data", fx.cgroup(
        f"kubepods/burstable/pod{u}/crio-{i}"),
        dict(container="", pod="", container_id=i, label=i[:12]), path))
    u, i = str(uuid.uuid4()), cid()
    path = fx.write(CTRD.format(i), "[" * 100000 + "]" * 100000)
    cases.append(("config.json nested 100,000 deep", fx.cgroup(
        f"kubepods/besteffort/pod{u}/{i}"), dict(container="", pod="", container_id=i), path))
    u, i = str(uuid.uuid4()), cid()
    fx.write(CTRD.format(i), oci({"io.kubernetes.cri.container-name": 42,
                                  "io.kubernetes.cri.sandbox-name": "a\u001b[31mb",
                                  "io.kubernetes.cri.sandbox-namespace": ["x"]}))
    cases.append(("annotations of the wrong type or with control bytes (no warning)", fx.cgroup(
        f"kubepods/besteffort/pod{u}/{i}"),
        dict(container="", pod="", namespace="", pod_uid=u, container_id=i), None))
    i8 = cid()
    path = fx.write(DOCKER.format(i8), '{"Name": "/big"' + " " * (4 << 20) + "}")
    cases.append(("config.v2.json over 4 MiB", fx.cgroup(f"docker/{i8}"),
                  dict(container="", container_id=i8), path))
    u, i = str(uuid.uuid4()), cid()
    path = f"{fx.root}/{CTRD.format(i)}"
    os.makedirs(os.path.dirname(path))
    os.mkfifo(path)
    os.makedirs(f"{fx.root}/var/log/pods/jobs_fifo-0_{u}")
    cases.append(("config.json a FIFO (no hang; the pod from /var/log/pods)", fx.cgroup(
        f"kubepods/besteffort/pod{u}/{i}"),
        dict(container="", container_id=i, pod="fifo-0", namespace="jobs"), path))
    return cases


def test_cgroups(fx, probe):
    cases = cgroup_cases(fx)
    bad = bad_cases(fx)
    i10 = cid()
    secret = fx.write(DOCKER.format(i10), docker(i10, "/secret"), mode=0)
    fx.secret = (fx.cgroup(f"system.slice/docker-{i10}.scope"), i10, secret)
    for what, ino, want in cases:
        expect(probe.cgroup(ino), what, **want)
    for what, ino, want, _ in bad:
        expect(probe.cgroup(ino), what, **want)
    expect(probe.cgroup(fx.secret[0]), "mode 000 metadata read with root's capabilities",
           container="secret")
    expect(probe.cgroup(os.stat(fx.base).st_ino), "the test's own cgroup", label="host",
           cgroup=fx.prefix)
    expect(probe.cgroup(1 << 40), "an unknown cgroup id", label="-", cgroup="")
    # asked again, across refreshes: still one warning per bad file
    for _ in range(2):
        probe.ask("refresh")
        for what, ino, want, _ in bad:
            expect(probe.cgroup(ino), what + " (again)", **want)
    return cases, bad


def test_changes(fx, probe):
    i5, ino5 = fx.docker5
    expect(probe.cgroup(ino5), "a container, asked for in this generation",
           container="nginx-proxy")
    fx.write(DOCKER.format(i5), docker(i5, "/nginx-renamed"))
    expect(probe.cgroup(ino5), "a renamed container: cached until the refresh",
           container="nginx-proxy")
    probe.ask("refresh")
    expect(probe.cgroup(ino5), "a renamed container, after a refresh", container="nginx-renamed")
    late = fx.cgroup("system.slice/late.service")
    expect(probe.cgroup(late), "a cgroup made a moment ago: found at once by its file handle",
           unit="late.service")


def test_walk(fx, cases, tmp):
    """Without CAP_DAC_READ_SEARCH no file handle opens: the index of one walk answers."""
    errfile = f"{tmp}/walk.err"
    probe = Probe(fx.root, errfile, WALK_ONLY)
    for what, ino, want in cases:
        expect(probe.cgroup(ino), what + " (walk)", **want)
    late = fx.cgroup("system.slice/later.service")
    expect(probe.cgroup(late), "a cgroup made after the last walk: no rescan within a second",
           label="-")
    time.sleep(1.1)
    expect(probe.cgroup(late), "the same a second later: found by a rescan",
           unit="later.service")
    check(probe.close() == 0, "the walking probe exits cleanly")


def test_netns(fx, probe):
    tag = f"synfin-idt{os.getpid()}"
    app, sandbox, u1 = fx.pod1
    i5, ino5 = fx.docker5
    # every namespace made before the first lookup: a lookup rescans /proc at most once a second
    pod_ns = fx.add_netns(f"{tag}-pod")
    dock_ns = fx.add_netns(f"{tag}-dock")
    for rel in (app, sandbox):
        fx.cgroup(rel, procs=0)
        fx.netns_sleeper(f"{tag}-pod", rel)
    fx.netns_sleeper(f"{tag}-dock", f"system.slice/docker-{i5}.scope")
    expect(probe.netns(pod_ns), "a pod's namespace (two containers: the pod, named by either)",
           namespace="shop", pod="web-1", pod_uid=u1, container="", container_id="",
           label="shop/web-1")
    expect(probe.netns(dock_ns), "a container's namespace", container="nginx-renamed",
           container_id=i5)
    # no process inside: the runtimes' bind mounts name them
    cni, u, s = f"cni-{uuid.uuid4()}", str(uuid.uuid4()), cid()
    cni_ns = fx.add_netns(f"{tag}-cni")
    fx.bind_netns(f"{tag}-cni", f"run/netns/{cni}")
    fx.write(CTRD.format(s), containerd("", "mini-0", "jobs", u, "sandbox",
                                        f"/var/run/netns/{cni}"))
    expect(probe.netns(cni_ns), "an empty namespace bind-mounted for a containerd sandbox",
           namespace="jobs", pod="mini-0", pod_uid=u, container="", container_id="")
    key, d = os.urandom(6).hex(), cid()
    side_ns = fx.add_netns(f"{tag}-side")
    fx.bind_netns(f"{tag}-side", f"run/docker/netns/{key}")
    fx.write(DOCKER.format(d), docker(d, "/sidecar", f"/var/run/docker/netns/{key}"))
    expect(probe.netns(side_ns), "an empty namespace Docker bind-mounted (via /var/run -> /run)",
           container="sidecar", container_id=d)
    bare = fx.add_netns(f"{tag}-bare")
    expect(probe.netns(bare), "an empty namespace nobody claims", label="-")
    expect(probe.netns(os.stat("/proc/self/ns/net").st_ino), "the host's namespace",
           label="host")
    t0 = time.perf_counter()
    probe.ask("refresh")
    expect(probe.netns(pod_ns), "the pod's namespace after a refresh (a new /proc scan)",
           pod="web-1")
    fx.netns_cold_ms = (time.perf_counter() - t0) * 1e3
    fx.procs[-1].kill()
    fx.procs[-1].wait()
    subprocess.run(["ip", "netns", "del", f"{tag}-dock"], check=True)
    probe.ask("refresh")
    expect(probe.netns(dock_ns), "a deleted namespace, after a refresh", label="-",
           container="")


def test_warnings(fx, bad, errfile):
    with open(errfile) as f:
        lines = f.read().splitlines()
    for what, _, _, path in bad:
        if path:
            n = sum(path in line for line in lines)
            check(n == 1, f"{what}: {n} warning line(s) on stderr")
    check(len(lines) == sum(1 for b in bad if b[3]),
          f"no other stderr lines ({len(lines)}): " + " | ".join(lines))


def test_unreadable(fx, tmp):
    """Without CAP_DAC_OVERRIDE a mode 000 file cannot be read: a warning, no name."""
    errfile = f"{tmp}/unreadable.err"
    probe = Probe(fx.root, errfile, ["setpriv", "--bounding-set", "-all", "--inh-caps", "-all"])
    ino, i10, path = fx.secret
    expect(probe.cgroup(ino), "unreadable config.v2.json", container="", container_id=i10)
    expect(probe.cgroup(ino), "unreadable config.v2.json (again)", container="")
    check(probe.close() == 0, "the probe without capabilities exits cleanly")
    with open(errfile) as f:
        err = f.read().splitlines()
    check(len(err) == 1 and path in err[0] and "Permission denied" in err[0],
          f"one warning: {err}")


def test_cost(fx, probe, ino, tmp):
    """Printed, not checked: cached lookups, a cold resolution by handle and by walk."""
    walk = Probe(fx.root, f"{tmp}/cost.err", WALK_ONLY)
    print(f"cost: {probe.ask(f'hits {ino} 10000').strip()}", flush=True)
    print(f"cost: {probe.ask(f'cold {ino} 20').strip()} (by file handle, then the pod's "
          "config.json)", flush=True)
    print(f"cost: refresh + a pod's namespace from a fresh /proc scan: {fx.netns_cold_ms:.2f} ms "
          f"({len(os.listdir('/proc'))} /proc entries)", flush=True)
    for extra in (0, 1000):
        for k in range(extra):
            d = (f"{fx.base}/kubepods.slice/kubepods-burstable.slice/"
                 f"kubepods-burstable-pod{k:04d}.slice")
            os.mkdir(d)
            fx.dirs.append(d)
        ndirs = sum(len(d) for _, d, _ in os.walk(fx.cgroot)) + 1
        print(f"cost: {walk.ask(f'cold {ino} 20').strip()} (by a walk of {ndirs} cgroups)",
              flush=True)
    check(walk.close() == 0, "cost measured")


def main():
    if os.geteuid() != 0:
        sys.exit("identity_test: needs root (cgroups, network namespaces, mounts)")
    fx = Fixture()
    tmp = tempfile.mkdtemp(prefix="synfin-identity-test.")
    try:
        errfile = f"{tmp}/probe.err"
        probe = Probe(fx.root, errfile)
        cases, bad = test_cgroups(fx, probe)
        test_walk(fx, cases, tmp)
        test_changes(fx, probe)
        test_netns(fx, probe)
        test_cost(fx, probe, cases[0][1], tmp)
        check(probe.close() == 0, "the probe exits cleanly")
        test_warnings(fx, bad, errfile)
        test_unreadable(fx, tmp)
    finally:
        fx.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    left = [d for d in fx.dirs if os.path.exists(d)]
    check(not left, f"every cgroup removed ({len(left)} left)")
    check(not os.path.exists(fx.root), "the host root removed")
    finish("identity_test")


if __name__ == "__main__":
    main()
