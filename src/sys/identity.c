// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <json-c/json.h>
#include "clock.h"
#include "fdio.h"
#include "identity.h"
#include "parse.h"

/* a runtime's metadata file larger than this is refused, not read */
#define META_MAX (4u << 20)
/* a miss rescans the cgroup tree or /proc at most this often */
#define RESCAN_NS SF_NS_PER_S
#define WALK_DEPTH 64
#define WARNED_MAX 256
/* the type of a kernfs file handle, whose 8 bytes are the cgroup id (include/linux/exportfs.h) */
#define FILEID_KERNFS 0xfe
#define CGROUP_PATH_MAX sizeof(((struct sf_workload *)0)->cgroup)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A metadata file as last read: read again only when it changed. */
struct file_sig {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

/* One cached answer, for a cgroup id or a network namespace inode. */
struct entry {
	uint64_t key;
	uint64_t tried_ns; /* when an unknown key was last looked for */
	unsigned int gen; /* the generation it was last checked in */
	bool known;
	struct file_sig sig;
	struct sf_workload w;
};

/* Open addressing; entries live apart so that the pointers handed out stay put. */
struct map {
	struct entry **slot;
	size_t cap, n;
};

/* cgroup id (the directory's inode) -> path, from one walk of the hierarchy */
struct cg_row {
	uint64_t ino;
	size_t off;
};

struct cg_index {
	struct cg_row *v;
	size_t n, cap;
	char *str;
	size_t slen, scap;
};

struct pid_ns {
	uint32_t ns, pid;
};

struct identity {
	char root[PATH_MAX - 64]; /* --host-root, "" for / */
	int rootfd;
	char cgroot[PATH_MAX]; /* the cgroup v2 mount, "" when there is none */
	char cgreal[PATH_MAX]; /* the same without symbolic links, as /proc/self/fd shows it */
	int cgfd;
	char handle_path[CGROUP_PATH_MAX];
	uint64_t nsfs_dev; /* the device of every namespace file */
	struct cg_index cg;
	uint64_t cg_scan_ns;
	struct map cgroups, netns;
	struct pid_ns *pids; /* every process's network namespace */
	size_t npids, pids_cap;
	unsigned int pids_gen;
	uint64_t pids_scan_ns;
	char **pod_dirs; /* the names in /var/log/pods */
	size_t npod_dirs, pod_dirs_cap;
	struct file_sig pods_sig;
	uint64_t warned[WARNED_MAX];
	size_t nwarned;
	unsigned int gen;
};

enum { K_CONTAINER, K_POD, K_NS, K_UID, K_COUNT };

/* Where a runtime keeps what it knows of a container: DIR/ID/FILE under the host root. */
struct meta_src {
	const char *dir, *file;
	const char *labels[2]; /* the object holding the keys */
	const char *keys[K_COUNT];
	bool docker; /* also Name, and NetworkSettings.SandboxKey for the namespace */
};

static const struct meta_src sources[] = {
	{ "run/containerd/io.containerd.runtime.v2.task/k8s.io",
	  "config.json",
	  { "annotations" },
	  { "io.kubernetes.cri.container-name", "io.kubernetes.cri.sandbox-name",
	    "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.sandbox-uid" } },
	{ "run/containers/storage/overlay-containers",
	  "userdata/config.json",
	  { "annotations" },
	  { "io.kubernetes.container.name", "io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
	    "io.kubernetes.pod.uid" } },
	/* cri-dockerd labels its containers with the same keys as CRI-O's annotations */
	{ "var/lib/docker/containers",
	  "config.v2.json",
	  { "Config", "Labels" },
	  { "io.kubernetes.container.name", "io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
	    "io.kubernetes.pod.uid" },
	  true },
};

static const struct sf_workload unknown;

static uint64_t now_ns(void)
{
	return sf_clock_ns(CLOCK_MONOTONIC);
}

/* Room for need elements of size bytes in *vp, whose capacity is *cap. */
static int reserve(void *vp, size_t *cap, size_t need, size_t size)
{
	void **v = vp, *p;
	size_t n = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*v, n * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

static size_t map_home(const struct map *m, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

static struct entry *map_get(const struct map *m, uint64_t key)
{
	for (size_t i = m->cap ? map_home(m, key) : 0; m->cap; i = (i + 1) & (m->cap - 1)) {
		if (!m->slot[i])
			return NULL;
		if (m->slot[i]->key == key)
			return m->slot[i];
	}
	return NULL;
}

static void map_insert(struct map *m, struct entry *e)
{
	size_t i = map_home(m, e->key);

	while (m->slot[i])
		i = (i + 1) & (m->cap - 1);
	m->slot[i] = e;
	m->n++;
}

/* Rehashes into cap slots, freeing the entries last checked before generation min_gen. */
static int map_rebuild(struct map *m, size_t cap, unsigned int min_gen)
{
	struct entry **old = m->slot;
	size_t old_cap = m->cap;

	if (!cap)
		return 0;
	m->slot = calloc(cap, sizeof(*m->slot));
	if (!m->slot) {
		m->slot = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->n = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i] && old[i]->gen >= min_gen)
			map_insert(m, old[i]);
		else
			free(old[i]);
	}
	free(old);
	return 0;
}

static struct entry *map_add(struct map *m, uint64_t key)
{
	struct entry *e;

	if ((m->n + 1) * 2 > m->cap && map_rebuild(m, m->cap ? m->cap * 2 : 64, 0))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = key;
	map_insert(m, e);
	return e;
}

static void map_clear(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slot[i]);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* Answered in this generation; an unknown key is looked for again after a second. */
static bool entry_fresh(const struct identity *id, const struct entry *e)
{
	return e->gen == id->gen && (e->known || now_ns() - e->tried_ns < RESCAN_NS);
}

/*
 * Opens rel (relative) below the host root, its symbolic links resolved inside
 * it as on the host (/var/run -> /run), with a plain open where the kernel or
 * a seccomp filter lacks openat2: the fd or -errno.
 */
static int host_open(const struct identity *id, const char *rel, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	char path[PATH_MAX];
	int fd = (int)syscall(SYS_openat2, id->rootfd, rel, &how, sizeof(how));

	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd < 0 ? -errno : fd;
	if (snprintf(path, sizeof(path), "%s/%s", id->root, rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One line per bad file, however often it is asked for, and at most WARNED_MAX files. */
static void warn_once(struct identity *id, const char *rel, const char *why)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *p = rel; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	for (size_t i = 0; i < id->nwarned; i++)
		if (id->warned[i] == h)
			return;
	if (id->nwarned == WARNED_MAX)
		return;
	id->warned[id->nwarned++] = h;
	fprintf(stderr, "synfin: %s/%s: %s; its workload stays unknown%s\n", id->root, rel, why,
		id->nwarned == WARNED_MAX ? " (no more such warnings)" : "");
}

/* Opens a metadata file: the fd, -ENOENT quietly, another -errno with a warning. */
static int meta_open(struct identity *id, const char *rel, struct file_sig *sig)
{
	int fd = host_open(id, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd == -ENOENT || fd == -ENOTDIR)
		return -ENOENT;
	if (fd < 0) {
		warn_once(id, rel, strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st)) {
		warn_once(id, rel, strerror(errno));
		close(fd);
		return -EIO;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > META_MAX) {
		warn_once(id, rel,
			  S_ISREG(st.st_mode) ? "over 4 MiB, not read" : "not a regular file");
		close(fd);
		return -EINVAL;
	}
	*sig = (struct file_sig){ st.st_dev, st.st_ino, (uint64_t)st.st_size,
				  st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec };
	return fd;
}

/* The JSON object in the size bytes at fd, or NULL with a warning. */
static struct json_object *meta_parse(struct identity *id, int fd, const char *rel, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = NULL;
	char *buf = malloc(size + 1);
	ssize_t n = buf ? sf_read_full(fd, buf, size) : -ENOMEM;
	size_t end;

	if (!tok || n < 0) {
		warn_once(id, rel, strerror(tok ? (int)-n : ENOMEM));
		goto cleanup;
	}
	buf[n] = 0;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf, (int)n);
	end = root ? json_tokener_get_parse_end(tok) : 0;
	/* one object, then at most white space */
	if (!root || buf[end + strspn(buf + end, " \t\r\n")] ||
	    !json_object_is_type(root, json_type_object)) {
		warn_once(id, rel, "not a JSON object");
		json_object_put(root);
		root = NULL;
	}
cleanup:
	if (tok)
		json_tokener_free(tok);
	free(buf);
	return root;
}

static struct json_object *jget(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static const char *jstring(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

/* A name from metadata, if it fits whole and holds no control byte (the views print it). */
static void put_name(char *dst, size_t len, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= len)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return;
	memcpy(dst, s, n + 1);
}

static void meta_apply(struct json_object *root, const struct meta_src *s, struct sf_workload *w)
{
	struct json_object *l = jget(root, s->labels[0], json_type_object);
	const char *name;

	if (s->labels[1])
		l = jget(l, s->labels[1], json_type_object);
	w->container[0] = w->pod[0] = w->ns[0] = 0;
	put_name(w->container, sizeof(w->container), jstring(l, s->keys[K_CONTAINER]));
	put_name(w->pod, sizeof(w->pod), jstring(l, s->keys[K_POD]));
	put_name(w->ns, sizeof(w->ns), jstring(l, s->keys[K_NS]));
	if (!w->pod_uid[0])
		put_name(w->pod_uid, sizeof(w->pod_uid), jstring(l, s->keys[K_UID]));
	/* Docker's own name for it, "/web" */
	name = s->docker && !w->container[0] ? jstring(root, "Name") : NULL;
	put_name(w->container, sizeof(w->container), name && *name == '/' ? name + 1 : name);
}

/*
 * The names of e's container from the first runtime that knows its id. A
 * file unchanged since it was read is not read again; names once read stay
 * when the file goes (cgroup ids are not reused).
 */
static void meta_names(struct identity *id, struct entry *e)
{
	struct json_object *root;
	struct file_sig sig;
	char rel[PATH_MAX];
	int fd;

	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		snprintf(rel, sizeof(rel), "%s/%s/%s", sources[i].dir, e->w.container_id,
			 sources[i].file);
		fd = meta_open(id, rel, &sig);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return;
		/* NULL when unchanged since it was read */
		root = memcmp(&sig, &e->sig, sizeof(sig)) ? meta_parse(id, fd, rel, sig.size) :
							    NULL;
		close(fd);
		if (root) {
			meta_apply(root, &sources[i], &e->w);
			e->sig = sig;
			json_object_put(root);
		}
		return;
	}
}

static void pods_free(struct identity *id)
{
	for (size_t i = 0; i < id->npod_dirs; i++)
		free(id->pod_dirs[i]);
	id->npod_dirs = 0;
}

/* The folder names in /var/log/pods, read again when the folder changed. */
static void pods_load(struct identity *id)
{
	int fd = host_open(id, "var/log/pods", O_RDONLY | O_DIRECTORY);
	struct file_sig sig = {};
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fd >= 0 && !fstat(fd, &st))
		sig = (struct file_sig){ st.st_dev, st.st_ino, (uint64_t)st.st_size,
					 st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec };
	if (!memcmp(&sig, &id->pods_sig, sizeof(sig)) || fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pods_free(id);
	id->pods_sig = sig;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    reserve(&id->pod_dirs, &id->pod_dirs_cap, id->npod_dirs + 1, sizeof(char *)))
			continue;
		id->pod_dirs[id->npod_dirs] = strdup(de->d_name);
		id->npod_dirs += id->pod_dirs[id->npod_dirs] != NULL;
	}
	closedir(d);
}

/* The kubelet's /var/log/pods/NAMESPACE_POD_UID names a pod its runtime did not name. */
static void pod_names(struct identity *id, struct sf_workload *w)
{
	struct sf_workload p;

	if (!w->pod_uid[0] || (w->pod[0] && w->ns[0]))
		return;
	pods_load(id);
	for (size_t i = 0; i < id->npod_dirs; i++) {
		if (!sf_workload_parse_pod_dir(id->pod_dirs[i], &p) ||
		    strcmp(p.pod_uid, w->pod_uid))
			continue;
		memcpy(w->ns, p.ns, sizeof(w->ns));
		memcpy(w->pod, p.pod, sizeof(w->pod));
		return;
	}
}

static int cg_add(struct cg_index *x, uint64_t ino, const char *path)
{
	size_t len = strlen(path) + 1;

	if (reserve(&x->v, &x->cap, x->n + 1, sizeof(*x->v)) ||
	    reserve(&x->str, &x->scap, x->slen + len, 1))
		return -ENOMEM;
	memcpy(x->str + x->slen, path, len);
	x->v[x->n++] = (struct cg_row){ ino, x->slen };
	x->slen += len;
	return 0;
}

static void cg_index_free(struct cg_index *x)
{
	free(x->v);
	free(x->str);
	memset(x, 0, sizeof(*x));
}

/*
 * Adds every cgroup below the directory dfd (closed here), whose path is
 * path[0..plen). kernfs gives each entry's inode, the cgroup id, in readdir.
 */
static int cg_walk(struct cg_index *x, int dfd, char *path, size_t plen, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int ret = 0, fd;

	if (!d) {
		close(dfd);
		return 0;
	}
	while (!ret && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* a path that does not fit stays unknown rather than cut into another's */
		if (plen + 1 + n >= CGROUP_PATH_MAX)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		ret = cg_add(x, de->d_ino, path);
		if (ret || depth >= WALK_DEPTH)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			ret = cg_walk(x, fd, path, plen + 1 + n, depth + 1);
	}
	path[plen] = 0;
	closedir(d);
	return ret;
}

static int cmp_row(const void *a, const void *b)
{
	uint64_t x = ((const struct cg_row *)a)->ino, y = ((const struct cg_row *)b)->ino;

	return x < y ? -1 : x > y;
}

static int cg_rescan(struct identity *id)
{
	char path[CGROUP_PATH_MAX] = "";
	struct cg_index x = {};
	struct stat st;
	int fd, ret;

	id->cg_scan_ns = now_ns();
	if (!id->cgroot[0])
		return -ENOENT;
	fd = open(id->cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || cg_add(&x, st.st_ino, "/")) {
		close(fd);
		ret = -ENOMEM;
	} else {
		ret = cg_walk(&x, fd, path, 0, 0);
	}
	if (ret) {
		cg_index_free(&x);
		return ret;
	}
	qsort(x.v, x.n, sizeof(*x.v), cmp_row);
	cg_index_free(&id->cg);
	id->cg = x;
	return 0;
}

static const char *cg_find(const struct cg_index *x, uint64_t ino)
{
	struct cg_row key = { .ino = ino }, *r;

	r = x->n ? bsearch(&key, x->v, x->n, sizeof(key), cmp_row) : NULL;
	return r ? x->str + r->off : NULL;
}

/*
 * The kernel's own id -> cgroup lookup: a cgroup's file handle is its id, so
 * open_by_handle_at opens it at any depth, made however recently. 0, -ESTALE
 * when no such cgroup is alive, -EPERM without CAP_DAC_READ_SEARCH.
 */
static int cg_by_handle(struct identity *id, uint64_t cgid, char *out, size_t len)
{
	char buf[sizeof(struct file_handle) + sizeof(cgid)] __attribute__((aligned(8)));
	struct file_handle *fh = (struct file_handle *)buf;
	size_t n = strlen(id->cgreal);
	char link[64], path[PATH_MAX];
	ssize_t got;
	int fd;

	if (id->cgfd < 0)
		return -ENOENT;
	fh->handle_bytes = sizeof(cgid);
	fh->handle_type = FILEID_KERNFS;
	memcpy(fh->f_handle, &cgid, sizeof(cgid));
	fd = open_by_handle_at(id->cgfd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	got = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (got <= 0)
		return -ENOENT;
	path[got] = 0;
	/* below the mount as this process sees it, or not a path we can name */
	if (strncmp(path, id->cgreal, n) || (path[n] && path[n] != '/') ||
	    snprintf(out, len, "%s", path[n] ? path + n : "/") >= (int)len)
		return -ENOENT;
	return 0;
}

/*
 * The path of a cgroup id: from its file handle, else from the index, walked
 * again on a miss at most once a second.
 */
static const char *cg_path(struct identity *id, uint64_t cgid)
{
	const char *p = cg_find(&id->cg, cgid);
	int ret;

	if (p)
		return p;
	ret = cg_by_handle(id, cgid, id->handle_path, sizeof(id->handle_path));
	if (!ret)
		return id->handle_path;
	/* not alive: a walk would not find it either */
	if (ret == -ESTALE || (id->cg_scan_ns && now_ns() - id->cg_scan_ns < RESCAN_NS))
		return NULL;
	cg_rescan(id);
	return cg_find(&id->cg, cgid);
}

/* Resolves cgroup cgid into e (a new entry when NULL); path, when known, spares the index. */
static struct entry *cgroup_resolve(struct identity *id, uint64_t cgid, struct entry *e,
				    const char *path)
{
	if (!e && !(e = map_add(&id->cgroups, cgid)))
		return NULL;
	e->gen = id->gen;
	if (!e->known) {
		e->tried_ns = now_ns();
		if (!path)
			path = cg_path(id, cgid);
		if (!path)
			return e;
		sf_workload_parse_cgroup(path, &e->w);
		e->known = true;
	}
	if (e->w.container_id[0])
		meta_names(id, e);
	pod_names(id, &e->w);
	return e;
}

const struct sf_workload *identity__cgroup(struct identity *id, uint64_t cgroup_id)
{
	struct entry *e;

	if (!id || !cgroup_id)
		return &unknown;
	e = map_get(&id->cgroups, cgroup_id);
	if (e && entry_fresh(id, e))
		return &e->w;
	sf_caps_effective(true);
	e = cgroup_resolve(id, cgroup_id, e, NULL);
	sf_caps_effective(false);
	return e ? &e->w : &unknown;
}

/* Every process's network namespace, from /proc/PID/ns/net. */
static void proc_scan(struct identity *id)
{
	char path[PATH_MAX], link[64];
	struct dirent *de;
	DIR *d;

	id->npids = 0;
	id->pids_gen = id->gen;
	id->pids_scan_ns = now_ns();
	snprintf(path, sizeof(path), "%s/proc", id->root);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		unsigned int ns;
		ssize_t n;

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		snprintf(path, sizeof(path), "%lu/ns/net", pid);
		n = readlinkat(dirfd(d), path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (sscanf(link, "net:[%u]", &ns) != 1 ||
		    reserve(&id->pids, &id->pids_cap, id->npids + 1, sizeof(*id->pids)))
			continue;
		id->pids[id->npids++] = (struct pid_ns){ ns, (uint32_t)pid };
	}
	if (d)
		closedir(d);
}

static bool proc_has(const struct identity *id, uint32_t ns)
{
	for (size_t i = 0; i < id->npids; i++)
		if (id->pids[i].ns == ns)
			return true;
	return false;
}

/* A process's cgroup v2 path, the "0::" line of /proc/PID/cgroup: 0 or -errno. */
static int pid_cgroup(const struct identity *id, uint32_t pid, char *out, size_t len)
{
	char path[PATH_MAX], buf[16384];
	const char *line, *end;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/proc/%u/cgroup", id->root, pid);
	n = sf_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	line = strncmp(buf, "0::", 3) ? strstr(buf, "\n0::") : buf;
	if (!line)
		return -ENOENT;
	line += *line == '\n' ? 4 : 3;
	end = strchrnul(line, '\n');
	/* seen from another cgroup namespace ("/../.."): not a path of our hierarchy */
	if (*line != '/' || !strncmp(line, "/..", 3) || (size_t)(end - line) >= len)
		return -ENOENT;
	memcpy(out, line, (size_t)(end - line));
	out[end - line] = 0;
	return 0;
}

/*
 * The deepest cgroup holding every process in namespace ns into acc, and the
 * cgroup of one of them into first (CGROUP_PATH_MAX each): false when none.
 */
static bool netns_common(const struct identity *id, uint32_t ns, char *acc, char *first)
{
	char path[CGROUP_PATH_MAX];
	bool any = false;

	for (size_t i = 0; i < id->npids; i++) {
		if (id->pids[i].ns != ns || pid_cgroup(id, id->pids[i].pid, path, sizeof(path)))
			continue;
		if (any) {
			sf_cgroup_common_ancestor(acc, path);
		} else {
			memcpy(acc, path, sizeof(path));
			memcpy(first, path, sizeof(path));
		}
		any = true;
		if (!strcmp(acc, "/"))
			break;
	}
	return any;
}

/* The workload of a cgroup path, through the cgroup cache (names read once). */
static bool workload_of_path(struct identity *id, const char *path, struct sf_workload *w)
{
	char full[PATH_MAX + CGROUP_PATH_MAX];
	struct entry *e;
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", id->cgroot, path);
	if (!id->cgroot[0] || stat(full, &st))
		return false;
	e = map_get(&id->cgroups, st.st_ino);
	if (!e || !entry_fresh(id, e))
		e = cgroup_resolve(id, st.st_ino, e, path);
	if (!e || !e->known)
		return false;
	*w = e->w;
	return true;
}

/*
 * A pod's containers share its namespace: the pod's slice names no container,
 * but any of them names the pod (the runtime keeps the pod's name with each).
 */
static void pod_of_member(struct identity *id, const char *member, struct sf_workload *w)
{
	struct sf_workload m;

	if (!w->pod_uid[0] || w->pod[0] || !workload_of_path(id, member, &m) ||
	    strcmp(m.pod_uid, w->pod_uid))
		return;
	memcpy(w->ns, m.ns, sizeof(w->ns));
	memcpy(w->pod, m.pod, sizeof(w->pod));
}

/* The name of the bind mount of namespace ns in the folder rel, into name. */
static bool netns_mount(struct identity *id, const char *rel, uint32_t ns, char *name, size_t len)
{
	int fd = host_open(id, rel, O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool found = false;
	struct stat st;

	if (!d && fd >= 0)
		close(fd);
	while (d && !found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) ||
		    st.st_dev != id->nsfs_dev || st.st_ino != ns)
			continue;
		found = snprintf(name, len, "%s", de->d_name) < (int)len;
	}
	if (d)
		closedir(d);
	return found;
}

/* Where a container's or sandbox's configuration puts its network namespace. */
static const char *netns_path(struct json_object *root, const struct meta_src *s)
{
	struct json_object *ns;

	if (s->docker)
		return jstring(jget(root, "NetworkSettings", json_type_object), "SandboxKey");
	ns = jget(jget(root, "linux", json_type_object), "namespaces", json_type_array);
	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		struct json_object *o = json_object_array_get_idx(ns, i);
		const char *type = jstring(o, "type");

		if (type && !strcmp(type, "network"))
			return jstring(o, "path");
	}
	return NULL;
}

/* Reads DIR/ID/FILE of source s; true when its namespace is the mount name. */
static bool meta_netns(struct identity *id, const struct meta_src *s, const char *cid,
		       const char *name, struct sf_workload *w)
{
	struct json_object *root = NULL;
	const char *path, *base;
	struct file_sig sig;
	char rel[PATH_MAX];
	bool found = false;
	int fd;

	if (strlen(cid) != 64 || strspn(cid, "0123456789abcdef") != 64)
		return false;
	snprintf(rel, sizeof(rel), "%s/%s/%s", s->dir, cid, s->file);
	fd = meta_open(id, rel, &sig);
	if (fd >= 0) {
		root = meta_parse(id, fd, rel, sig.size);
		close(fd);
	}
	path = netns_path(root, s);
	base = path ? strrchr(path, '/') : NULL;
	if (base && !strcmp(base + 1, name)) {
		meta_apply(root, s, w);
		/* a Docker container; a Kubernetes sandbox (the pod) has no workload of its own */
		if (s->docker)
			memcpy(w->container_id, cid, sizeof(w->container_id));
		else
			w->container[0] = 0;
		found = true;
	}
	json_object_put(root);
	return found;
}

/*
 * The owner of the namespace bind-mounted as name: the Kubernetes sandbox
 * whose configuration names /run/netns/NAME, or the Docker container whose
 * SandboxKey is /var/run/docker/netns/NAME.
 */
static void netns_owner(struct identity *id, const char *name, bool docker, struct sf_workload *w)
{
	struct dirent *de;
	bool found = false;

	for (size_t i = 0; i < ARRAY_SIZE(sources) && !found; i++) {
		int fd = sources[i].docker == docker ?
				 host_open(id, sources[i].dir, O_RDONLY | O_DIRECTORY) :
				 -ENOENT;
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

		if (!d && fd >= 0)
			close(fd);
		while (d && !found && (de = readdir(d)))
			found = meta_netns(id, &sources[i], de->d_name, name, w);
		if (d)
			closedir(d);
	}
}

static struct entry *netns_resolve(struct identity *id, uint32_t ns, struct entry *e)
{
	char common[CGROUP_PATH_MAX], first[CGROUP_PATH_MAX], name[NAME_MAX + 1];

	if (!e && !(e = map_add(&id->netns, ns)))
		return NULL;
	memset(&e->w, 0, sizeof(e->w));
	e->gen = id->gen;
	e->tried_ns = now_ns();
	e->known = false;
	if (id->pids_gen != id->gen ||
	    (!proc_has(id, ns) && e->tried_ns - id->pids_scan_ns >= RESCAN_NS))
		proc_scan(id);
	if (netns_common(id, ns, common, first)) {
		e->known = workload_of_path(id, common, &e->w);
		pod_of_member(id, first, &e->w);
	} else if (netns_mount(id, "run/netns", ns, name, sizeof(name))) {
		/* a mount is an answer, even when no runtime claims it (ip netns add) */
		netns_owner(id, name, false, &e->w);
		e->known = true;
	} else if (netns_mount(id, "var/run/docker/netns", ns, name, sizeof(name))) {
		netns_owner(id, name, true, &e->w);
		e->known = true;
	}
	pod_names(id, &e->w);
	return e;
}

const struct sf_workload *identity__netns(struct identity *id, uint32_t netns_ino)
{
	struct entry *e;

	if (!id || !netns_ino)
		return &unknown;
	e = map_get(&id->netns, netns_ino);
	if (e && entry_fresh(id, e))
		return &e->w;
	sf_caps_effective(true);
	e = netns_resolve(id, netns_ino, e);
	sf_caps_effective(false);
	return e ? &e->w : &unknown;
}

void identity__refresh(struct identity *id)
{
	if (!id)
		return;
	/* what nobody asked for since the last refresh goes: dead cgroups, gone namespaces */
	map_rebuild(&id->cgroups, id->cgroups.cap, id->gen);
	map_rebuild(&id->netns, id->netns.cap, id->gen);
	id->gen++;
}

static int set_root(struct identity *id, const char *host_root, char *err, size_t errlen)
{
	size_t n = host_root ? strlen(host_root) : 0;

	while (n && host_root[n - 1] == '/')
		n--;
	if (n >= sizeof(id->root)) {
		snprintf(err, errlen, "--host-root: path too long");
		return -ENAMETOOLONG;
	}
	memcpy(id->root, host_root ? host_root : "", n);
	id->root[n] = 0;
	id->rootfd = open(n ? id->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (id->rootfd < 0) {
		snprintf(err, errlen, "--host-root %s: %s", host_root, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Pure cgroup v2 hosts mount it at /sys/fs/cgroup, hybrid ones at /sys/fs/cgroup/unified. */
static void find_cgroot(struct identity *id)
{
	static const char *const where[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sfs;

	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		snprintf(id->cgroot, sizeof(id->cgroot), "%s%s", id->root, where[i]);
		if (statfs(id->cgroot, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC ||
		    !realpath(id->cgroot, id->cgreal))
			continue;
		id->cgfd = open(id->cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return;
	}
	id->cgroot[0] = 0;
}

int identity__new(struct identity **out, const char *host_root, char *err, size_t errlen)
{
	struct identity *id = calloc(1, sizeof(*id));
	struct stat st;
	int ret;

	*out = NULL;
	if (!id)
		return -ENOMEM;
	id->gen = 1;
	id->cgfd = -1;
	ret = set_root(id, host_root, err, errlen);
	if (ret) {
		free(id);
		return ret;
	}
	find_cgroot(id);
	/* one nsfs for every namespace: tells a namespace's bind mount from a plain file */
	if (!stat("/proc/self/ns/net", &st))
		id->nsfs_dev = st.st_dev;
	*out = id;
	return 0;
}

void identity__free(struct identity *id)
{
	if (!id)
		return;
	map_clear(&id->cgroups);
	map_clear(&id->netns);
	cg_index_free(&id->cg);
	free(id->pids);
	pods_free(id);
	free(id->pod_dirs);
	close(id->rootfd);
	if (id->cgfd >= 0)
		close(id->cgfd);
	free(id);
}
