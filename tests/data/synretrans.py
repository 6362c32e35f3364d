#!/usr/bin/env python3
"""Connect while nftables drops the SYNs to the port (or, with "synack", the
server's SYN-ACKs); lift the rule after 1.5 s so a retransmission gets through.
Needs nft; run inside a private netns. Usage: synretrans.py PORT [synack]"""
import socket
import subprocess
import sys
import threading
import time

port = int(sys.argv[1])
if len(sys.argv) > 2 and sys.argv[2] == "synack":
    match = f"tcp sport {port} tcp flags & (syn | ack) == syn | ack"
else:
    match = f"tcp dport {port} tcp flags & syn == syn"
rule = ("table inet synfin_syn {\n chain in {\n  type filter hook input priority 0;\n"
        f"  {match} drop\n }}\n}}\n")
subprocess.run(["nft", "-f", "-"], input=rule.encode(), check=True)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen()


def lift():
    time.sleep(1.5)
    subprocess.run(["nft", "delete", "table", "inet", "synfin_syn"], check=True)


threading.Thread(target=lift).start()
cli = socket.create_connection(("127.0.0.1", port))
conn, _ = srv.accept()
cli.close()
conn.recv(1)
conn.close()
