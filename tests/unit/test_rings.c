// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The ring reader over rings of ordinary memory laid out as the kernel lays
 * out a BPF ring buffer (a consumer and a producer position, the data pages
 * mapped twice in a row, records with busy and discard bits), filled by the
 * test as the programs would fill them. rings.c is compiled into the test so
 * that its rings can be built without the bpf() calls that make real ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>
#include "../../src/sys/rings.c"

/* the smallest ring synfin makes (a page): 20 records of 200 bytes */
#define RING_SIZE 4096ul
#define NCPUS 2
#define MAX_SEEN 256

struct fake {
	struct rings *r;
	uint64_t cons[NCPUS], prod[NCPUS];
	void *area[NCPUS];
	uint64_t seen[MAX_SEEN]; /* the times handed over, in order */
	size_t nseen;
	uint64_t now; /* the events' clock when the fake was made */
};

static int collect(void *ctx, const struct sf_event *e)
{
	struct fake *f = ctx;

	assert_true(f->nseen < MAX_SEEN);
	f->seen[f->nseen++] = e->ts_ns;
	return 0;
}

/* size bytes of data mapped twice in a row, as the kernel maps a ring's data pages */
static void *double_map(size_t size)
{
	int fd = memfd_create("ring", 0);
	char *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	p = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_true(mmap(p, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == p);
	assert_true(mmap(p + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    p + size);
	close(fd);
	return p;
}

static void fake_init(struct fake *f, uint64_t start)
{
	memset(f, 0, sizeof(*f));
	f->r = calloc(1, sizeof(*f->r));
	assert_non_null(f->r);
	f->r->fn = collect;
	f->r->ctx = f;
	f->r->size = RING_SIZE;
	f->r->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->r->cpu = calloc(NCPUS, sizeof(*f->r->cpu));
	assert_non_null(f->r->cpu);
	assert_int_equal(sf_merge__new(&f->r->merge, NCPUS), 0);
	f->r->ncpus = f->r->online = NCPUS;
	for (unsigned int i = 0; i < NCPUS; i++) {
		struct cpu_ring *c = &f->r->cpu[i];

		f->area[i] = double_map(RING_SIZE);
		f->cons[i] = f->prod[i] = start;
		c->fd = -1;
		c->cons = &f->cons[i];
		c->prod = &f->prod[i];
		c->data = f->area[i];
		c->mask = RING_SIZE - 1;
		c->read = start;
	}
	f->now = sf_mono_ns();
}

static void fake_free(struct fake *f)
{
	for (unsigned int i = 0; i < NCPUS; i++) {
		munmap(f->area[i], 2 * RING_SIZE);
		f->r->cpu[i].cons = NULL;
		f->r->cpu[i].prod = NULL;
	}
	rings__free(f->r);
}

/* Reserves a record on CPU cpu as bpf_ringbuf_reserve() does: busy, at the producer position. */
static uint64_t reserve(struct fake *f, unsigned int cpu, uint32_t len)
{
	uint64_t at = f->prod[cpu];

	*(uint32_t *)((char *)f->area[cpu] + (at & (RING_SIZE - 1))) = len | BPF_RINGBUF_BUSY_BIT;
	f->prod[cpu] = at + footprint(len);
	return at;
}

/* Fills the record at at with an event stamped ts and commits it (or discards it). */
static void commit(struct fake *f, unsigned int cpu, uint64_t at, uint64_t ts, bool discard)
{
	char *rec = (char *)f->area[cpu] + (at & (RING_SIZE - 1));
	uint32_t len = *(uint32_t *)rec & ~BPF_RINGBUF_BUSY_BIT;
	struct sf_event *e = (struct sf_event *)(rec + BPF_RINGBUF_HDR_SZ);

	memset(e, 0, len);
	if (len >= sizeof(*e)) {
		e->ts_ns = ts;
		e->cpu = (uint16_t)cpu;
	}
	*(uint32_t *)rec = len | (discard ? BPF_RINGBUF_DISCARD_BIT : 0);
}

static void put(struct fake *f, unsigned int cpu, uint64_t ts)
{
	commit(f, cpu, reserve(f, cpu, sizeof(struct sf_event)), ts, false);
}

static void assert_seen(const struct fake *f, const uint64_t *want, size_t n)
{
	assert_int_equal(f->nseen, n);
	for (size_t i = 0; i < n; i++)
		assert_true(f->seen[i] == want[i]);
}

/* The CPUs' events interleaved in time leave in time order, and their space goes back. */
static void test_interleaved(void **state)
{
	const uint64_t want[] = { 1, 2, 3, 4, 5, 6 };
	struct fake f;

	(void)state;
	fake_init(&f, 0);
	put(&f, 0, f.now - 10000000 + 1);
	put(&f, 0, f.now - 10000000 + 4);
	put(&f, 0, f.now - 10000000 + 5);
	put(&f, 1, f.now - 10000000 + 2);
	put(&f, 1, f.now - 10000000 + 3);
	put(&f, 1, f.now - 10000000 + 6);
	assert_true(rings__poll(f.r, 0) == 6);
	for (size_t i = 0; i < f.nseen; i++)
		f.seen[i] -= f.now - 10000000;
	assert_seen(&f, want, 6);
	assert_true(f.cons[0] == f.prod[0] && f.cons[1] == f.prod[1]);
	fake_free(&f);
}

/* A poll takes a ring's worth of each CPU's events, however small the rings. */
static void test_full_rings(void **state)
{
	const unsigned int per_cpu = RING_SIZE / SF_RING_RECORD_SIZE;
	struct fake f;
	uint64_t t;

	(void)state;
	fake_init(&f, 0);
	t = f.now - 10000000;
	for (unsigned int i = 0; i < 2 * per_cpu; i++)
		put(&f, i % 2, t + i);
	assert_true(rings__poll(f.r, 0) == (int)(2 * per_cpu));
	for (unsigned int i = 0; i < 2 * per_cpu; i++)
		assert_true(f.seen[i] == t + i);
	assert_true(f.cons[0] == f.prod[0] && f.cons[1] == f.prod[1]);
	fake_free(&f);
}

/*
 * A run nested in another's on CPU 0 (reserved after it, stamped before it)
 * leaves before it, and before what CPU 1 stamped between the two.
 */
static void test_nested(void **state)
{
	const uint64_t base = 1000;
	struct fake f;
	uint64_t outer, nested, least;

	(void)state;
	fake_init(&f, 0);
	outer = reserve(&f, 0, sizeof(struct sf_event));
	nested = reserve(&f, 0, sizeof(struct sf_event));
	commit(&f, 0, nested, base + 5, false);
	commit(&f, 0, outer, base + 10, false);
	put(&f, 0, base + 20);
	put(&f, 1, base + 7);
	/* CPU 0 can still hand over something stamped at base + 5, not only base + 10 */
	assert_true(ring_peek(&f.r->cpu[0], &least));
	assert_true(least == base + 5);
	rings__poll(f.r, 0);
	{
		const uint64_t want[] = { base + 5, base + 7, base + 10, base + 20 };

		assert_seen(&f, want, 4);
	}
	fake_free(&f);
}

/*
 * A record still being filled on CPU 0 holds back CPU 1's later events (the
 * run filling it may stamp anything after CPU 0's newest), and what is held
 * keeps its space in its ring; once committed, everything leaves in order.
 */
static void test_busy(void **state)
{
	struct fake f;
	uint64_t at;

	(void)state;
	fake_init(&f, 0);
	put(&f, 0, 100);
	at = reserve(&f, 0, sizeof(struct sf_event));
	put(&f, 1, 90);
	put(&f, 1, 150);
	put(&f, 1, 300);
	rings__poll(f.r, 0);
	{
		const uint64_t want[] = { 90 };

		assert_seen(&f, want, 1);
	}
	assert_true(f.cons[0] == 0);
	assert_true(f.cons[1] == footprint(sizeof(struct sf_event)));
	commit(&f, 0, at, 200, false);
	put(&f, 0, f.now - 1000000);
	put(&f, 1, f.now - 1000000 + 1);
	rings__poll(f.r, 0);
	{
		const uint64_t want[] = { 90, 100, 150, 200, 300, f.now - 1000000, f.now - 999999 };

		assert_seen(&f, want, 7);
	}
	fake_free(&f);
}

/* Discarded and short records are passed over; records that wrap the ring's end are read whole. */
static void test_discard_and_wrap(void **state)
{
	struct fake f;
	uint64_t t;

	(void)state;
	fake_init(&f, 4 * RING_SIZE - 64);
	t = f.now - 5000000;
	put(&f, 0, t + 1); /* straddles the end of the data pages */
	commit(&f, 0, reserve(&f, 0, sizeof(struct sf_event)), t + 2, true);
	commit(&f, 0, reserve(&f, 0, 8), t + 3, false);
	put(&f, 0, t + 4);
	put(&f, 1, t + 5);
	rings__poll(f.r, 0);
	{
		const uint64_t want[] = { t + 1, t + 4, t + 5 };

		assert_seen(&f, want, 3);
	}
	assert_true(f.cons[0] == f.prod[0]);
	fake_free(&f);
}

/*
 * An empty ring holds nothing back that is older than the reader's look at
 * it, less the slack for the two clocks; nothing newer leaves.
 */
static void test_empty_ring(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, 0);
	put(&f, 1, f.now - 1000000);
	put(&f, 1, f.now + 1000000000);
	rings__poll(f.r, 0);
	assert_int_equal(f.nseen, 1);
	assert_true(f.seen[0] == f.now - 1000000);
	fake_free(&f);
}

/* Sealed, the last poll waits for a record being filled, then hands over every event. */
static void test_seal(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, 0);
	put(&f, 0, f.now + 1000000000);
	reserve(&f, 0, sizeof(struct sf_event));
	put(&f, 1, f.now + 2000000000);
	rings__seal(f.r);
	assert_true(rings__poll(f.r, 0) == 2);
	{
		const uint64_t want[] = { f.now + 1000000000, f.now + 2000000000 };

		assert_seen(&f, want, 2);
	}
	fake_free(&f);
}

/*
 * The BPF side wakes the reader at every multiple of its threshold that
 * queued records pass, wherever the records begin: records of 200 bytes
 * tiled the ring so that one multiple in 25 fell where a record began, and
 * no record woke the reader for it.
 */
static void test_wakeups(void **state)
{
	const uint64_t wakeup = RING_SIZE / 2;

	(void)state;
	for (uint64_t origin = 0; origin < wakeup; origin += 8) {
		unsigned int passed = 0, woken = 0;

		for (uint64_t at = origin; at < origin + 100 * wakeup; at += SF_RING_RECORD_SIZE) {
			passed += (at + SF_RING_RECORD_SIZE - 1) / wakeup != (at - 1) / wakeup;
			woken += sf_ring_crosses(at, SF_RING_RECORD_SIZE, wakeup);
		}
		assert_int_equal(woken, passed);
		assert_true(passed >= 99);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved),	 cmocka_unit_test(test_full_rings),
		cmocka_unit_test(test_nested),		 cmocka_unit_test(test_busy),
		cmocka_unit_test(test_discard_and_wrap), cmocka_unit_test(test_empty_ring),
		cmocka_unit_test(test_wakeups),		 cmocka_unit_test(test_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
