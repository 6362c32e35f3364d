#!/usr/bin/env python3
"""Compare what synfin reported for one scenario with tcpdump's capture of it.

Usage: check.py SCENARIO PORT DIR   (DIR holds live.json, replay.json, cap.txt)
Exit 0: synfin agrees with tcpdump; 1: it does not; 3: the traffic itself did
not come out as the scenario intends (a lost timing race: the caller retries).
"""
import collections
import json
import os
import struct
import sys

from witness import witnessed

FLAG_BITS = {0x01: "FIN", 0x02: "SYN", 0x04: "RST", 0x10: "ACK"}


class Seg:
    """One TCP segment of the capture, decoded from the pcap itself: tcpdump's text
    leaves out the sequence number of segments that carry no data."""

    def __init__(self, sport, dport, seq, ack, flags, length):
        self.sport, self.dport, self.seq, self.len = sport, dport, seq, length
        self.flags = {name for bit, name in FLAG_BITS.items() if flags & bit}
        self.ack = ack if "ACK" in self.flags else None

    def __repr__(self):
        return f"{self.sport}>{self.dport} {sorted(self.flags)} seq={self.seq} ack={self.ack} len={self.len}"


def read_pcap(path):
    segs = []
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "IIII", data[off:off + 16])[2]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet, as loopback is
            ethertype = struct.unpack(">H", pkt[12:14])[0]
            pkt = pkt[14:]
        else:
            continue
        if ethertype == 0x0800:
            ihl = (pkt[0] & 0x0F) * 4
            total = struct.unpack(">H", pkt[2:4])[0]
            if pkt[9] != 6:
                continue
            tcp, payload_end = pkt[ihl:], total - ihl
        elif ethertype == 0x86DD:
            if pkt[6] != 6:
                continue
            tcp, payload_end = pkt[40:], struct.unpack(">H", pkt[4:6])[0]
        else:
            continue
        sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
        doff = (tcp[12] >> 4) * 4
        segs.append(Seg(sport, dport, seq, ack, tcp[13], payload_end - doff))
    return segs


def load(d):
    with open(os.path.join(d, "live.json")) as f:
        live = f.read()
    with open(os.path.join(d, "replay.json")) as f:
        replay = f.read()
    return live, replay, read_pcap(os.path.join(d, "cap.pcap"))


def recorded(d):
    """synfin's transitions, from replay --states --json of its recording"""
    rows = [json.loads(line) for line in open(os.path.join(d, "states.json"))]
    return collections.Counter((r["lport"], r["rport"], r["old"], r["new"])
                               for r in rows if r["type"] == "state")


def wave_matches(conn, w, s):
    out = w["dir"] == "out"
    src, dst = (conn["lport"], conn["rport"]) if out else (conn["rport"], conn["lport"])
    if (s.sport, s.dport) != (src, dst):
        return False
    flags = set(w["flags"].split(","))
    # an incoming RST's ACK bit is not visible to synfin, which then reports "RST" alone
    if w["dir"] == "in" and flags == {"RST"} and w["ack"] is None:
        flags = s.flags & {"RST"} | ({"ACK"} & s.flags)
    if flags != s.flags:
        return False
    if w["seq"] is not None and w["seq"] != s.seq:
        return False
    if w["ack"] is not None and w["ack"] != s.ack:
        return False
    return True


def tcpdump_verdict(segs):
    """What the capture shows: the close kind and who sent the first FIN or the RST."""
    rst = [s for s in segs if "RST" in s.flags]
    if rst:
        if "SYN" in segs[0].flags and not any("SYN" in s.flags and "ACK" in s.flags for s in segs):
            return "refused", rst[0].sport
        return "reset", rst[0].sport
    fins = [i for i, s in enumerate(segs) if "FIN" in s.flags]
    if not fins:
        return None, None
    first = segs[fins[0]]
    closer = first.sport
    fin_seq = first.seq + first.len  # the FIN's own sequence number
    other = next((i for i in fins if segs[i].sport != closer), None)
    if other is None:
        return "four-way", closer  # the peer's FIN went unseen (still open)
    # the peer's segments between the first FIN and its own FIN
    acked_before = any(
        s.sport != closer and s.ack is not None and s.ack >= fin_seq + 1
        for s in segs[fins[0] + 1:other])
    peer_fin = segs[other]
    if peer_fin.ack is not None and peer_fin.ack < fin_seq + 1 and not acked_before:
        return "simultaneous", None
    return ("four-way" if acked_before else "three-way"), closer


# The scenarios of issue 12: each endpoint is held against the segments of its
# own 4-tuple. What each must show beyond the capture's own verdict:
# ("client"/"server", field) -> value, for every endpoint of that role.
ENDS = {
    "fastopen": {},
    "simultaneous-open": {},
    "shutdown-close": {("client", "half_close"): True},
    "unread-data": {("server", "reason"): "unread-data", ("client", "reason"): "peer-reset"},
    "abort-on-data": {("client", "reason"): "abort-on-data", ("server", "reason"): "peer-reset"},
    "user-timeout": {("client", "close"): "aborted", ("client", "closer"): "local",
                     ("client", "reason"): "user-timeout", ("server", "reason"): "peer-reset"},
    "syn-timeout": {("client", "close"): "aborted", ("client", "closer"): "local",
                    ("client", "reason"): "syn-timeout"},
    "keepalive-timeout": {("client", "reason"): "keepalive-timeout",
                          ("server", "reason"): "peer-reset"},
    # the client's FIN_WAIT2 went to a timewait mini-socket, which timed out unseen:
    # the RST its port sends later comes from no socket (repro settles it from the peer)
    "fin-wait2-timeout": {("client", "closer"): "local", ("client", "fw2_handoff"): True,
                          ("client", "close"): "aborted", ("client", "time_wait"): False,
                          ("client", "reason"): "fin-wait2-timeout",
                          ("server", "reason"): "peer-reset"},
    "listener-closed": {("server", "reason"): "listener-closed",
                        ("client", "reason"): "peer-reset"},
    "accept-queue-full": {},
}
# endpoints whose close the capture's verdict does not give: a timer ended them
# before a RST their port sent later (user-timeout), or their FIN_WAIT2 timed out
NO_CAPTURE_VERDICT = {("user-timeout", "client"), ("syn-timeout", "client"),
                      ("fin-wait2-timeout", "client")}


# mismatches that are the capture's, not synfin's (tail_lost)
TAIL_LOST = set()


def tail_lost(c, w, mine):
    """Whether w is the endpoint's last segment, the ACK of a FIN that is the last
    segment tcpdump kept of the connection: a capture that lost its tail. Under
    load tcpdump now and then misses the last segment of a run although the
    kernel delivered it (the peer's LAST_ACK ended on it)."""
    return (w is c["waves"][-1] and w["flags"] == "ACK" and w["ack"] is not None and bool(mine)
            and "FIN" in mine[-1].flags and w["ack"] == (mine[-1].seq + 1) % 2**32)


def missing_wave(c, w, mine, msg, errors):
    """A wave no captured segment matches: one error, noted when it is a lost tail."""
    if any(wave_matches(c, w, s) for s in mine):
        return
    errors.append(msg)
    if tail_lost(c, w, mine):
        TAIL_LOST.add(msg)


def tuple_segs(segs, c):
    ends = {c["lport"], c["rport"]}
    return [s for s in segs if {s.sport, s.dport} == ends]


def sent_again(segs, port):
    """Segments from port that repeat an earlier one's sequence space: data, SYN or FIN."""
    seen, n = set(), 0
    for s in segs:
        if s.sport != port or not (s.len or s.flags & {"SYN", "FIN"}) or "RST" in s.flags:
            continue
        key = (s.seq, s.len, "SYN" in s.flags, "FIN" in s.flags)
        n += key in seen
        seen.add(key)
    return n


def check_ends(scen, port, conns, segs, errors):
    """Each endpoint against the segments of its own connection."""
    def check(cond, msg):
        if not cond:
            errors.append(msg)

    for c in conns:
        mine = tuple_segs(segs, c)
        name = f"{c['role']} {c['lport']}"
        sent_syn = any(s.sport == c["lport"] and s.flags == {"SYN"} for s in mine)
        check(sent_syn == (c["role"] == "client"), f"{name}: role, yet sent a bare SYN: {sent_syn}")
        for w in c["handshake"] + c["waves"]:
            missing_wave(c, w, mine, f"{name}: wave {w} has no matching segment in the capture",
                         errors)
        syns = [s for s in mine if s.sport == c["lport"] and "SYN" in s.flags]
        check(c["retrans_syn"] == max(len(syns) - 1, 0),
              f"{name}: retrans_syn {c['retrans_syn']}, the capture has {len(syns)} SYNs")
        check(c["gaps"] == [], f"{name}: gaps {c['gaps']}")
        # the first SYNs of a simultaneous open are dropped before tcpdump sees them
        if c.get("retrans") is not None and scen != "simultaneous-open":
            again = sent_again(mine, c["lport"])
            check(c["retrans"] == again,
                  f"{name}: retrans {c['retrans']}, the capture has {again} segments sent again")
            sent = sum(s.len for s in mine if s.sport == c["lport"])
            check(c["bytes_sent"] == sent,
                  f"{name}: bytes_sent {c['bytes_sent']}, the capture has {sent}")
        if (scen, c["role"]) not in NO_CAPTURE_VERDICT:
            kind, sender = tcpdump_verdict(mine)
            closer = "both" if sender is None else "local" if sender == c["lport"] else "peer"
            check(c["close"] == kind, f"{name}: close {c['close']}, the capture shows {kind}")
            check(c["closer"] == closer, f"{name}: closer {c['closer']}, the capture shows {closer}")
            tw = kind in ("four-way", "three-way", "simultaneous") and closer in ("local", "both")
            check(c["time_wait"] == tw, f"{name}: time_wait {c['time_wait']}, expected {tw}")
        for (role, key), want in ENDS[scen].items():
            if c["role"] == role:
                check(c[key] == want, f"{name}: {key} {c[key]!r}, expected {want!r}")
    if scen == "fastopen":
        check(any("SYN" in s.flags and s.len > 0 for s in segs), "no SYN carried data")
    if scen == "accept-queue-full":
        check(sum(c["retrans_syn"] for c in conns if c["role"] == "client") == 1,
              "the dropped SYN was not sent again exactly once")
    return errors


def unsettled(c):
    """A repro endpoint as replay prints it: replay streams each endpoint when it
    ends, before the peer can show that a FIN_WAIT2 mini-socket expired"""
    if c["fw2_handoff"] and c["reason"] == "fin-wait2-timeout":
        return dict(c, close="four-way", reason=None, time_wait=True)
    return c


def main():
    scen, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    live, replay, segs = load(d)
    errors = []

    def check(cond, msg):
        if not cond:
            errors.append(msg)

    lines = [json.loads(line) for line in live.splitlines()]
    conns = [x for x in lines if x["type"] == "connection"]
    summary = lines[-1] if lines else {}
    replayed = [x for x in map(json.loads, replay.splitlines()) if x["type"] == "connection"]
    repro = summary.get("type") == "result"
    check(([unsettled(c) for c in conns] if repro else conns) == replayed,
          "synfin replay --json differs from the live JSON")
    if repro:  # synfin repro: its own verdict
        check(summary.get("passed") is True, f"repro did not pass: {summary}")
        check(all(x["pass"] for x in lines if x["type"] == "expectation"),
              "an expectation of the scenario failed")
    else:
        check(live == replay, "synfin replay --json differs byte for byte from the live JSON")
        check(summary.get("type") == "summary", "the last line is not the summary")
        check(summary.get("connections") == len(conns), "summary connections count is wrong")
        w = witnessed(d)
        if w is not None:
            seen, have = w[0], recorded(d)
            check(seen == have, f"the tracepoint fired {dict(seen - have)} that synfin did not "
                  f"record; synfin recorded {dict(have - seen)} that it did not fire")
    check(summary.get("lost") == 0, f"events were lost: {summary}")
    check(len(segs) > 0, "tcpdump captured nothing")
    if scen in ENDS:
        if scen == "simultaneous-open" and not all(c["handshake"] and len(c["handshake"]) == 4
                                                   for c in conns):
            print("the SYNs did not cross: retry")
            return 3
        return report(check_ends(scen, port, conns, segs, errors), conns, segs)

    clients = [c for c in conns if c["role"] == "client" and c["rport"] == port]
    servers = [c for c in conns if c["role"] == "server" and c["lport"] == port]
    want_servers = 0 if scen == "refused" else 1
    check(len(clients) == 1, f"expected 1 client record, got {len(clients)}")
    check(len(servers) == want_servers, f"expected {want_servers} server records, got {len(servers)}")
    if errors:
        return report(errors, conns, segs)

    kind, sender = tcpdump_verdict(segs)
    if scen == "close-wait-leak":
        return check_leak(clients[0], servers[0], segs, errors, conns, port)
    intended = {"four-way": "four-way", "three-way": "three-way", "simultaneous": "simultaneous",
                "reset": "reset", "refused": "refused"}
    if scen in intended and kind != intended[scen]:
        print(f"traffic came out as {kind}, not {scen}: retry")
        for s in segs:
            print("   ", s)
        return 3

    for c in conns:
        for w in c["handshake"] + c["waves"]:
            missing_wave(c, w, tuple_segs(segs, c),
                         f"{c['role']} wave {w} has no matching segment in the capture", errors)
        check(c["gaps"] == [] or (scen == "close-wait-leak" and c["gaps"] == ["alive"]),
              f"{c['role']} has gaps {c['gaps']}")
        loop = "::1" if c["family"] == "ipv6" else "127.0.0.1"
        check(c["laddr"] == loop and c["raddr"] == loop,
              f"{c['role']} addresses {c['laddr']} {c['raddr']}, expected {loop}")
        check(c["comm"] in ("scen", "synfin", "") and (c["comm"] or not c["pid"]),
              f"{c['role']} comm is {c['comm']!r}")

    client = clients[0]
    check(client["handshake_us"] is not None or scen == "refused", "client handshake_us is null")
    if scen == "refused":
        check(client["close"] == "refused" and client["closer"] == "peer",
              f"refused: client says {client['close']}/{client['closer']}")
        check(client["waves"] and client["waves"][-1]["flags"] == "RST,ACK",
              "refused: no incoming RST,ACK wave")
        return report(errors, conns, segs)

    server = servers[0]
    check(client["pair"] is not None and client["pair"] == server["pair"],
          "client and server are not paired")
    # the server's owner shows only in process context: its close(), not a RST it received
    server_pid_known = kind != "reset" or sender == server["lport"]
    check(client["pid"] and client["pid"] != server["pid"] and
          (server["pid"] or not server_pid_known),
          f"pids: client {client['pid']} server {server['pid']}")
    check(len(client["handshake"]) == 3 and len(server["handshake"]) == 3,
          "handshake waves missing")
    check(segs[0].flags == {"SYN"} and client["handshake"][0]["seq"] == segs[0].seq,
          "the client's SYN seq is not the captured one")

    by_port = {client["lport"]: client, server["lport"]: server}
    for c in (client, server):
        check(c["close"] == kind, f"{c['role']}: close {c['close']}, tcpdump shows {kind}")
    if kind == "reset":
        sender_rec = by_port.get(sender)
        other = server if sender_rec is client else client
        check(sender_rec is not None and sender_rec["closer"] == "local",
              f"reset: the RST sender's closer is {sender_rec and sender_rec['closer']}")
        check(other["closer"] == "peer", f"reset: the receiver's closer is {other['closer']}")
        check(any(w["flags"].startswith("RST") and w["dir"] == "out" for w in sender_rec["waves"]),
              "reset: the sender has no outgoing RST wave")
    elif kind == "simultaneous":
        for c in (client, server):
            check(c["closer"] == "both" and c["time_wait"],
                  f"{c['role']}: simultaneous close but closer {c['closer']} tw {c['time_wait']}")
    else:
        first = by_port.get(sender)
        other = server if first is client else client
        check(first is not None and first["closer"] == "local" and first["time_wait"],
              f"the first FIN's sender: closer {first and first['closer']} tw {first and first['time_wait']}")
        check(other["closer"] == "peer" and not other["time_wait"],
              f"the peer: closer {other['closer']} tw {other['time_wait']}")
        fin_waves = [w for w in first["waves"] if "FIN" in w["flags"]]
        check(len(fin_waves) >= 1, "no FIN wave on the closer")
    if scen == "half-close":
        data_after = any(s.len > 0 and s.sport == port for s in segs[
            next(i for i, s in enumerate(segs) if "FIN" in s.flags):])
        check(data_after, "tcpdump shows no data after the first FIN")
        for c in (client, server):
            check(c["half_close"], f"{c['role']}: half_close is false")
    elif scen in ("four-way", "three-way", "server-first", "time-wait", "handshake"):
        for c in (client, server):
            check(not c["half_close"], f"{c['role']}: half_close is true")
    if scen in ("server-first", "time-wait"):
        check(server["closer"] == "local" and server["time_wait"], "server-first: the server does not hold TIME_WAIT")
    return report(errors, conns, segs)


def check_leak(client, server, segs, errors, conns, port):
    """The server never closes: tcpdump shows the client's FIN acked, and no FIN back."""
    fins = [s for s in segs if "FIN" in s.flags]
    if len(fins) != 1 or fins[0].sport == port:
        errors.append(f"tcpdump shows FINs {fins}, expected only the client's")
    if not (server["alive"] and server["last_state"] == "CLOSE_WAIT" and server["closer"] == "peer"):
        errors.append(f"server: alive {server['alive']} last_state {server['last_state']}")
    if not (client["closer"] == "local" and client["time_wait"] and client["fw2_handoff"]):
        errors.append(f"client: closer {client['closer']} tw {client['time_wait']}")
    if server["close"] != "incomplete" or "alive" not in server["gaps"]:
        errors.append(f"server: close {server['close']} gaps {server['gaps']}, expected incomplete/alive")
    return report(errors, conns, segs)


def report(errors, conns, segs):
    if not errors:
        return 0
    for e in errors:
        print("mismatch:", e)
    print("capture:")
    for s in segs:
        print("   ", s)
    print("synfin:")
    for c in conns:
        print("   ", json.dumps({k: c[k] for k in ("role", "close", "closer", "time_wait", "half_close", "waves")}))
    if all(e in TAIL_LOST for e in errors):
        print("the capture ends before the last ACK, which the kernel delivered: retry")
        return 3
    return 1


if __name__ == "__main__":
    sys.exit(main())
