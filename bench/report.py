#!/usr/bin/env python3
"""make bench's tables, from the files bench/run.sh wrote in OUT.

Usage: report.py OUT QUICK "label=path ..."

Each figure is the median over the rounds with its range in brackets; a ratio
pairs a run with its own round's untraced run (or floor run), so the machine's
drift between rounds falls out of it.
"""
import os
import re
import sys

OUT, QUICK, VARIANTS = sys.argv[1], sys.argv[2] == "1", sys.argv[3].split()
SECS = float(os.environ.get("BENCH_SECONDS", 5))
HOLD = int(os.environ.get("BENCH_HOLD", 50000))
ROUNDS = sorted({int(m.group(1)) for m in (re.search(r"\.r(\d+)\.res$", f)
                                              for f in os.listdir(OUT)) if m})

LABELS = {
    "baseline": "untraced",
    "synfin-trace": "synfin trace --json > /dev/null",
    "floor": "an empty program on the same tracepoint (the floor)",
    "clock": "a program that only reads the clock (bpf_ktime_get_ns)",
    "synfin-filtered": "synfin trace --port 1 (all filtered in the kernel)",
    "synfin-watch": "synfin watch --json",
    "tcpstates": "tcpstates (libbpf-tools)",
    "tcplife": "tcplife (libbpf-tools)",
    "baseline-server": "untraced, server closes first",
    "synfin-trace-server": "synfin trace --json, server closes first",
}
for v in VARIANTS:
    LABELS["variant-" + v.split("=")[0]] = "variant %s: trace --json" % v.split("=")[0]


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def spread(v, fmt):
    """median (min-max), or the one value"""
    if not v:
        return "-"
    if len(v) == 1:
        return fmt % v[0]
    return "%s (%s-%s)" % (fmt % median(v), fmt % min(v), fmt % max(v))


def reported(path):
    """(events, lost, missed) from synfin's closing line on stderr, or None"""
    for line in open(path) if os.path.exists(path) else []:
        m = re.match(r"synfin: (\d+) events, (\d+) lost, (\d+) missed", line)
        if m:
            return int(m.group(1)), int(m.group(2)), int(m.group(3))
    return None


def run(name):
    """one dict per file NAME.res: rate, bpf_ns, bpf_cnt, cpu_ns, twin_ns (of
    bpf_ns, synfin's twins that record the runs the kernel skipped), events,
    lost, missed (runs of its programs the kernel skipped and no twin recorded)

    events: what the tool reported (synfin's closing line) or, when more, what
    its programs ran on during the churn (a tool that reports nothing, or a
    prototype whose records the engine does not take)"""
    p = os.path.join(OUT, name + ".res")
    if not os.path.exists(p):
        return None
    rate, t, c, cpu, twin = open(p).read().split()
    rep = reported(os.path.join(OUT, name + ".err"))
    return {"rate": float(rate), "bpf_ns": int(t), "bpf_cnt": int(c), "cpu_ns": int(cpu),
            "twin_ns": int(twin),
            "events": max(rep[0] if rep else 0, int(c)), "lost": rep[1] if rep else None,
            "missed": rep[2] if rep else None}


def per_round(name):
    """[(run, its round's untraced run, its round's floor run)] over the rounds"""
    base = "baseline-server" if name.endswith("-server") else "baseline"
    out = []
    for r in ROUNDS:
        x, b, f = run("%s.r%d" % (name, r)), run("%s.r%d" % (base, r)), run("floor.r%d" % r)
        if x and b:
            out.append((x, b, f))
    return out


def bpf_per_event(x):
    return x["bpf_ns"] / x["bpf_cnt"] if x["bpf_cnt"] else None


def figures(name):
    """the row's figures, each a list over the rounds"""
    runs = per_round(name)
    rows = {"rate": [x["rate"] for x, _, _ in runs],
            "ratio": [x["rate"] / b["rate"] for x, b, _ in runs if b["rate"]],
            "bpf": [bpf_per_event(x) for x, _, _ in runs if x["bpf_cnt"]],
            "twin": [x["twin_ns"] / x["bpf_cnt"] for x, _, _ in runs if x["bpf_cnt"]],
            "floor": [bpf_per_event(x) / bpf_per_event(f) for x, _, f in runs
                      if x["bpf_cnt"] and f and f["bpf_cnt"]],
            "cpu": [x["cpu_ns"] / x["events"] for x, _, _ in runs
                    if x["cpu_ns"] and x["events"]],
            "evs": [x["bpf_cnt"] / (SECS if not QUICK else 1) for x, _, _ in runs],
            "lost": [x["lost"] for x, _, _ in runs if x["lost"] is not None],
            "missed": [x["missed"] for x, _, _ in runs if x["missed"] is not None]}
    return runs, rows


def churn_table():
    print("| configuration | conn/s | vs untraced | BPF ns/event | vs floor "
          "| CPU ns/event | events/s | lost (missed) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, label in LABELS.items():
        runs, f = figures(name)
        if not runs:
            continue
        base = name.startswith("baseline")
        print("| %s | %.0f | %s | %s | %s | %s | %s | %s |" % (
            label, median(f["rate"]), "1.000" if base else spread(f["ratio"], "%.3f"),
            spread(f["bpf"], "%.0f"), spread(f["floor"], "%.1fx") if name != "floor" else
            ("1.0x" if f["bpf"] else "-"), spread(f["cpu"], "%.0f"),
            "%.0f" % median(f["evs"]) if f["bpf"] else "-",
            "%d (%d)" % (sum(f["lost"]), sum(f["missed"])) if f["lost"] else "-"))


PROD = {
    "prod-floor": "an empty program on the same tracepoint (the floor)",
    "prod-trace": "synfin trace --json > /dev/null",
    "prod-watch": "synfin watch --json",
}


def prod_figures(name):
    """statistics off: ratios to the mean of the round's untraced runs before
    and after; leaked when the programs were timed all the same"""
    rate, ratio, cpu, leaked = [], [], [], False
    for r in ROUNDS:
        x = run("%s.r%d" % (name, r))
        bases = [run("prod-baseline%s.r%d" % (s, r)) for s in ("", "-after")]
        if not x or not all(bases):
            continue
        rate.append(x["rate"])
        ratio.append(x["rate"] / (sum(b["rate"] for b in bases) / 2))
        leaked |= x["bpf_ns"] > 0
        if x["cpu_ns"] and x["events"]:
            cpu.append(x["cpu_ns"] / x["events"])
    return {"rate": rate, "ratio": ratio, "cpu": cpu, "leaked": leaked}


def production_table():
    base = [x["rate"] for x in (run("prod-baseline%s.r%d" % (s, r))
                                for r in ROUNDS for s in ("", "-after")) if x]
    if not base:
        return
    print("| statistics off (what a host pays) | conn/s | vs untraced | CPU ns/event |")
    print("|---|---|---|---|")
    print("| untraced, before and after | %.0f | 1.000 | - |" % median(base))
    for name, label in PROD.items():
        f = prod_figures(name)
        print("| %s | %s | %s | %s |" % (
            label + (" (statistics were on: another process held them)" if f["leaked"] else ""),
            "%.0f" % median(f["rate"]) if f["rate"] else "-",
            spread(f["ratio"], "%.3f"), spread(f["cpu"], "%.0f")))
    print()


def headline():
    """the issue's figures in one block: what `make bench` is judged by"""
    _, fl = figures("floor")
    _, ck = figures("clock")
    _, tr = figures("synfin-trace")
    _, wa = figures("synfin-watch")
    print("floor: %s BPF ns/event (an empty tp_btf program on inet_sock_set_state); "
          "reading the clock alone: %s, %s the floor"
          % (spread(fl["bpf"], "%.0f"), spread(ck["bpf"], "%.0f"), spread(ck["floor"], "%.1fx")))
    print("synfin trace --json: %s BPF ns/event (of which %s in the twins that record "
          "skipped runs), %s the floor; %s ns user+system CPU per "
          "event; %s of the untraced connection rate (watch --json: %s)"
          % (spread(tr["bpf"], "%.0f"), spread(tr["twin"], "%.0f"), spread(tr["floor"], "%.1fx"),
             spread(tr["cpu"], "%.0f"), spread(tr["ratio"], "%.3f"),
             spread(wa["ratio"], "%.3f")))
    tr, wa, fl = (prod_figures(n) for n in ("prod-trace", "prod-watch", "prod-floor"))
    if tr["ratio"]:
        print("statistics off: synfin trace --json keeps %s of the untraced connection rate, "
              "watch --json %s, the floor %s" % (spread(tr["ratio"], "%.3f"),
                                                spread(wa["ratio"], "%.3f"),
                                                spread(fl["ratio"], "%.3f")))


def replay_line():
    p = os.path.join(OUT, "replay.res")
    if not os.path.exists(p):
        return "replay: - (skipped)"
    lines = open(p).read().split("\n")
    ev, cpu = lines[0].split()
    rates = [int(x) for x in lines[1:] if x]
    return ("replay: %s events: %d events/s (best of %d on CPU %s; %d-%d)"
            % (ev, max(rates), len(rates), cpu, min(rates), max(rates)))


def memory_line():
    per, idle, busy = [], [], []
    for r in ROUNDS:
        p = os.path.join(OUT, "mem.r%d.mem" % r)
        if os.path.exists(p):
            rss0, hwm = (int(x) for x in open(p).read().split())
            idle.append(rss0)
            busy.append(hwm)
            per.append((hwm - rss0) * 1024 / (2 * HOLD))
    if not per:
        return "memory: -"
    return ("memory: %d connections (%d endpoints) held: anonymous RSS %s KiB idle, %s KiB "
            "while tracking them: %s bytes per tracked endpoint"
            % (HOLD, 2 * HOLD, spread(idle, "%d"), spread(busy, "%d"), spread(per, "%.0f")))


def headroom_table():
    print("| ring buffer headroom | churn | lost (missed) |")
    print("|---|---|---|")
    for size in ("64K", "1M", "16M"):
        x = run("ring-" + size)
        if x:
            print("| %s%s | %.0f conn/s | %s events lost (%s missed) |" % (
                size, " (default)" if size == "16M" else "", x["rate"],
                "?" if x["lost"] is None else x["lost"],
                "?" if x["missed"] is None else x["missed"]))


def machine_line():
    load = os.environ.get("BENCH_LOAD", "").split()
    print("machine: %d CPUs, load average %s before the bench, %s after (the bench's own "
          "load is about 2: more means other work shared the machine)"
          % (os.cpu_count(), load[0] if load else "?", load[-1] if load else "?"))


machine_line()
print()
churn_table()
print()
production_table()
headline()
print(replay_line())
print(memory_line())
print()
headroom_table()
