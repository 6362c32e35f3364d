#!/usr/bin/env python3
"""Socket buildup for the watch/snapshot tests, on loopback in the caller's netns.

Usage: buildup.py TW_PORT CW_PORT N_TW N_CW
Makes N_TW connections whose client closes first (TIME_WAIT on the client side,
service port TW_PORT) and N_CW connections whose server never closes (CLOSE_WAIT
held by this process, service port CW_PORT). Prints "ready PID", then obeys
stdin lines: "cw N" makes N more CLOSE_WAIT sockets, "close [N]" closes N (all),
"exit" exits.
"""
import os
import socket
import sys

tw_port, cw_port, n_tw, n_cw = (int(a) for a in sys.argv[1:5])


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4096)
    return s


tw_srv, cw_srv = listener(tw_port), listener(cw_port)
for _ in range(n_tw):
    c = socket.create_connection(("127.0.0.1", tw_port))
    s, _ = tw_srv.accept()
    c.close()
    s.recv(1)
    s.close()

held = []


def make_cw(n):
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", cw_port))
        s, _ = cw_srv.accept()
        c.close()
        s.recv(1)  # EOF: the server side is in CLOSE_WAIT now
        held.append(s)


make_cw(n_cw)
print("ready", os.getpid(), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "cw":
        make_cw(int(cmd[1]))
    elif cmd[0] == "close":
        n = int(cmd[1]) if len(cmd) > 1 else len(held)
        for s in held[:n]:
            s.close()
        del held[:n]
    elif cmd[0] == "exit":
        break
    print("done", flush=True)
