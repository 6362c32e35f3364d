"""What the Python end-to-end tests share: the check counter, cgroup v2, network
namespaces, a --host-root and its runtimes' metadata, buildup.py, synfin's JSON
lines and /metrics. The tests in this folder import it by name (`from sflib
import check`): a script's own folder is first on sys.path.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.realpath(__file__))
# where the runtimes keep a container's metadata, below the host root
CTRD = "run/containerd/io.containerd.runtime.v2.task/k8s.io/{}/config.json"
CRIO = "run/containers/storage/overlay-containers/{}/userdata/config.json"
DOCKER = "var/lib/docker/containers/{}/config.v2.json"
# loopback, never through a proxy the environment may name
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
failures = 0


def check(cond, what):
    """Prints what with ok or FAIL and counts the failures; returns cond."""
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1
    return cond


def finish(name):
    """Prints the failure count and exits with 1 when there was one."""
    print(f"{name}: {failures} failures")
    sys.exit(1 if failures else 0)


def cgroup2_mount(mount=False):
    """Where cgroup v2 is mounted; with mount, mounted at /sys/fs/cgroup when it is
    nowhere (ip netns exec leaves a private mount namespace without it)."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[2] == "cgroup2"]
    for m in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if m in mounts:
            return m
    if mount:
        subprocess.run(["mount", "-t", "cgroup2", "cgroup2", "/sys/fs/cgroup"], check=True)
        return "/sys/fs/cgroup"
    prog = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    sys.exit(f"{prog}: no cgroup2 at /sys/fs/cgroup(/unified): {mounts}")


def rmdirs(dirs):
    """Removes cgroup directories, deepest last made first, waiting for the processes
    killed in them to leave."""
    for d in reversed(dirs):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


def in_cgroup(cg):
    """The argv prefix that starts a command inside cgroup directory cg."""
    return ["sh", "-c", f'echo $$ > "{cg}/cgroup.procs" && exec "$@"', "sh"]


def kubepods_slice(qos, uid):
    """A pod's cgroup as the kubelet's systemd driver names it."""
    return (f"kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod"
            f"{uid.replace('-', '_')}.slice")


def cid():
    """A random container id."""
    return os.urandom(32).hex()


def netns_add(name):
    """A new network namespace with its loopback up: its inode."""
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return os.stat(f"/run/netns/{name}").st_ino


def make_host_root(root):
    """root made a --host-root of this host: proc and sys lead to the real ones and,
    as on hosts, /var/run is /run, resolved inside the host root."""
    os.symlink("/proc", f"{root}/proc")
    os.symlink("/sys", f"{root}/sys")
    os.makedirs(f"{root}/var", exist_ok=True)
    os.symlink("/run", f"{root}/var/run")
    return root


class HostFixture:
    """A --host-root with the runtimes' metadata, cgroups below a private one, network
    namespaces, bind mounts and processes: cleanup() removes them all."""

    def __init__(self, name):
        self.cgroot = cgroup2_mount()
        self.base = f"{self.cgroot}/{name}.{os.getpid()}"
        self.prefix = self.base[len(self.cgroot):]
        self.root = make_host_root(tempfile.mkdtemp(prefix="synfin-hostroot."))
        self.dirs, self.procs, self.netns, self.mounts = [], [], [], []
        os.mkdir(self.base)
        self.dirs.append(self.base)

    def mkcg(self, rel):
        """mkdir -p BASE/rel: its path."""
        path = self.base
        for part in rel.split("/"):
            path = f"{path}/{part}"
            if not os.path.isdir(path):
                os.mkdir(path)
                self.dirs.append(path)
        return path

    def write(self, rel, content, mode=0o644):
        """A metadata file below the host root, replaced at once as runtimes do."""
        path = f"{self.root}/{rel}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        os.chmod(path + ".tmp", mode)
        os.rename(path + ".tmp", path)
        return path

    def add_netns(self, name):
        self.netns.append(name)
        return netns_add(name)

    def bind_netns(self, name, rel):
        """The namespace NAME bind-mounted at rel below the host root."""
        path = f"{self.root}/{rel}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
        subprocess.run(["mount", "--bind", f"/run/netns/{name}", path], check=True)
        self.mounts.append(path)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for m in self.mounts:
            subprocess.run(["umount", m])
        for n in self.netns:
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)
        rmdirs(self.dirs)
        shutil.rmtree(self.root, ignore_errors=True)


class Buildup:
    """buildup.py holding TIME_WAIT and CLOSE_WAIT sockets, started after prefix (a
    namespace, a cgroup) and driven by lines on its stdin."""

    def __init__(self, tw, cw, n_tw, n_cw, prefix=()):
        self.p = subprocess.Popen([*prefix, sys.executable, f"{HERE}/buildup.py", str(tw),
                                   str(cw), str(n_tw), str(n_cw)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = int(self.p.stdout.readline().split()[1])

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        self.p.stdout.readline()

    def stop(self):
        self.p.stdin.close()
        self.p.wait(10)


def synfin_runner(synfin, timeout):
    """run(*args): synfin run to its end, its output as text."""
    def run(*args):
        return subprocess.run([synfin, *args], capture_output=True, text=True, timeout=timeout)
    return run


def json_lines(text):
    """The JSON objects among synfin's output lines."""
    return [json.loads(x) for x in text.splitlines() if x.startswith("{")]


def http_get(url, timeout=5):
    with NO_PROXY.open(url, timeout=timeout) as r:
        return r.read().decode()


def wait_metrics(port, want, proc, tries, pause):
    """The /metrics of a watch on port once it has want, proc ended or tries polls every
    pause seconds ran out: the last text read (the endpoint may answer before the first
    figures are published)."""
    text = ""
    for _ in range(tries):
        time.sleep(pause)
        try:
            text = http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        except OSError:
            pass
        if want in text or proc.poll() is not None:
            break
    return text


def metric_values(text, *prefixes):
    """The samples of /metrics whose line starts with one of prefixes: {series: value}."""
    vals = {}
    for line in text.splitlines():
        if line.startswith(prefixes):
            labels, v = line.rsplit(" ", 1)
            vals[labels] = float(v)
    return vals
