#!/usr/bin/env python3
"""synfin check --summary, rendered as a CI job summary page renders it.

Usage: summary_test.py SYNFIN SCEN OUTDIR MERMAID_DIR
Runs synfin check with failing expectations (three-way close from the client,
a reset seen from an IPv6 server, a command line with a backtick and a pipe),
appending to one summary file; then renders that Markdown with marked and
every ```mermaid block with mermaid (MERMAID_DIR/node_modules, from npm) in
headless Chromium, fails on any parse or render error, checks that each
diagram drew every segment, and keeps OUTDIR/summary.png. Run it inside a
private network namespace: Chromium then has no network at all.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from sflib import check, finish, synfin_runner

SYNFIN, SCEN, OUT, MERMAID = sys.argv[1:5]
SCEN = os.path.relpath(SCEN)  # as a CI job would write it, in the summary's command line
SUMMARY = os.path.join(OUT, "summary.md")
run = synfin_runner(SYNFIN, 60)


def synfin_check(expects, command):
    args = ["check", "--netns-new", "--summary", SUMMARY]
    for e in expects:
        args += ["--expect", e]
    r = run(*args, "--", *command)
    # exit 1 is also a run that went wrong: that one says why on stderr
    check("synfin check:" not in r.stderr, f"no error from synfin check {r.stderr.strip()}")
    return r.returncode


def make_summary():
    if os.path.exists(SUMMARY):
        os.unlink(SUMMARY)
    rc = synfin_check(["role=client close=four-way", "role=server close=three-way"],
                      [SCEN, "three-way", "9451"])
    check(rc == 1, f"three-way against four-way: exit {rc}, want 1")
    rc = synfin_check(["role=server close=four-way", "port=1 count>=1"],
                      [SCEN, "reset", "9452", "-6"])
    check(rc == 1, f"an IPv6 reset, seen from the server: exit {rc}, want 1")
    rc = synfin_check(["role=client close=three-way"],
                      ["sh", "-c", f"{SCEN} three-way 9453 | cat # `x` | y"])
    check(rc == 0, f"a passing check whose command has a backtick and a pipe: exit {rc}, want 0")
    with open(SUMMARY) as f:
        return f.read()


def check_markdown(md):
    check(len(re.findall(r"^### ", md, re.M)) == 3, "three runs appended three summaries")
    check("| ✅ | ` role=server close=three-way ` | 1 | 0 |" in md, "a passing row in the table")
    check("| ❌ | ` port=1 count>=1 ` | 0 (want count>=1) | 0 |" in md, "a count failure in the table")
    check("`` sh -c " in md and "# `x` | y ``" in md,
          "a command with a backtick is fenced by two backticks")
    check("server-xclient: RST" in md or "client-xserver: RST" in md, "a reset is drawn as a cross")
    check("participant server as server [::1]:9452" in md, "IPv6 endpoints in brackets")


PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<style>
body { font-family: 'DejaVu Sans', sans-serif; font-size: 14px; margin: 16px; width: 900px; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: 4px 10px; }
code { background: #eff1f3; } pre { background: #f6f8fa; padding: 8px; line-height: 1.45; white-space: pre-wrap; }
#status { background: none; color: #999; font-size: 11px; }
</style>
<script src="marked.umd.js"></script><script src="mermaid.min.js"></script>
<script src="summary.js"></script>
</head><body><div id="out"></div><pre id="status">pending</pre>
<script>
(async () => {
  const status = document.getElementById('status');
  try {
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
    // #first: the first summary alone, for the README
    const md = location.hash === '#first' ? SUMMARY.split(/^(?=### )/m)[0] : SUMMARY;
    document.getElementById('out').innerHTML = marked.parse(md);
    const blocks = [...document.querySelectorAll('code.language-mermaid')];
    const drawn = [], errors = [];
    for (const [i, code] of blocks.entries()) {
      const text = code.textContent;
      try {
        await mermaid.parse(text);
        const { svg } = await mermaid.render('diagram' + i, text);
        const div = document.createElement('div');
        div.innerHTML = svg;
        code.parentElement.replaceWith(div);
        drawn.push(div.querySelectorAll('.messageText').length);
      } catch (e) {
        errors.push('diagram ' + i + ': ' + (e && e.message ? e.message : e));
      }
    }
    const height = document.documentElement.scrollHeight;
    status.textContent = 'RESULT ' + JSON.stringify({ blocks: blocks.length, drawn, errors, height });
  } catch (e) {
    status.textContent = 'RESULT ' + JSON.stringify({ fatal: String(e) });
  }
})();
</script></body></html>
"""

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=20000"]


def chromium(page, *args, part=""):
    profile = tempfile.mkdtemp(prefix="synfin-chromium.")
    try:
        return subprocess.run(CHROMIUM + [f"--user-data-dir={profile}", *args,
                                          "file://" + os.path.abspath(page) + part],
                              capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def render(md):
    page = os.path.join(OUT, "summary.html")
    shutil.copy(os.path.join(MERMAID, "node_modules/mermaid/dist/mermaid.min.js"), OUT)
    shutil.copy(os.path.join(MERMAID, "node_modules/marked/lib/marked.umd.js"), OUT)
    with open(os.path.join(OUT, "summary.js"), "w") as f:
        f.write("const SUMMARY = " + json.dumps(md) + ";\n")
    with open(page, "w") as f:
        f.write(PAGE)
    return page_result(page)


def page_result(page, part=""):
    dom = chromium(page, "--dump-dom", part=part)
    m = re.search(r"RESULT (\{.*?\})</pre>", dom.stdout)
    check(m is not None, f"Chromium rendered the page{part}")
    if not m:
        print(dom.stderr[-2000:])
        return None
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def check_render(md, result):
    want = [len(re.findall(r"^    \S+(?:->>|-x)\S+: ", block, re.M))
            for block in re.findall(r"```mermaid\n(.*?)```", md, re.S)]
    check(result.get("fatal") is None, f"no page error ({result.get('fatal')})")
    check(not result.get("errors"), f"no Mermaid parse or render error {result.get('errors')}")
    check(result.get("blocks") == len(want) and len(want) >= 2,
          f"{result.get('blocks')} diagrams found, {len(want)} in the summary")
    check(result.get("drawn") == want, f"segments drawn per diagram {result.get('drawn')}, "
          f"segments in the summary {want}")


def screenshot(name, height, part=""):
    png = os.path.join(OUT, name)
    r = chromium(os.path.join(OUT, "summary.html"), f"--screenshot={png}",
                 f"--window-size=940,{height}", part=part)
    check(r.returncode == 0 and os.path.exists(png) and os.path.getsize(png) > 10000,
          f"screenshot {png}")


def main():
    os.makedirs(OUT, exist_ok=True)
    md = make_summary()
    check_markdown(md)
    result = render(md)
    if result is not None:
        check_render(md, result)
        screenshot("summary.png", result.get("height", 4000))
        first = page_result(os.path.join(OUT, "summary.html"), "#first")
        if first and not first.get("errors"):
            screenshot("summary-first.png", first.get("height", 2000), "#first")
    finish("summary_test")


main()
