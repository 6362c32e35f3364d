# Sourced by bench/*.sh: what they share.

# await_line FILE PATTERN: true once PATTERN is in FILE, false after 10 s
await_line() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
