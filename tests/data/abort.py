#!/usr/bin/env python3
"""Aborts the scenarios do not play, for the engine's unit tests:
  fw2      the client closes and stays a full FIN_WAIT2 socket (tcp_fin_timeout
           past 60 s); data from the server then resets it through tcp_reset(),
           which fires the receive-reset tracepoint though no RST arrived.
  queued   the client closes with data still unsent (the server's window is
           shut), so its FIN waits behind the data; data from the server resets
           it: the FIN never leaves.
  reset    a Fast Open child still in SYN_RECV (the client's final ACK is
           dropped) is reset by its client (SO_LINGER 0)."""
import socket
import subprocess
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]


def sysctl(name, value):
    with open(f"/proc/sys/net/ipv4/{name}", "w") as f:
        f.write(str(value))


def nft(rule):
    subprocess.run(["nft", "-f", "-"], check=True, input=(
        "table inet synfin_abort {\n chain out {\n  type filter hook output priority 0;\n"
        f"  {rule}\n }}\n}}\n").encode())


def pair(rcvbuf=0):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    cli = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    cli.sendall(b"ping")
    conn.recv(4)
    return srv, cli, conn


def fw2():
    sysctl("tcp_fin_timeout", 61)
    srv, cli, conn = pair()
    cli.close()
    time.sleep(0.1)
    conn.sendall(b"late-data")
    time.sleep(0.1)
    conn.close()


def queued():
    srv, cli, conn = pair(rcvbuf=4096)
    cli.setblocking(False)
    try:
        while True:
            cli.send(b"x" * 65536)
    except BlockingIOError:
        pass
    cli.close()
    time.sleep(0.1)
    conn.sendall(b"late-data")
    time.sleep(0.1)
    conn.close()


def tfo():
    sysctl("tcp_fastopen", 0x207)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)
    # the client's bare ACKs never reach the server: its child stays in SYN_RECV
    nft(f"tcp dport {port} tcp flags == ack drop")
    cli = socket.socket()
    cli.sendto(b"hello", socket.MSG_FASTOPEN, ("127.0.0.1", port))
    time.sleep(0.1)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    cli.close()
    time.sleep(0.1)
    subprocess.run(["nft", "delete", "table", "inet", "synfin_abort"], check=True)
    srv.close()


{"fw2": fw2, "queued": queued, "reset": tfo}[mode]()
