// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The bench's floors, on synfin's tracepoint. floor_state does nothing: what it
 * costs is what merely attaching to inet_sock_set_state costs. floor_clock
 * only reads the clock, as every event synfin records must (its time, which
 * orders it and times each state): no program that stamps its events can cost
 * less.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_state, struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_clock, struct sock *sk, int oldstate, int newstate)
{
	bpf_ktime_get_ns();
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
