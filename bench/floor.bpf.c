// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The bench's floor: a program on synfin's tracepoint that does nothing. What
 * it costs is what merely attaching to inet_sock_set_state costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_state, struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
