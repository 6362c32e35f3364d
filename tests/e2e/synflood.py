#!/usr/bin/env python3
"""Half-open flood for the memory test: with SYNs to PORT dropped by nftables,
open N non-blocking connects (all stuck in SYN_SENT), in two waves; print
"wave K" after each and wait for a line on stdin. Bounded: N sockets, no resend."""
import socket
import subprocess
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
rule = ("table inet synfin_flood {\n chain in {\n  type filter hook input priority 0;\n"
        f"  tcp dport {port} drop\n }}\n}}\n")
subprocess.run(["nft", "-f", "-"], input=rule.encode(), check=True)
held = []
for wave in (1, 2):
    for i in range(n // 2):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((f"127.0.0.{1 + i % 200}", port))
        held.append(s)
    print("wave", wave, flush=True)
    sys.stdin.readline()
