# Sourced by the project's shell scripts (bench/*.sh, tests/e2e/*.sh, and the
# vmtest VMs' /init under busybox sh): what they share. POSIX sh.

# await_line FILE PATTERN [SECONDS]: true once PATTERN is in FILE, false after
# SECONDS (10)
await_line() {
	for _ in $(seq $((${3:-10} * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
