#!/usr/bin/env python3
"""Many network namespaces, each holding many sockets, for the host-wide
snapshot bench: N namespaces (ip netns add PREFIX-I), each with a listener on
127.0.0.1:9000 and PER-1 established loopback sockets (PER/2 connections, both
ends), held by worker processes (a process holds at most ~18,000 files).
Prints "ready" once all are made, removes the namespaces on end of stdin.

usage: nsfill.py N PER PREFIX"""
import ctypes
import os
import resource
import socket
import subprocess
import sys

CLONE_NEWNET = 0x40000000
n, per, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
names = [f"{prefix}-{i}" for i in range(n)]


def enter(name):
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET):
        raise OSError(ctypes.get_errno(), f"setns {name}")
    os.close(fd)


def fill(name, held):
    enter(name)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 9000))
    srv.listen(4096)
    held.append(srv)
    for _ in range(per // 2):
        c = socket.create_connection(("127.0.0.1", 9000))
        a, _ = srv.accept()
        held += [c, a]


def worker(chunk, w):
    held = []
    for name in chunk:
        fill(name, held)
    os.write(w, b"r")
    sys.stdin.read()
    os._exit(0)


for name in names:
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
per_worker = max(1, (hard - 100) // (per + 1))
r, w = os.pipe()
kids = []
for i in range(0, n, per_worker):
    pid = os.fork()
    if pid == 0:
        worker(names[i:i + per_worker], w)
    kids.append(pid)
for _ in kids:
    os.read(r, 1)
print("ready", flush=True)
sys.stdin.read()
for pid in kids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
for name in names:
    subprocess.run(["ip", "netns", "del", name])
