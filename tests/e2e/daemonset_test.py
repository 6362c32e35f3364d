#!/usr/bin/env python3
"""The README's Kubernetes DaemonSet, short of Kubernetes: its container gets
exactly the capabilities the manifest adds (and drops the rest), runs the
manifest's arguments in the host's network namespace (hostNetwork), and finds
the host under --host-root as the manifest mounts it (here a folder whose
proc, sys and run lead to the real ones). synfin must attach, watch every
network namespace (a pod's among them), serve metrics and exit cleanly with
that and nothing more. Run as root in the host's network namespace.

usage: daemonset_test.py SYNFIN README.md"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

from sflib import make_host_root, netns_add, wait_metrics

synfin, readme = sys.argv[1], sys.argv[2]
PORT = 19465
NS = f"synfin-ds-{os.getpid()}"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def manifest():
    blocks = re.findall(r"```yaml\n(.*?)```", open(readme).read(), re.S)
    docs = [yaml.safe_load(b) for b in blocks]
    ds = [d for d in docs if isinstance(d, dict) and d.get("kind") == "DaemonSet"]
    if len(ds) != 1:
        fail(f"expected one DaemonSet in {readme}, found {len(ds)}")
    return ds[0]["spec"]["template"]["spec"]


def check_mounts(pod, ctr, host_root):
    """What identity reads is mounted read-only under --host-root, from the host's paths."""
    vols = {v["name"]: v.get("hostPath", {}).get("path") for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts", [])}
    for host_path in ("/proc", "/sys", "/run", "/var/lib/docker/containers", "/var/log/pods"):
        m = mounts.get(host_root + host_path)
        if not m or vols.get(m["name"]) != host_path or not m.get("readOnly"):
            fail(f"{host_root}{host_path} is not the host's {host_path}, read-only: {m}")


def fake_host_root():
    """The host as the container sees it under --host-root."""
    root = make_host_root(tempfile.mkdtemp(prefix="synfin-ds-root."))
    os.symlink("/run", f"{root}/run")
    return root


def pod_namespace():
    """A namespace with a listener in it, as a pod's: the listener's process and the inode."""
    inum = netns_add(NS)
    srv = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c",
                            "import socket, sys; s = socket.socket(); "
                            "s.bind(('127.0.0.1', 9464)); s.listen(); print('up', flush=True); "
                            "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    srv.stdout.readline()
    return srv, inum


def run_watch(args, caps):
    bset = "-all," + ",".join("+" + c.lower() for c in caps)
    cmd = ["setpriv", f"--bounding-set={bset}", "--inh-caps=-all", "--", synfin, *args,
           "--duration", "4"]
    print("running:", " ".join(cmd))
    # a file, not a pipe: a busy host's JSON lines must not wait for a reader
    outf = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(cmd, stdout=outf, stderr=subprocess.PIPE, text=True)
    body = wait_metrics(PORT, "synfin_events_lost_total", p, 60, 0.1)
    _, err = p.communicate(timeout=60)
    outf.seek(0)
    return p.returncode, outf.read(), err, body


def main():
    pod = manifest()
    if not pod.get("hostNetwork") or not pod.get("hostPID"):
        fail("the pod must use the host's network and PID namespaces")
    ctr = pod["containers"][0]
    caps = ctr["securityContext"]["capabilities"]
    if caps.get("drop") != ["ALL"]:
        fail("the container should drop ALL capabilities before adding")
    args = list(ctr["args"])
    if args[0] != "watch" or "--metrics" not in args or "--host-root" not in args:
        fail(f"unexpected args {args}")
    check_mounts(pod, ctr, args[args.index("--host-root") + 1])
    args[args.index("--metrics") + 1] = f"127.0.0.1:{PORT}"
    root = fake_host_root()
    args[args.index("--host-root") + 1] = root
    srv = None
    try:
        srv, inum = pod_namespace()
        rc, out, err, body = run_watch(args, caps["add"])
    finally:
        if srv:
            srv.stdin.close()
            srv.wait(10)
        subprocess.run(["ip", "netns", "del", NS])
        shutil.rmtree(root, ignore_errors=True)
    print(err.strip())
    if rc != 0:
        fail(f"synfin watch exited {rc} with the manifest's capabilities {caps['add']}")
    if "synfin_events_lost_total" not in body:
        fail("no metrics served")
    ticks = [json.loads(x) for x in out.splitlines() if '"type":"tick"' in x]
    if not ticks or ticks[0].get("netns", 0) < 2 or ticks[0].get("netns_read") != ticks[0]["netns"]:
        fail(f"watch did not read every network namespace: {ticks[:1]}")
    seen = {json.loads(x)["netns"] for x in out.splitlines() if '"type":"group"' in x}
    if inum not in seen:
        fail(f"the pod's namespace {inum} was not watched")
    print(f"ok: watch ran with only {caps['add']}, read {ticks[0]['netns']} network namespaces "
          f"(a pod's among them) and served {len(body.splitlines())} metric lines")


if __name__ == "__main__":
    main()
