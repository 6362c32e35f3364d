#!/usr/bin/env python3
"""An open that dies in the handshake: SYNs to the port are dropped (nftables),
and the client gives up and closes while in SYN_SENT. No RST is sent or seen."""
import socket
import subprocess
import sys

port = int(sys.argv[1])
rule = ("table inet synfin_abort {\n chain in {\n  type filter hook input priority 0;\n"
        f"  tcp dport {port} tcp flags & syn == syn drop\n }}\n}}\n")
subprocess.run(["nft", "-f", "-"], input=rule.encode(), check=True)
c = socket.socket()
c.settimeout(0.3)
try:
    c.connect(("127.0.0.1", port))
    sys.exit("connected: the SYN was not dropped")
except socket.timeout:
    pass
c.close()
subprocess.run(["nft", "delete", "table", "inet", "synfin_abort"], check=True)
