#!/usr/bin/env zsh
# usage: zsh_complete.zsh FPATH_DIR 'command line': the words zsh completes for the line,
# one a line, from an interactive zsh driven on a pseudo-terminal (zpty)
zmodload zsh/zpty || exit 2
rc=$(mktemp)
cat >$rc <<RC
PROMPT=''
unsetopt zle_bracketed_paste 2>/dev/null
fpath=($1 \$fpath)
autoload -U compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "\$@"; return \$?; fi
	typeset -a __hits
	builtin compadd -A __hits "\$@"
	local h; for h in \$__hits; do print -r -- "<H""IT>\$h"; done
}
finish() { print "<E""ND>"; }
comppostfuncs=(finish)
RC
zpty z zsh -f -i
zpty -w z "source $rc"
zpty -w z "$2"$'\t'
while zpty -r z line; do
	[[ $line == *"<END>"* ]] && break
	[[ $line == *"<HIT>"* ]] && print -r -- "${${line##*<HIT>}%%[$'\r\n']*}"
done
zpty -d z
rm -f $rc
