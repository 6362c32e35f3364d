#!/usr/bin/env bash
# mermaid and marked from the npm registry, at the versions package-lock.json
# pins, into DEST/node_modules for summary_test.py; nothing is done when DEST
# already holds this lock's install.
# Usage: tests/e2e/mermaid/install.sh DEST
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
command -v npm >/dev/null || { echo "npm is not installed (Debian: npm)" >&2; exit 1; }
mkdir -p "$dest"
if cmp -s "$here/package-lock.json" "$dest/package-lock.json" && [ -d "$dest/node_modules/mermaid" ]; then
	exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --ignore-scripts
