#!/usr/bin/env python3
"""What a tracefs instance on sock:inet_sock_set_state saw beside synfin
(tests/e2e/run.sh keeps it in DIR/witness.txt, with record-tgid on).

The kernel of this project's machine kind runs no BPF program while the CPU's
current task is a thread of PID 1 (the VM's agent), softirq work done on top
of it included, and counts no miss: the transitions that ran there are kept
apart, since synfin cannot have seen them.

Usage: witness.py DIR   exit 0 when a transition ran on a thread of PID 1, else 1
check.py imports `witnessed`.
"""
import collections
import os
import re
import sys

# "comm-tid (tgid) [cpu] flags ts: inet_sock_set_state: ... sport=.. dport=.. ..."
LINE = re.compile(r"\((?P<tgid>[^)]*)\) \[\d+\] .* inet_sock_set_state: .*"
                  r" sport=(?P<sport>\d+) dport=(?P<dport>\d+) .*"
                  r" oldstate=TCP_(?P<old>\w+) newstate=TCP_(?P<new>\w+)")


def witnessed(d):
    """(transitions synfin could see, transitions on PID 1's threads), each a
    Counter of (sport, dport, old, new); None without a witness"""
    path = os.path.join(d, "witness.txt")
    if not os.path.exists(path):
        return None
    seen, blind = collections.Counter(), collections.Counter()
    for m in map(LINE.search, open(path)):
        if m:
            key = (int(m["sport"]), int(m["dport"]), m["old"], m["new"])
            (blind if m["tgid"].strip() == "1" else seen)[key] += 1
    return seen, blind


if __name__ == "__main__":
    w = witnessed(sys.argv[1])
    sys.exit(0 if w and w[1] else 1)
