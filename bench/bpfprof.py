#!/usr/bin/env python3
"""Where a BPF program's time goes, from system-wide perf samples.

Usage: perf script -F comm,ip,sym -i perf.data | bpfprof.py TAG

TAG is the program's tag (bpftool prog show): its JIT image is the symbol
bpf_prog_<TAG>_<name>. Each sample whose call chain passes through that symbol
is charged to what the program was doing: its own instructions (field reads,
the stores into the ring record) or the helper it had called. Samples in the
tracepoint's dispatch (bpf_trace_run*) outside any program are what every
attached program pays: the floor.
"""
import collections
import sys


def samples(lines):
    """each sample's call chain, innermost first"""
    chain = None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if chain:
                yield chain
            chain = None
        elif not line[0].isspace():
            chain = []
        elif chain is not None:
            parts = line.split(None, 1)
            chain.append(parts[1].split("+")[0] if len(parts) > 1 else "?")
    if chain:
        yield chain


def main():
    tag = sys.argv[1]
    helper = collections.Counter()
    dispatch = total = 0
    for chain in samples(sys.stdin):
        if not any(s.startswith("bpf_trace_run") for s in chain):
            continue
        at = [i for i, s in enumerate(chain) if s.startswith("bpf_prog_" + tag)]
        if not at:
            dispatch += 1
            continue
        total += 1
        helper[chain[at[0] - 1] if at[0] else "(the program's own instructions)"] += 1
    print("%d samples in bpf_prog_%s*, %d in the tracepoint's dispatch outside any program"
          % (total, tag, dispatch))
    for name, n in helper.most_common(15):
        print("%6d %5.1f%%  %s" % (n, 100.0 * n / max(total, 1), name))


main()
