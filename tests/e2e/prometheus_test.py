#!/usr/bin/env python3
"""synfin watch --metrics scraped by a real Prometheus (Debian's package).

Usage: prometheus_test.py SYNFIN OUTDIR
Run inside a private network namespace (ip netns exec): synfin, Prometheus and
the sockets all live on its loopback. Checks, through Prometheus' HTTP API:
the TIME_WAIT and CLOSE_WAIT series rise as buildup.py makes those sockets
and fall when they are released; promtool finds no lint problem in /metrics;
the shipped alerting rules load; every panel of docs/grafana-synfin.json
returns data: buildup.py runs in a kubelet-named pod cgroup whose pod a
--host-root's /var/log/pods names (the pod panel), and connections closed
with SO_LINGER 0 reset with a known reason (the reason panel).
Writes OUTDIR/query.txt, a real query result for the README.
"""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

from sflib import (Buildup, cgroup2_mount, check, cid, finish, http_get, in_cgroup,
                   kubepods_slice, make_host_root, rmdirs)

SYNFIN, OUT = sys.argv[1:3]
ROOT = os.path.realpath(os.path.join(sys.path[0], "../.."))
METRICS = "127.0.0.1:9481"
PROM = "http://127.0.0.1:9490"
TW_PORT, CW_PORT, RST_PORT = 9482, 9483, 9484
N_TW, N_CW, MORE_CW, N_RST = 300, 40, 40, 3
POD_NS, POD = "shop", "web-1"


def query(expr):
    """The instant vector of expr: a list of (labels, value)."""
    body = json.loads(http_get(f"{PROM}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
    if body["status"] != "success":
        raise RuntimeError(f"{expr}: {body}")
    return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]


def value(expr):
    """The one value of expr, 0 when it has none (a port not seen yet)."""
    res = query(expr)
    return res[0][1] if res else 0.0


def wait_value(expr, want, seconds):
    """Polls Prometheus until expr is want; returns the last value seen."""
    v = None
    for _ in range(int(seconds * 4)):
        v = value(expr)
        if v == want:
            break
        time.sleep(0.25)
    return v


def wait_url(url, seconds):
    for _ in range(int(seconds * 10)):
        try:
            return http_get(url, timeout=1)
        except OSError:
            time.sleep(0.1)
    return None


class Pod:
    """A pod cgroup named as the kubelet's systemd driver names it, and a --host-root
    whose /var/log/pods/NAMESPACE_POD_UID names it; cgroup v2 is mounted first
    where ip netns exec left none (its mount namespace is private)."""

    def __init__(self, tmp):
        uid = str(uuid.uuid4())
        self.root = os.path.join(tmp, "host")
        os.makedirs(f"{self.root}/var/log/pods/{POD_NS}_{POD}_{uid}")
        make_host_root(self.root)
        self.dirs = []
        path = cgroup2_mount(mount=True)
        for part in (*kubepods_slice("besteffort", uid).split("/"),
                     f"cri-containerd-{cid()}.scope"):
            path = f"{path}/{part}"
            os.mkdir(path)
            self.dirs.append(path)
        self.cg = path

    def cleanup(self):
        rmdirs(self.dirs)


def start_synfin(pod):
    out = open(os.path.join(OUT, "watch.json"), "w")
    err = open(os.path.join(OUT, "watch.err"), "w")
    p = subprocess.Popen([SYNFIN, "watch", "--json", "--metrics", METRICS, "--interval", "500ms",
                          "--snapshot-interval", "1s", "--duration", "10m",
                          "--host-root", pod.root], stdout=out, stderr=err)
    return p


def start_prometheus(tmp):
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {ROOT}/docs/prometheus-alerts.yml
scrape_configs:
  - job_name: synfin
    static_configs:
      - targets: ['{METRICS}']
""")
    log = open(os.path.join(OUT, "prometheus.log"), "w")
    return subprocess.Popen(["prometheus", f"--config.file={cfg}",
                             f"--storage.tsdb.path={tmp}/data", "--web.listen-address=127.0.0.1:9490",
                             "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)


def lint_metrics():
    text = wait_url(f"http://{METRICS}/metrics", 10)
    if not check(text is not None, "synfin serves /metrics"):
        return
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
          f"promtool check metrics: no lint problem {r.stdout.strip()} {r.stderr.strip()}")


def series(state, port):
    return f'synfin_sockets{{job="synfin",state="{state}",port="{port}"}}'


def check_rules():
    body = json.loads(http_get(f"{PROM}/api/v1/rules?type=alert"))
    rules = [r for g in body["data"]["groups"] for r in g["rules"]]
    with open(os.path.join(ROOT, "docs/prometheus-alerts.yml")) as f:
        shipped = re.findall(r"^\s*- alert: (\S+)", f.read(), re.M)
    loaded = {r["name"]: r["health"] for r in rules}
    check(sorted(loaded) == sorted(shipped) and set(loaded.values()) == {"ok"},
          f"Prometheus loaded every shipped alerting rule, healthy: {loaded}")


def dashboard_exprs():
    """(panel title, expr) of every target, with Grafana's variables filled in."""
    with open(os.path.join(ROOT, "docs/grafana-synfin.json")) as f:
        d = json.load(f)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "the dashboard has a Prometheus 'datasource' variable")
    out = []
    bad = []
    for p in d["panels"]:
        if p["datasource"]["uid"] != "${datasource}" or not p["targets"]:
            bad.append(f"'{p['title']}' does not query ${{datasource}}")
        for t in p["targets"]:
            expr = t["expr"].replace("$__rate_interval", "15s").replace("$instance", ".*")
            if "$" in expr:
                bad.append(f"'{p['title']}' has an unknown variable: {expr}")
            out.append((p["title"], expr))
    check(not bad, f"{len(d['panels'])} panels query ${{datasource}} with known variables {bad}")
    return out


def check_dashboard():
    for title, expr in dashboard_exprs():
        res = query(expr)
        check(res, f"panel '{title}': {len(res)} series" if res else
              f"panel '{title}' returns no data: {expr}")


def linger0_resets():
    """Connections closed with SO_LINGER 0: resets of a known reason (linger0, and
    peer-reset at the other end). The listener stays, so its port keeps its series."""
    srv = socket.create_server(("127.0.0.1", RST_PORT))
    for _ in range(N_RST):
        c = socket.create_connection(("127.0.0.1", RST_PORT))
        a, _ = srv.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        a.close()
    return srv


def check_labels():
    """The pod's sockets and the resets' reasons, as Prometheus has them."""
    want = (f'synfin_sockets{{state="close_wait",port="{CW_PORT}",'
            f'namespace="{POD_NS}",pod="{POD}"}}')
    got = wait_value(want, N_CW + MORE_CW, 10)
    check(got == N_CW + MORE_CW, f"{want} is {N_CW + MORE_CW} (got {got})")
    for reason in ("linger0", "peer-reset"):
        want = f'synfin_connections_closed_total{{port="{RST_PORT}",reason="{reason}"}}'
        got = wait_value(want, N_RST, 10)
        check(got == N_RST, f"{want} is {N_RST} (got {got})")


def rise(buildup):
    tw = wait_value(series("time_wait", TW_PORT), N_TW, 20)
    check(tw == N_TW, f"TIME_WAIT on port {TW_PORT} rises to {N_TW} in Prometheus (got {tw})")
    cw = wait_value(series("close_wait", CW_PORT), N_CW, 20)
    check(cw == N_CW, f"CLOSE_WAIT on port {CW_PORT} rises to {N_CW} (got {cw})")
    buildup.cmd(f"cw {MORE_CW}")
    cw = wait_value(series("close_wait", CW_PORT), N_CW + MORE_CW, 20)
    check(cw == N_CW + MORE_CW, f"CLOSE_WAIT rises again to {N_CW + MORE_CW} (got {cw})")


def save_query_result():
    expr = f'synfin_sockets{{state=~"time_wait|close_wait",port=~"{TW_PORT}|{CW_PORT}"}}'
    r = subprocess.run(["promtool", "query", "instant", PROM, expr], capture_output=True, text=True)
    with open(os.path.join(OUT, "query.txt"), "w") as f:
        f.write(f"$ promtool query instant {PROM} '{expr}'\n{r.stdout}{r.stderr}")


def release_time_wait():
    """ss -K ends TIME_WAIT sockets where the kernel allows it; else they expire in 60 s."""
    subprocess.run(["ss", "-K", "-tan", "state", "time-wait", f"( dport = :{TW_PORT} )"],
                   capture_output=True)
    left = subprocess.run(["ss", "-Htan", "state", "time-wait", f"( dport = :{TW_PORT} )"],
                          capture_output=True, text=True).stdout.count("\n")
    print(f"TIME_WAIT left after ss -K: {left}{' (waiting for them to expire)' if left else ''}")
    return 80 if left else 20


def fall(buildup):
    buildup.cmd("close")
    cw = wait_value(series("close_wait", CW_PORT), 0, 20)
    check(cw == 0, f"CLOSE_WAIT falls to 0 once the sockets are closed (got {cw})")
    tw = wait_value(series("time_wait", TW_PORT), 0, release_time_wait())
    check(tw == 0, f"TIME_WAIT falls to 0 once released (got {tw})")
    # max(): the series had no pod label until the pod's cgroup was named
    peak = value(f'max(max_over_time({series("time_wait", TW_PORT)}[5m]))')
    check(peak == N_TW, f"the TIME_WAIT series kept its peak of {N_TW} (max_over_time: {peak})")


def run(tmp):
    pod = Pod(tmp)
    synfin = start_synfin(pod)
    prom = None
    buildup = None
    resets = None
    try:
        lint_metrics()
        prom = start_prometheus(tmp)
        check(wait_url(f"{PROM}/-/ready", 30) is not None, "Prometheus is ready")
        check(wait_value('up{job="synfin"}', 1, 20) == 1, "Prometheus scrapes synfin (up == 1)")
        check_rules()
        buildup = Buildup(TW_PORT, CW_PORT, N_TW, N_CW, in_cgroup(pod.cg))
        resets = linger0_resets()
        rise(buildup)
        check_labels()
        lint_metrics()
        time.sleep(3)  # two rate windows of samples for the dashboard's rates
        check_dashboard()
        save_query_result()
        fall(buildup)
    finally:
        for p in (buildup.p if buildup else None, prom, synfin):
            if p and p.poll() is None:
                p.terminate()
                p.wait(10)
        if resets:
            resets.close()
        pod.cleanup()


def main():
    for tool in ("prometheus", "promtool", "ss"):
        if not shutil.which(tool):
            check(False, f"{tool} is not installed")
            finish("prometheus_test")
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="synfin-prometheus.")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("prometheus_test")


main()
