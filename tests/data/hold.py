#!/usr/bin/env python3
"""Open one loopback connection, say "ready", and close it (client first) when a
line arrives on stdin: a connection that existed before tracing started."""
import socket
import sys

port = int(sys.argv[1])
fam = socket.AF_INET6 if len(sys.argv) > 2 and sys.argv[2] == "-6" else socket.AF_INET
host = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(1)
cli = socket.create_connection((host, port))
conn, _ = srv.accept()
cli.sendall(b"ping")
conn.recv(4)
print("ready", flush=True)
sys.stdin.readline()
cli.close()
conn.recv(1)
conn.close()
