// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The rings are read here rather than through libbpf's ring_buffer, which
 * gives a record's space back as soon as its callback returns: an event must
 * stay where it is until the merge lets it go, so that nothing is copied.
 * The layout is the kernel's (kernel/bpf/ringbuf.c): a page holding the
 * consumer position, mapped writable, then a page holding the producer
 * position and the data pages mapped twice in a row, read-only; each record
 * is an 8-byte header (its length, with busy and discard bits) and the
 * event, 8-byte aligned.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "fdio.h"
#include "merge.h"
#include "parse.h"
#include "rings.h"

/*
 * A CPU whose ring was found empty queues nothing stamped before the time read
 * before that look (sf_mono_ns()): a program stamps an event after reserving
 * its record. This much is kept in hand for the reader's clock and the
 * programs' (bpf_ktime_get_ns()) to disagree by.
 */
#define EMPTY_SLACK_NS 100000ull
#define TRIM_NS 1000000000ull
/* events read from a ring at a time, before what they let through leaves */
#define SLICE 64
/* milliseconds the last poll waits for runs caught filling a record at detach */
#define SEAL_TRIES 100
/* an event's record spans this many cache lines, read this far ahead */
#define RECORD_LINES ((SF_RING_RECORD_SIZE + 63) / 64)
#define PREFETCH_AHEAD (8 * SF_RING_RECORD_SIZE)

struct cpu_ring {
	uint64_t *cons; /* the consumer position, which the kernel reads */
	const uint64_t *prod;
	const char *data; /* NULL: the CPU was offline, it has no ring */
	uint64_t mask;
	uint64_t read; /* where the next record starts: the consumer position trails it */
	uint64_t last_ts; /* the newest event read from it */
	uint64_t bound; /* with more: the least time an event still in it can carry */
	bool more; /* an event waits at read */
	int fd;
};

struct rings {
	struct cpu_ring *cpu;
	struct sf_merge *merge;
	unsigned int ncpus;
	int epfd;
	size_t page, size;
	uint64_t trimmed_at;
	uint64_t before; /* the time read before the last look at the rings */
	unsigned int online; /* CPUs with a ring */
	bool behind; /* the last poll left events to read */
	bool sealed;
	tracer_event_fn fn;
	void *ctx;
};

static int ring_map(struct rings *r, struct cpu_ring *c)
{
	void *p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	c->cons = p;
	p = mmap(NULL, r->page + 2 * r->size, PROT_READ, MAP_SHARED, c->fd, (off_t)r->page);
	if (p == MAP_FAILED)
		return -errno;
	c->prod = p;
	c->data = (const char *)p + r->page;
	c->mask = r->size - 1;
	c->read = *c->cons;
	return 0;
}

/*
 * Edge-triggered: the ring reports data while its consumer position trails
 * its producer's, which it does whenever events wait in the merge.
 */
static int ring_add(struct rings *r, int outer_fd, unsigned int i)
{
	struct cpu_ring *c = &r->cpu[i];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = i };
	int ret;

	c->fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "sf_ring", 0, 0, (__u32)r->size, NULL);
	if (c->fd < 0)
		return -errno;
	ret = ring_map(r, c);
	if (ret)
		return ret;
	if (bpf_map_update_elem(outer_fd, &i, &c->fd, BPF_ANY) ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		return -errno;
	return 0;
}

int sf_cpus_online(bool **online, unsigned int *span, unsigned int *count)
{
	char buf[4096];
	ssize_t n = sf_read_small("/sys/devices/system/cpu/online", buf, sizeof(buf));
	int possible = libbpf_num_possible_cpus(), ret;

	if (n < 0 || possible < 0)
		return n < 0 ? (int)n : possible;
	/* a list that filled the buffer may go on past it */
	if ((size_t)n == sizeof(buf) - 1)
		return -E2BIG;
	*online = calloc((size_t)possible, sizeof(**online));
	if (!*online)
		return -ENOMEM;
	*span = (unsigned int)possible;
	ret = sf_parse_cpu_list(buf, *online, *span, count);
	if (ret) {
		free(*online);
		*online = NULL;
	}
	return ret;
}

int rings__new(struct rings **out, int outer_fd, const bool *online, unsigned int span, size_t size,
	       tracer_event_fn fn, void *ctx)
{
	struct rings *r = calloc(1, sizeof(*r));
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
	r->fn = fn;
	r->ctx = ctx;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = size;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->cpu = calloc(span, sizeof(*r->cpu));
	if (r->epfd < 0 || !r->cpu || sf_merge__new(&r->merge, span)) {
		ret = r->epfd < 0 ? -errno : -ENOMEM;
		goto cleanup;
	}
	for (r->ncpus = 0; r->ncpus < span; r->ncpus++) {
		r->cpu[r->ncpus].fd = -1;
		/* nothing will come from a CPU without a ring: it holds nothing back */
		if (!online[r->ncpus]) {
			sf_merge__advance(r->merge, r->ncpus, UINT64_MAX);
			continue;
		}
		ret = ring_add(r, outer_fd, r->ncpus);
		if (ret) {
			r->ncpus++;
			goto cleanup;
		}
		r->online++;
	}
	*out = r;
	return 0;
cleanup:
	rings__free(r);
	return ret;
}

/* The footprint of the record whose length word is len, busy and discard bits aside. */
static uint64_t footprint(uint32_t len)
{
	return SF_RING_FOOTPRINT(len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT));
}

/* The length word of the record at position at, as its producer left it. */
static uint32_t record_len(const struct cpu_ring *c, uint64_t at)
{
	return __atomic_load_n((const uint32_t *)(c->data + (at & c->mask)), __ATOMIC_ACQUIRE);
}

static const struct sf_event *record_event(const struct cpu_ring *c, uint64_t at)
{
	return (const void *)(c->data + (at & c->mask) + BPF_RINGBUF_HDR_SZ);
}

/* Whether the record at position at holds an event; a discarded or short one is passed over. */
static bool record_full(uint32_t len)
{
	return !(len & BPF_RINGBUF_DISCARD_BIT) && len >= sizeof(struct sf_event);
}

/*
 * Whether an event waits at c->read, and then the least time it or any later
 * one of c can carry: its own, or that of a run nested in its run before it
 * read the clock, which follows it in the ring stamped earlier. Anything
 * after those was reserved after it was stamped.
 */
static bool ring_peek(struct cpu_ring *c, uint64_t *least)
{
	uint64_t prod = __atomic_load_n(c->prod, __ATOMIC_ACQUIRE), at, head;
	uint32_t len;

	for (;; c->read += footprint(len)) {
		if (c->read == prod)
			return false;
		len = record_len(c, c->read);
		if (len & BPF_RINGBUF_BUSY_BIT)
			return false;
		if (record_full(len))
			break;
	}
	/*
	 * The runs nested in its run reserved their records before it was
	 * filled: now that it is, the producer position read again covers them
	 */
	prod = __atomic_load_n(c->prod, __ATOMIC_ACQUIRE);
	head = record_event(c, c->read)->ts_ns;
	*least = head;
	for (at = c->read + footprint(len); at < prod; at += footprint(len)) {
		uint64_t ts;

		len = record_len(c, at);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!record_full(len))
			continue;
		ts = record_event(c, at)->ts_ns;
		if (ts >= head)
			break;
		if (ts < *least)
			*least = ts;
	}
	return true;
}

/*
 * How far CPU i's events are all in hand: up to the least time an event
 * waiting in its ring can carry; with none waiting, past the newest event read
 * (a record reserved now, or one being filled, comes after every record read
 * had been filled: a run nested in another fills its record before the other
 * goes on), and when the ring is empty past the time read before the look.
 */
static void ring_look(struct rings *r, unsigned int i)
{
	struct cpu_ring *c = &r->cpu[i];
	uint64_t bound = c->last_ts;

	c->more = ring_peek(c, &c->bound);
	if (c->more) {
		bound = c->bound;
	} else if (c->read == __atomic_load_n(c->prod, __ATOMIC_ACQUIRE) &&
		   r->before > EMPTY_SLACK_NS && r->before - EMPTY_SLACK_NS > bound) {
		bound = r->before - EMPTY_SLACK_NS;
	}
	sf_merge__advance(r->merge, i, bound);
}

/* Up to SLICE events of CPU i into the merge, in place. Returns how many, or -errno. */
static int ring_slice(struct rings *r, unsigned int i)
{
	struct cpu_ring *c = &r->cpu[i];
	uint64_t prod = __atomic_load_n(c->prod, __ATOMIC_ACQUIRE);
	int n = 0, ret;

	while (n < SLICE && c->read < prod) {
		uint64_t at = c->read;
		uint32_t len = record_len(c, at);
		const struct sf_event *e = record_event(c, at);

		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		c->read += footprint(len);
		if (!record_full(len))
			continue;
		/* the lines of records further on, while this one is handled; not
		 * those a producer is yet to write, which would move them here */
		for (size_t l = 0; at + PREFETCH_AHEAD < prod && l < RECORD_LINES; l++)
			__builtin_prefetch(c->data + ((at + PREFETCH_AHEAD + 64 * l) & c->mask));
		ret = sf_merge__push(r->merge, i, e->ts_ns, at);
		if (ret)
			return ret;
		if (e->ts_ns > c->last_ts)
			c->last_ts = e->ts_ns;
		n++;
	}
	ring_look(r, i);
	return n;
}

static int give_event(void *ctx, unsigned int queue, uint64_t ref)
{
	struct rings *r = ctx;

	return r->fn(r->ctx, record_event(&r->cpu[queue], ref));
}

/* Each ring's space up to the first event still waiting in the merge goes back to the kernel. */
static void rings_give_back(struct rings *r)
{
	for (unsigned int i = 0; i < r->ncpus; i++) {
		struct cpu_ring *c = &r->cpu[i];
		uint64_t cons;

		if (!c->data)
			continue;
		cons = sf_merge__least_ref(r->merge, i, c->read);
		if (cons != *c->cons)
			__atomic_store_n(c->cons, cons, __ATOMIC_RELEASE);
	}
}

/* Looks again at the rings (those with nothing waiting, with blocked_only) with the time now. */
static void rings_look(struct rings *r, bool blocked_only)
{
	r->before = sf_mono_ns();
	for (unsigned int i = 0; i < r->ncpus; i++)
		if (r->cpu[i].data && !(blocked_only && r->cpu[i].more))
			ring_look(r, i);
}

/* The CPU with an event waiting whose watermark is the least, or ncpus. */
static unsigned int rings_laggard(const struct rings *r)
{
	unsigned int lag = r->ncpus;
	uint64_t low = UINT64_MAX;

	for (unsigned int i = 0; i < r->ncpus; i++) {
		if (r->cpu[i].more && r->cpu[i].bound < low) {
			low = r->cpu[i].bound;
			lag = i;
		}
	}
	return lag;
}

/*
 * Releases, then reads a slice of the CPU whose events hold the others back,
 * until every ring is read up to a record being filled or its end, or a
 * ring's worth of each has been read (the rest waits for the next poll, which
 * then does not wait): the events leave warm from the read, and the merge
 * holds little. A CPU found with nothing waiting is looked at again when
 * nothing could be released, as it may be what holds the others back.
 */
static int rings_merge(struct rings *r)
{
	size_t budget = r->online * (r->size / SF_RING_RECORD_SIZE);
	bool fresh = true;
	int count = 0, ret;

	rings_look(r, false);
	for (;;) {
		unsigned int lag;

		ret = sf_merge__release(r->merge, sf_merge__watermark(r->merge), give_event, r);
		if (ret < 0)
			return ret;
		count += ret;
		/* the producers go on meanwhile: they need the space */
		if (ret) {
			rings_give_back(r);
		} else if (!fresh) {
			rings_look(r, true);
			fresh = true;
			continue;
		}
		lag = rings_laggard(r);
		r->behind = lag < r->ncpus && !budget;
		if (lag == r->ncpus || r->behind)
			return count;
		ret = ring_slice(r, lag);
		if (ret < 0)
			return ret;
		budget -= (size_t)ret < budget ? (size_t)ret : budget;
		fresh = false;
	}
}

/* Whether a run is still filling the record a ring is read up to. */
static bool rings_busy(const struct rings *r)
{
	for (unsigned int i = 0; i < r->ncpus; i++) {
		const struct cpu_ring *c = &r->cpu[i];

		if (c->data && c->read != __atomic_load_n(c->prod, __ATOMIC_ACQUIRE) &&
		    (record_len(c, c->read) & BPF_RINGBUF_BUSY_BIT))
			return true;
	}
	return false;
}

/*
 * Sealed, every event leaves: after the runs still filling a record have
 * finished (they were running when the programs were detached), and even
 * when the merge failed on the way.
 */
static int rings_finish(struct rings *r, int ret)
{
	int all;

	for (int tries = 0; ret >= 0 && rings_busy(r) && tries < SEAL_TRIES; tries++) {
		usleep(1000);
		all = rings_merge(r);
		ret = all < 0 ? all : ret + all;
	}
	all = sf_merge__release(r->merge, UINT64_MAX, give_event, r);
	return ret < 0 ? ret : all < 0 ? all : ret + all;
}

int rings__poll(struct rings *r, int timeout_ms)
{
	/* which rings woke it does not matter: every ring is looked at */
	struct epoll_event ready[8];
	int n = (int)(sizeof(ready) / sizeof(ready[0])), ret;

	if (epoll_wait(r->epfd, ready, n, r->behind ? 0 : timeout_ms) < 0 && errno != EINTR)
		return -errno;
	ret = rings_merge(r);
	if (r->sealed)
		ret = rings_finish(r, ret);
	rings_give_back(r);
	if (r->before - r->trimmed_at >= TRIM_NS) {
		sf_merge__trim(r->merge);
		r->trimmed_at = r->before;
	}
	return ret;
}

void rings__seal(struct rings *r)
{
	r->sealed = true;
}

void rings__free(struct rings *r)
{
	if (!r)
		return;
	for (unsigned int i = 0; i < r->ncpus; i++) {
		struct cpu_ring *c = &r->cpu[i];

		if (c->cons)
			munmap(c->cons, r->page);
		if (c->prod)
			munmap((void *)c->prod, r->page + 2 * r->size);
		if (c->fd >= 0)
			close(c->fd);
	}
	if (r->epfd >= 0)
		close(r->epfd);
	sf_merge__free(r->merge);
	free(r->cpu);
	free(r);
}
