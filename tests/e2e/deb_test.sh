#!/usr/bin/env bash
# The Debian package on this machine: make deb builds it and lintian reports no
# error; apt-get installs it; the installed synfin runs (--version, repro
# three-way) with its man page, completions and unit in place; apt-get purge
# removes it and leaves no file behind (the file lists before and after match,
# but for files another package owns: something else may install meanwhile).
# Needs root. Usage: deb_test.sh OUTDIR
set -u
cd "$(dirname "$0")/../.."
OUT=$1
mkdir -p "$OUT"
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
if dpkg-query -W -f '${Status}' synfin 2>/dev/null | grep -q installed; then
	echo "synfin is installed as a package already: not touching it"
	exit 1
fi

# the files a package could leave: everything but caches, logs and scratch,
# and dpkg's journal of whatever else is being installed meanwhile
file_list() {
	find -H /etc /usr /lib /var /opt /srv \( -path /var/cache -o -path /var/log -o -path /var/tmp \
		-o -path /var/lib/apt -o -path /var/lib/dpkg/updates -o -path /var/lib/dpkg/tmp.ci \) -prune \
		-o -print 2>/dev/null | sort -u
}

make -s deb >"$OUT/make-deb.log" 2>&1 || { echo "make deb failed:"; tail -30 "$OUT/make-deb.log"; exit 1; }
deb=$(tail -1 "$OUT/make-deb.log")
[ -f "$deb" ] || { echo "make deb named no package: $deb"; exit 1; }

file_list >"$OUT/files.before"
(cd "$(dirname "$deb")" && "${APT[@]}" install "./$(basename "$deb")") >"$OUT/install.log" 2>&1 ||
	{ echo "apt-get install failed:"; tail -20 "$OUT/install.log"; }
/usr/sbin/synfin --version | grep -qx "synfin $(cat VERSION)" || echo "synfin --version: not $(cat VERSION)"
/usr/sbin/synfin repro three-way >"$OUT/repro.out" 2>&1 ||
	{ echo "synfin repro three-way failed:"; cat "$OUT/repro.out"; }
for f in /usr/share/man/man8/synfin.8.gz /usr/share/bash-completion/completions/synfin \
	/usr/share/zsh/vendor-completions/_synfin /usr/share/fish/vendor_completions.d/synfin.fish \
	/lib/systemd/system/synfin-watch.service /usr/share/doc/synfin/grafana-synfin.json.gz; do
	[ -s "$f" ] || echo "installed: $f missing"
done
grep -q '^ExecStart=/usr/sbin/synfin watch' /lib/systemd/system/synfin-watch.service ||
	echo "the unit does not start /usr/sbin/synfin"

"${APT[@]}" purge synfin >"$OUT/purge.log" 2>&1 || { echo "apt-get purge failed:"; tail -20 "$OUT/purge.log"; }
file_list >"$OUT/files.after"
dpkg-query -W synfin >/dev/null 2>&1 && echo "synfin is still known to dpkg after purge"
comm -13 "$OUT/files.before" "$OUT/files.after" | while read -r f; do
	dpkg -S "$f" >/dev/null 2>&1 || echo "left behind: $f"
done
comm -23 "$OUT/files.before" "$OUT/files.after" | sed 's/^/removed by install and purge: /'
