#!/usr/bin/env python3
"""The README's Kubernetes DaemonSet, short of Kubernetes: its container gets
exactly the capabilities the manifest adds (and drops the rest), and runs the
manifest's arguments. synfin must attach, serve metrics and exit cleanly with
that and nothing more. Run as root inside a network namespace.

usage: daemonset_test.py SYNFIN README.md"""
import re
import subprocess
import sys
import time
import urllib.request

import yaml

synfin, readme = sys.argv[1], sys.argv[2]
PORT = 19465


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


blocks = re.findall(r"```yaml\n(.*?)```", open(readme).read(), re.S)
docs = [yaml.safe_load(b) for b in blocks]
ds = [d for d in docs if isinstance(d, dict) and d.get("kind") == "DaemonSet"]
if len(ds) != 1:
    fail(f"expected one DaemonSet in {readme}, found {len(ds)}")
pod = ds[0]["spec"]["template"]["spec"]
if not pod.get("hostNetwork") or not pod.get("hostPID"):
    fail("the pod must use the host's network and PID namespaces")
ctr = pod["containers"][0]
caps = ctr["securityContext"]["capabilities"]
if caps.get("drop") != ["ALL"]:
    fail("the container should drop ALL capabilities before adding")
args = list(ctr["args"])
if args[0] != "watch" or "--metrics" not in args:
    fail(f"unexpected args {args}")
args[args.index("--metrics") + 1] = f"127.0.0.1:{PORT}"
bset = "-all," + ",".join("+" + c.lower() for c in caps["add"])
cmd = ["setpriv", f"--bounding-set={bset}", "--inh-caps=-all", "--",
       synfin, *args, "--duration", "4"]
print("running:", " ".join(cmd))
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
# loopback, never through a proxy the environment may name
fetch = urllib.request.build_opener(urllib.request.ProxyHandler({})).open
body = ""
for _ in range(40):
    time.sleep(0.1)
    try:
        body = fetch(f"http://127.0.0.1:{PORT}/metrics", timeout=2).read().decode()
    except OSError:
        pass
    # the endpoint may answer before the first figures are published
    if "synfin_events_lost_total" in body or p.poll() is not None:
        break
_, err = p.communicate(timeout=30)
print(err.strip())
if p.returncode != 0:
    fail(f"synfin watch exited {p.returncode} with the manifest's capabilities {caps['add']}")
if "synfin_events_lost_total" not in body:
    fail("no metrics served")
print(f"ok: watch ran with only {caps['add']} and served {len(body.splitlines())} metric lines")
