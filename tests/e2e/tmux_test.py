#!/usr/bin/env python3
"""synfin watch on a real terminal (tmux): the live view keeps a panel of the
alerts firing (rule, where, value, since when, owners) that its redraws do not
wipe, names the CLOSE_WAIT owners per row, clears the panel when the alert
clears, and Ctrl-C ends it. Needs root and tmux.

Usage: tmux_test.py SYNFIN
"""
import os
import shlex
import subprocess
import sys
import time

from sflib import Buildup, check, finish, netns_add

SYNFIN = os.path.realpath(sys.argv[1])
NS = f"synfin-tmux-{os.getpid()}"
SESSION = f"synfin-tmux-{os.getpid()}"


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def wait_screen(pred, seconds=15):
    text = ""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = screen()
        if pred(text):
            return True, text
        time.sleep(0.2)
    return False, text


def main():
    netns_add(NS)
    holder = None
    try:
        holder = Buildup(9700, 9701, 3, 6, ["ip", "netns", "exec", NS])
        pid = holder.pid
        cmd = (f"{shlex.quote(SYNFIN)} watch --netns /run/netns/{NS} --interval 0.3 "
               "--alert 'port=9701 close_wait>3'")
        tmux("new-session", "-d", "-s", SESSION, "-x", "230", "-y", "40", cmd)
        ok, text = wait_screen(lambda t: "ALERTS FIRING (1)" in t)
        print(text)
        check(ok, "the panel shows the alert firing")
        panel = [x for x in text.splitlines() if "port=9701 close_wait>3" in x]
        check(panel and "port 9701 of" in panel[0] and f"{pid}/python3" in panel[0]
              and " 6 " in panel[0], "its line: the rule, where, the value and the owner")
        check(panel and any(c.isdigit() and "T" in panel[0] for c in panel[0]),
              "its line: since when it fires")
        time.sleep(1)
        still = screen()
        check("ALERTS FIRING (1)" in still, "redraws keep the panel")
        row = [x for x in still.splitlines() if x.startswith("9701 ")]
        check(row and f"{pid}/python3" in row[0], f"the row names the CLOSE_WAIT owner: {row}")
        holder.cmd("close")
        ok, text = wait_screen(lambda t: "no alert firing" in t)
        check(ok, "the panel empties when the alert clears")
        tmux("send-keys", "-t", SESSION, "C-c")
        end = time.monotonic() + 10
        while time.monotonic() < end and tmux("has-session", "-t", SESSION).returncode == 0:
            time.sleep(0.2)
        check(tmux("has-session", "-t", SESSION).returncode != 0, "Ctrl-C ends watch")
    finally:
        tmux("kill-session", "-t", SESSION)
        if holder:
            holder.stop()
        subprocess.run(["ip", "netns", "del", NS])
    finish("tmux_test")


if __name__ == "__main__":
    main()
