/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The socket record the iter/tcp program writes for every TCP socket of a
 * network namespace (full, timewait and request sockets), shared by BPF and
 * user space (the loader that runs it is src/sys/snapshot.c).
 */
#ifndef SYNFIN_SNAPSHOT_H
#define SYNFIN_SNAPSHOT_H

#include "types.h"

#define SF_AGE_UNKNOWN 0xffffffffu

struct sf_sock_rec {
	__u64 cookie;
	__u64 ino; /* socket inode; 0 for timewait and request sockets */
	__u64 cgroup_id; /* the owner's cgroup v2 id (sk_cgrp_data); 0 for those too */
	__u32 netns;
	__u32 age_ms; /* TIME_WAIT: since it began; CLOSE_WAIT: since the last ACK in */
	__u16 lport;
	__u16 rport;
	__u8 family;
	__u8 state; /* a timewait socket reports its substate (TIME_WAIT or FIN_WAIT2) */
	__u8 timewait; /* a timewait mini-socket, whatever its substate */
	__u8 pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

#endif
