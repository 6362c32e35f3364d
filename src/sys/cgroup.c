// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroup.h"

int sf_resolve_cgroup(const char *path, uint64_t *id, char *err, size_t errlen)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs) || stat(path, &st)) {
		snprintf(err, errlen, "--cgroup %s: %s", path, strerror(errno));
		return -errno;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--cgroup %s: not a cgroup v2 directory", path);
		return -EINVAL;
	}
	*id = st.st_ino;
	return 0;
}

int sf_cgroup2_root(char *buf, size_t len, bool *mounted)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[512], type[64];
	char tmpl[] = "/tmp/synfin-cgroup2.XXXXXX";
	int ret = -ENOENT;

	*mounted = false;
	if (!f)
		return -errno;
	while (fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		snprintf(buf, len, "%s", dir);
		ret = 0;
		break;
	}
	fclose(f);
	if (!ret)
		return 0;
	/* none visible (ip netns exec remounts /sys): mount the one hierarchy ourselves */
	if (!mkdtemp(tmpl))
		return -errno;
	if (mount("none", tmpl, "cgroup2", 0, NULL)) {
		ret = -errno;
		rmdir(tmpl);
		return ret;
	}
	snprintf(buf, len, "%s", tmpl);
	*mounted = true;
	return 0;
}
