#!/usr/bin/env bash
# The shipped alerting rules under promtool: they load, their unit tests pass,
# and every rule has a test in which it fires (and one before it may).
set -u
cd "$(dirname "$0")/../../docs"
fail=0
for tool in promtool python3; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
promtool check rules prometheus-alerts.yml || fail=1
promtool test rules prometheus-alerts.test.yml || fail=1
python3 - <<'PY' || fail=1
import re
rules = re.findall(r"^\s*- alert: (\S+)", open("prometheus-alerts.yml").read(), re.M)
tests = open("prometheus-alerts.test.yml").read()
fires = set(re.findall(r"alertname: (\S+)\n\s+exp_alerts:\n\s+- exp_labels:", tests))
quiet = set(re.findall(r"alertname: (\S+)\n\s+exp_alerts: \[\]", tests))
missing = [r for r in rules if r not in fires or r not in quiet]
print(f"{len(rules)} alerting rules; tested firing: {len(fires)}, tested quiet: {len(quiet)}")
if missing:
    print("FAIL: no test where it fires and one where it does not: " + ", ".join(missing))
raise SystemExit(1 if missing else 0)
PY
exit $fail
