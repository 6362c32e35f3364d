#!/usr/bin/env bash
# Debian packages for make vmtest through an apt configuration of our own: the
# suites the kernel matrix needs (bullseye, bookworm, bookworm-backports, amd64
# and arm64) are listed only in DIR, never in the machine's sources, and the
# lists, caches and downloads stay in DIR. Nothing is installed.
#
#   apt-private.sh DIR update             fetch the lists
#   apt-private.sh DIR newest REGEX       the highest-versioned package named REGEX
#   apt-private.sh DIR download PKG[:ARCH][/SUITE]...
#                                         into DIR/debs, unless a copy is there
set -eu
dir=$(realpath -m "$1")
cmd=$2
shift 2
mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opts=(-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
	-o APT::Architectures::=amd64 -o APT::Architectures::=arm64
	-o APT::Sandbox::User=root -o Acquire::Languages=none)

die() {
	echo "apt-private: $*" >&2
	exit 1
}

update() {
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	printf 'deb [signed-by=%s] %s %s main\n' \
		"$keyring" "$mirror" bullseye \
		"$keyring" "$mirror" bookworm \
		"$keyring" "$mirror" bookworm-backports >"$dir/sources.list"
	apt-get "${opts[@]}" update -qq || die "cannot fetch the package lists"
}

newest() {
	apt-cache "${opts[@]}" search --names-only "$1" | awk '{print $1}' | sort -V | tail -1
}

# cached by name and architecture: PKG_VERSION_ARCH.deb; lists older than the
# archive (a version since removed) are fetched anew once
download() {
	local p name arch
	mkdir -p "$dir/debs"
	for p in "$@"; do
		name=${p%%[:/]*}
		arch=amd64
		[[ $p == *:arm64* ]] && arch=arm64
		compgen -G "$dir/debs/${name}_*_${arch}.deb" >/dev/null && continue
		fetch "$p" || { update && fetch "$p"; } || die "cannot download $p"
	done
}

fetch() {
	(cd "$dir/debs" && apt-get "${opts[@]}" download -qq "$1")
}

case $cmd in
update | newest | download) "$cmd" "$@" ;;
*) die "unknown command $cmd" ;;
esac
