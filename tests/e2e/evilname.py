#!/usr/bin/env python3
"""Under a process name with an escape sequence and a newline, open and close
loopback connections, then hold one CLOSE_WAIT socket until stdin closes.
Usage: evilname.py PORT"""
import ctypes
import socket
import sys

ctypes.CDLL(None).prctl(15, b"\x1b[31mRED\nFAKE", 0, 0, 0)  # PR_SET_NAME
port = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
for _ in range(3):
    c = socket.create_connection(("127.0.0.1", port))
    s, _ = srv.accept()
    c.close()
    s.close()
# the peer closes, we never do: CLOSE_WAIT held by this process
c = socket.create_connection(("127.0.0.1", port))
held, _ = srv.accept()
c.close()
print("ready", flush=True)
sys.stdin.read()
