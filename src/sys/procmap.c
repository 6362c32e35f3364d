// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "caps.h"
#include "fdio.h"
#include "procmap.h"

struct entry {
	uint64_t ino;
	struct sf_owner owner;
	bool found;
};

struct procmap {
	struct entry *v;
	size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const struct entry *)a)->ino, y = ((const struct entry *)b)->ino;

	return x < y ? -1 : x > y;
}

static struct entry *find(const struct procmap *m, uint64_t ino)
{
	struct entry key = { .ino = ino };

	return m->n ? bsearch(&key, m->v, m->n, sizeof(key), cmp_entry) : NULL;
}

/* The name as the process set it: it may hold a newline; the kernel adds one more. */
static void read_comm(uint32_t pid, char *comm, size_t len)
{
	char path[64], buf[SF_COMM_LEN + 1];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	comm[0] = 0;
	n = sf_read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return;
	if (buf[n - 1] == '\n')
		buf[n - 1] = 0;
	snprintf(comm, len, "%.*s", (int)(len - 1), buf);
}

static void scan_pid(struct procmap *m, uint32_t pid)
{
	char path[64], link[64], comm[16] = "";
	bool have_comm = false;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		unsigned long long ino;
		struct entry *e;
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		e = find(m, ino);
		if (!e || e->found)
			continue;
		if (!have_comm) {
			read_comm(pid, comm, sizeof(comm));
			have_comm = true;
		}
		e->found = true;
		e->owner.pid = pid;
		memcpy(e->owner.comm, comm, sizeof(comm));
	}
	closedir(dir);
}

int procmap_build(struct procmap **out, const uint64_t *inodes, size_t n)
{
	struct procmap *m = calloc(1, sizeof(*m));
	struct dirent *d;
	DIR *proc;

	if (!m)
		return -ENOMEM;
	m->v = calloc(n ? n : 1, sizeof(*m->v));
	if (!m->v) {
		free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (inodes[i])
			m->v[m->n++].ino = inodes[i];
	qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
	*out = m;
	if (!m->n)
		return 0;
	/* other users' fd tables: the capabilities kept for this, raised only here */
	sf_caps_effective(true);
	proc = opendir("/proc");
	if (proc) {
		while ((d = readdir(proc))) {
			char *end;
			unsigned long pid = strtoul(d->d_name, &end, 10);

			if (*end || !pid)
				continue;
			scan_pid(m, (uint32_t)pid);
		}
		closedir(proc);
	}
	sf_caps_effective(false);
	return 0;
}

bool procmap_get(const struct procmap *m, uint64_t ino, struct sf_owner *owner)
{
	const struct entry *e = m && ino ? find(m, ino) : NULL;

	if (!e || !e->found)
		return false;
	*owner = e->owner;
	return true;
}

void procmap_free(struct procmap *m)
{
	if (!m)
		return;
	free(m->v);
	free(m);
}

size_t procmap_owners(const uint64_t *inodes, size_t n, struct sf_owner *out, size_t max)
{
	struct procmap *pm = NULL;
	size_t k = 0;

	if (!n || procmap_build(&pm, inodes, n))
		return 0;
	for (size_t i = 0; i < n && k < max; i++) {
		struct sf_owner o;
		bool dup = false;

		if (!procmap_get(pm, inodes[i], &o))
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = out[j].pid == o.pid;
		if (!dup)
			out[k++] = o;
	}
	procmap_free(pm);
	return k;
}
