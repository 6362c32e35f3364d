// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include "caps.h"

static bool caps_dropped;

int sf_drop_privileges(uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	/* no capability regained through exec or setuid binaries */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* this takes CAP_SETPCAP: without it the set stays, and no_new_privs stands for it */
	for (unsigned long cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			break;
	/* a capability we were not given cannot be kept (capset would refuse them all) */
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(err, errlen, "cannot read capabilities: %s", strerror(errno));
		return -errno;
	}
	keep &= (uint64_t)data[1].permitted << 32 | data[0].permitted;
	memset(data, 0, sizeof(data));
	data[0].permitted = (uint32_t)keep;
	data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	caps_dropped = true;
	return 0;
}

void sf_caps_effective(bool raise)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	/* before the drop the process still holds what it started with: leave that */
	if (!caps_dropped || syscall(SYS_capget, &hdr, data))
		return;
	for (int i = 0; i < 2; i++)
		data[i].effective = raise ? data[i].permitted : 0;
	syscall(SYS_capset, &hdr, data);
}

int sf_caps_probe(uint64_t caps, int (*fn)(void *ctx), void *ctx)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct saved[2], data[2];
	int ret;

	if (syscall(SYS_capget, &hdr, saved))
		return -errno;
	memcpy(data, saved, sizeof(data));
	data[0].effective &= ~(uint32_t)caps;
	data[1].effective &= ~(uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	ret = fn(ctx);
	syscall(SYS_capset, &hdr, saved);
	return ret;
}
