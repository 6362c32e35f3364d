// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fdio.h"
#include "namelog.h"
#include "u64map.h"

/* a names file larger than this is not one synfin wrote */
#define NAMES_MAX (64u << 20)

/* What was last written for one owner (cgroup, namespace). */
struct said {
	uint64_t cgroup_id;
	uint32_t netns;
	uint64_t hash; /* of the names */
};

struct namelog {
	struct whois *who;
	int fd;
	struct u64map said; /* owner key -> struct said */
};

static int names_path(char *buf, size_t len, const char *record)
{
	return (size_t)snprintf(buf, len, "%s.names", record) < len ? 0 : -ENAMETOOLONG;
}

int namelog__create(struct namelog **out, const char *record, struct whois *who, char *err,
		    size_t errlen)
{
	struct namelog *l = calloc(1, sizeof(*l));
	char path[4096];
	int ret;

	if (!l)
		return -ENOMEM;
	l->who = who;
	ret = names_path(path, sizeof(path), record);
	l->fd = ret ? ret : sf_create_output(path, 0600, "--record", err, errlen);
	if (l->fd < 0) {
		ret = l->fd;
		free(l);
		return ret;
	}
	ret = sf_write_full(l->fd, SF_WHOLOG_MAGIC, strlen(SF_WHOLOG_MAGIC));
	if (ret) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(-ret));
		namelog__close(l);
		return ret;
	}
	*out = l;
	return 0;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static uint64_t names_hash(const struct sf_workload *w)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv(h, w->ns);
	h = fnv(h, w->pod);
	h = fnv(h, w->container);
	h = fnv(h, w->container_id);
	return fnv(h, w->unit);
}

/* Whether the answer for the owner differs from what was last written for it (and note it). */
static bool news(struct namelog *l, uint64_t cgroup_id, uint32_t netns, uint64_t hash)
{
	uint64_t key = (cgroup_id * 0x9e3779b97f4a7c15ull ^ netns) | 1;
	struct said *s = u64map_get(&l->said, key);

	if (s && s->cgroup_id == cgroup_id && s->netns == netns && s->hash == hash)
		return false;
	if (!s) {
		s = malloc(sizeof(*s));
		if (!s || u64map_put(&l->said, key, s)) {
			free(s);
			return true;
		}
	}
	*s = (struct said){ cgroup_id, netns, hash };
	return true;
}

const struct sf_workload *namelog_resolve(void *ctx, uint64_t cgroup_id, uint32_t netns,
					  uint64_t ts_ns)
{
	struct namelog *l = ctx;
	const struct sf_workload *w = whois_socket(l->who, cgroup_id, netns, ts_ns);
	char line[SF_WHOLOG_LINE_MAX];
	size_t n;

	if (l->fd < 0 || !news(l, cgroup_id, netns, names_hash(w)))
		return w;
	n = wholog_line(line, sizeof(line), cgroup_id, netns, ts_ns, w);
	/* a failed write leaves the replay without these names, not the trace without output */
	if (sf_write_full(l->fd, line, n)) {
		close(l->fd);
		l->fd = -1;
	}
	return w;
}

static void free_said(struct namelog *l)
{
	for (size_t i = 0; i < l->said.cap; i++)
		if (l->said.keys[i])
			free(l->said.vals[i]);
	u64map_free(&l->said);
}

void namelog__close(struct namelog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free_said(l);
	free(l);
}

/* The file at path, whole: its bytes (malloc'd) and *len, or NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > NAMES_MAX) {
		n = errno;
		close(fd);
		errno = !S_ISREG(st.st_mode) ? EINVAL : st.st_size > NAMES_MAX ? EFBIG : (int)n;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? sf_read_full(fd, buf, (size_t)st.st_size) : -ENOMEM;
	close(fd);
	if (n < 0) {
		free(buf);
		errno = (int)-n;
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

int namelog_load(struct wholog **out, const char *record, char *err, size_t errlen)
{
	char path[4096], why[256];
	size_t len = 0;
	char *text;
	int ret = names_path(path, sizeof(path), record);

	if (ret)
		return ret;
	errno = 0;
	text = slurp(path, &len);
	if (!text) {
		ret = errno ? -errno : -EIO;
		if (ret != -ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = wholog__parse(out, text, len, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "%s: %s", path, why);
	free(text);
	return ret;
}

const struct sf_workload *namelog_replay(void *ctx, uint64_t cgroup_id, uint32_t netns,
					 uint64_t ts_ns)
{
	return wholog__at(ctx, cgroup_id, netns, ts_ns);
}
