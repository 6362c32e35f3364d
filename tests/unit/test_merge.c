// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The merge of the CPUs' rings (src/core/merge.c): events leave in
 * time order across CPUs, only below the watermark, an event queued ahead of
 * older ones of its CPU takes its place, and queues grow and slide without
 * losing any.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "merge.h"

struct seen {
	uint64_t ts[4096];
	uint16_t cpu[4096];
	uint64_t seq[4096];
	size_t n;
	size_t stop_at; /* fail the call with this index: 0 never */
};

/* refs carry their event's time and the order they were pushed in */
static uint64_t pushed;

static int collect(void *ctx, unsigned int queue, uint64_t ref)
{
	struct seen *s = ctx;

	s->ts[s->n] = ref >> 20;
	s->seq[s->n] = ref & 0xfffff;
	s->cpu[s->n] = (uint16_t)queue;
	s->n++;
	return s->stop_at && s->n == s->stop_at ? -EIO : 0;
}

static void push(struct sf_merge *m, uint16_t cpu, uint64_t ts)
{
	assert_int_equal(sf_merge__push(m, cpu, ts, ts << 20 | pushed++), 0);
}

/* The times handed over were want's n, in that order. */
static void assert_times(const struct seen *s, const uint64_t *want, size_t n)
{
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->ts[i], want[i]);
}

static struct sf_merge *merge_new(unsigned int ncpus)
{
	struct sf_merge *m = NULL;

	assert_int_equal(sf_merge__new(&m, ncpus), 0);
	return m;
}

static void test_order_across_cpus(void **state)
{
	struct sf_merge *m = merge_new(3);
	struct seen s = { 0 };
	const uint64_t want[] = { 5, 10, 15, 20, 25, 30, 40 };

	(void)state;
	push(m, 0, 10);
	push(m, 0, 20);
	push(m, 0, 30);
	push(m, 1, 5);
	push(m, 1, 25);
	push(m, 2, 15);
	push(m, 2, 40);
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, &s), 7);
	assert_times(&s, want, 7);
	assert_int_equal(sf_merge__queued(m), 0);
	sf_merge__free(m);
}

static void test_watermark(void **state)
{
	struct sf_merge *m = merge_new(2);
	struct seen s = { 0 };

	(void)state;
	push(m, 0, 10);
	push(m, 0, 30);
	push(m, 1, 20);
	push(m, 1, 29);
	/* strictly below: 30 waits */
	assert_int_equal(sf_merge__release(m, 30, collect, &s), 3);
	assert_int_equal(s.ts[2], 29);
	assert_int_equal(sf_merge__queued(m), 1);
	/* what arrives later still goes before what waits */
	push(m, 1, 30);
	push(m, 1, 31);
	assert_int_equal(sf_merge__release(m, 31, collect, &s), 2);
	assert_int_equal(s.ts[3], 30);
	assert_int_equal(s.cpu[3], 0);
	assert_int_equal(s.cpu[4], 1);
	assert_int_equal(sf_merge__release(m, 0, collect, &s), 0);
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, &s), 1);
	assert_int_equal(s.ts[5], 31);
	sf_merge__free(m);
}

/* Runs nested in a run stamped later come after it in the ring: they move ahead of it. */
static void test_insert_from_back(void **state)
{
	struct sf_merge *m = merge_new(1);
	struct seen s = { 0 };
	const uint64_t want[] = { 10, 20, 20, 50, 60 };

	(void)state;
	push(m, 0, 50);
	push(m, 0, 10);
	push(m, 0, 20);
	push(m, 0, 20);
	push(m, 0, 60);
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, &s), 5);
	assert_times(&s, want, 5);
	sf_merge__free(m);
}

/* Equal times: by CPU, then in the order queued. */
static void test_ties(void **state)
{
	struct sf_merge *m = merge_new(2);
	struct seen s = { 0 };

	(void)state;
	push(m, 1, 7);
	push(m, 1, 7);
	push(m, 0, 7);
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, &s), 3);
	assert_int_equal(s.cpu[0], 0);
	assert_int_equal(s.cpu[1], 1);
	assert_int_equal(s.cpu[2], 1);
	assert_true(s.seq[1] < s.seq[2]);
	sf_merge__free(m);
}

/* Thousands queued and released in rounds: queues grow and slide, nothing lost or reordered. */
static void test_growth_and_rounds(void **state)
{
	struct sf_merge *m = merge_new(4);
	struct seen *s = calloc(1, sizeof(*s));
	uint64_t ts = 0, below = 0;
	size_t total = 0;
	int n;

	(void)state;
	assert_non_null(s);
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 600; i++, ts += 3)
			push(m, (uint16_t)(i % 4), ts);
		below = ts - 300;
		s->n = 0;
		n = sf_merge__release(m, below, collect, s);
		assert_true(n > 0);
		for (size_t i = 1; i < s->n; i++)
			assert_true(s->ts[i - 1] < s->ts[i]);
		assert_true(s->ts[s->n - 1] < below);
		total += (size_t)n;
	}
	s->n = 0;
	total += (size_t)sf_merge__release(m, UINT64_MAX, collect, s);
	assert_int_equal(total, 3600);
	assert_int_equal(sf_merge__queued(m), 0);
	free(s);
	sf_merge__free(m);
}

/* A failing callback stops the release; the rest stays queued. */
static void test_callback_error(void **state)
{
	struct sf_merge *m = merge_new(2);
	struct seen s = { .stop_at = 2 };

	(void)state;
	push(m, 0, 1);
	push(m, 1, 2);
	push(m, 0, 3);
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, &s), -EIO);
	assert_int_equal(sf_merge__queued(m), 1);
	s.stop_at = 0;
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, &s), 1);
	assert_int_equal(s.ts[2], 3);
	sf_merge__free(m);
}

/* A queue that does not exist takes nothing and moves no watermark. */
static void test_queue_out_of_range(void **state)
{
	struct sf_merge *m = merge_new(2);

	(void)state;
	assert_int_equal(sf_merge__push(m, 2, 1, 1), -EINVAL);
	sf_merge__advance(m, 0, 10);
	sf_merge__advance(m, 2, 20);
	assert_int_equal(sf_merge__watermark(m), 0);
	assert_int_equal(sf_merge__queued(m), 0);
	sf_merge__free(m);
}

/* The least ref a queue holds, wherever it lies in it, or the default. */
static void test_least_ref(void **state)
{
	struct sf_merge *m = merge_new(2);
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(sf_merge__least_ref(m, 0, 99), 99);
	assert_int_equal(sf_merge__push(m, 0, 50, 1000), 0);
	assert_int_equal(sf_merge__push(m, 0, 40, 1016), 0);
	assert_int_equal(sf_merge__push(m, 0, 60, 1032), 0);
	assert_int_equal(sf_merge__least_ref(m, 0, 2000), 1000);
	assert_int_equal(sf_merge__least_ref(m, 1, 2000), 2000);
	assert_int_equal(sf_merge__release(m, 45, collect, &s), 1);
	assert_int_equal(sf_merge__least_ref(m, 0, 2000), 1000);
	assert_int_equal(sf_merge__release(m, 55, collect, &s), 1);
	assert_int_equal(sf_merge__least_ref(m, 0, 2000), 1032);
	sf_merge__free(m);
}

/* The watermark is the least of the CPUs', and a CPU's never goes back. */
static void test_watermarks(void **state)
{
	struct sf_merge *m = merge_new(3);

	(void)state;
	assert_int_equal(sf_merge__watermark(m), 0);
	sf_merge__advance(m, 0, 50);
	sf_merge__advance(m, 1, 40);
	assert_int_equal(sf_merge__watermark(m), 0);
	sf_merge__advance(m, 2, 60);
	assert_int_equal(sf_merge__watermark(m), 40);
	push(m, 0, 45);
	sf_merge__advance(m, 1, 30);
	assert_int_equal(sf_merge__watermark(m), 40);
	sf_merge__advance(m, 1, 70);
	assert_int_equal(sf_merge__watermark(m), 50);
	sf_merge__advance(m, 0, 80);
	assert_int_equal(sf_merge__watermark(m), 60);
	sf_merge__free(m);
}

/* A burst's queue shrinks once it has passed, keeping what it holds. */
static void test_trim(void **state)
{
	struct sf_merge *m = merge_new(1);
	struct seen *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	for (uint64_t ts = 1; ts <= 3000; ts++)
		push(m, 0, ts);
	assert_int_equal(sf_merge__release(m, 2990, collect, s), 2989);
	sf_merge__trim(m);
	sf_merge__trim(m);
	assert_int_equal(sf_merge__queued(m), 11);
	push(m, 0, 3001);
	s->n = 0;
	assert_int_equal(sf_merge__release(m, UINT64_MAX, collect, s), 12);
	assert_int_equal(s->ts[0], 2990);
	assert_int_equal(s->ts[11], 3001);
	sf_merge__trim(m);
	free(s);
	sf_merge__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_across_cpus),  cmocka_unit_test(test_watermark),
		cmocka_unit_test(test_insert_from_back),   cmocka_unit_test(test_ties),
		cmocka_unit_test(test_growth_and_rounds),  cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_queue_out_of_range), cmocka_unit_test(test_least_ref),
		cmocka_unit_test(test_watermarks),	   cmocka_unit_test(test_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
