#!/usr/bin/env bash
# bash, zsh and fish completions, generated from synfin's --help: each shell,
# asked to complete "synfin CMD -", offers every option that CMD --help names,
# and completes commands, scenarios and option values. Any output is a failure.
# Usage: completions_test.sh SYNFIN OUTDIR
set -u
SYNFIN=$(realpath "$1")
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$OUT/completions
for tool in python3 bash zsh fish; do
	command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 1; }
done
"$HERE/../../scripts/gen-completions.py" "$SYNFIN" "$DIR" || { echo "gen-completions.py failed"; exit 1; }
bash -n "$DIR/synfin" || echo "bash: syntax error"
zsh -n "$DIR/_synfin" || echo "zsh: syntax error"
fish -n "$DIR/synfin.fish" || echo "fish: syntax error"

# complete SHELL LINE: the words SHELL offers for LINE, one a line
complete() {
	case $1 in
	bash)
		# shellcheck disable=SC2016
		bash -c 'source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("");
			COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _synfin; printf "%s\n" "${COMPREPLY[@]}"' \
			_ "$DIR/synfin" "$2" ;;
	zsh) timeout 30 zsh "$HERE/zsh_complete.zsh" "$(realpath "$DIR")" "$2" ;;
	fish) fish -c 'source $argv[1]; complete -C $argv[2]' "$DIR/synfin.fish" "$2" | cut -f1 ;;
	esac
}

# the options CMD --help names: long ones, and short ones where the help lists
# them (-v, --verbose; [-p]; -T -p in a list); not those of another command it
# cites ("made by synfin trace --record"), nor of a shell command ("sh -c")
help_options() {
	"$SYNFIN" "$1" --help | sed -E "s/synfin $1 (--)/\1/g; s/synfin [a-z]+ --[a-z-]+//g; s/sh -c//g" |
		grep -oE '(^|[^A-Za-z0-9-])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed -E 's/^[^-]+//' | sort -u
}

# expect SHELL LINE WORD...: each WORD is among what SHELL offers for LINE
expect() {
	local shell=$1 line=$2 got w
	shift 2
	got=$(complete "$shell" "$line")
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" || echo "$shell: '$line' does not offer $w"
	done
}

commands=$("$SYNFIN" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }')
for shell in bash zsh fish; do
	# shellcheck disable=SC2086
	expect "$shell" "synfin " $commands
	for c in $commands; do
		# shellcheck disable=SC2046
		expect "$shell" "synfin $c -" $(help_options "$c")
	done
	expect "$shell" "synfin trace --attach " auto tp_btf tracepoint
	expect "$shell" "synfin watch --by " port process
	# shellcheck disable=SC2046
	expect "$shell" "synfin repro " all $("$SYNFIN" repro --list | awk '{ print $1 }')
done
