// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "merge.h"

/* entries: 4 KiB, a page */
#define QUEUE_MIN 256
/* released slots at a queue's front before what waits slides back to them */
#define QUEUE_SLIDE 256

struct item {
	uint64_t ts;
	uint64_t ref;
};

/* One CPU's events, oldest first, in ev[head, tail). */
struct mqueue {
	struct item *ev;
	size_t head, tail, cap;
	size_t peak; /* the most queued at once since the last trim */
};

struct sf_merge {
	struct mqueue *q;
	unsigned int *heap; /* release's min-heap of queues, by their oldest event */
	uint64_t *seen; /* per queue: nothing older than this is still to come */
	uint64_t low; /* the least of seen[], unless low_stale */
	bool low_stale;
	unsigned int nq;
	size_t queued;
};

int sf_merge__new(struct sf_merge **out, unsigned int nqueues)
{
	struct sf_merge *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->nq = nqueues ? nqueues : 1;
	m->q = calloc(m->nq, sizeof(*m->q));
	m->heap = calloc(m->nq, sizeof(*m->heap));
	m->seen = calloc(m->nq, sizeof(*m->seen));
	if (!m->q || !m->heap || !m->seen) {
		sf_merge__free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

/* What waits moves to the front of the queue's array. */
static void queue_compact(struct mqueue *q)
{
	size_t n = q->tail - q->head;

	memmove(q->ev, q->ev + q->head, n * sizeof(*q->ev));
	q->head = 0;
	q->tail = n;
}

/*
 * Room for one more at the tail: slide the queue to the front when at least
 * half of it is free there, else double it, so each event moves O(1) times.
 */
static int queue_room(struct mqueue *q)
{
	size_t n = q->tail - q->head, cap;
	struct item *ev;

	if (q->tail < q->cap)
		return 0;
	if (q->head && q->head >= n) {
		queue_compact(q);
		return 0;
	}
	cap = q->cap ? q->cap * 2 : QUEUE_MIN;
	ev = realloc(q->ev, cap * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	q->ev = ev;
	q->cap = cap;
	return 0;
}

int sf_merge__push(struct sf_merge *m, unsigned int queue, uint64_t ts, uint64_t ref)
{
	struct mqueue *q;
	size_t i;

	if (queue >= m->nq)
		return -EINVAL;
	q = &m->q[queue];
	if (queue_room(q))
		return -ENOMEM;
	/* nearly always the tail: only an event stamped before one it was nested in moves */
	i = q->tail;
	while (i > q->head && q->ev[i - 1].ts > ts)
		i--;
	if (i < q->tail)
		memmove(q->ev + i + 1, q->ev + i, (q->tail - i) * sizeof(*q->ev));
	q->ev[i] = (struct item){ ts, ref };
	q->tail++;
	if (q->tail - q->head > q->peak)
		q->peak = q->tail - q->head;
	m->queued++;
	return 0;
}

void sf_merge__advance(struct sf_merge *m, unsigned int queue, uint64_t ts)
{
	uint64_t *seen;

	if (queue >= m->nq)
		return;
	seen = &m->seen[queue];
	if (ts <= *seen)
		return;
	if (*seen == m->low)
		m->low_stale = true;
	*seen = ts;
}

uint64_t sf_merge__watermark(struct sf_merge *m)
{
	if (!m->low_stale)
		return m->low;
	m->low = m->seen[0];
	for (unsigned int i = 1; i < m->nq; i++)
		if (m->seen[i] < m->low)
			m->low = m->seen[i];
	m->low_stale = false;
	return m->low;
}

/*
 * Back to the front once enough is released and little waits, so that the
 * queue's memory is reused while still in cache rather than walked through.
 */
static void queue_slide(struct mqueue *q)
{
	size_t n = q->tail - q->head;

	if (!n || (q->head >= QUEUE_SLIDE && n <= q->head / 4))
		queue_compact(q);
}

static inline bool heap_less(const struct sf_merge *m, unsigned int a, unsigned int b)
{
	uint64_t ta = m->q[a].ev[m->q[a].head].ts, tb = m->q[b].ev[m->q[b].head].ts;

	return ta < tb || (ta == tb && a < b);
}

static void heap_down(struct sf_merge *m, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		unsigned int tmp;

		if (l < n && heap_less(m, m->heap[l], m->heap[min]))
			min = l;
		if (r < n && heap_less(m, m->heap[r], m->heap[min]))
			min = r;
		if (min == i)
			return;
		tmp = m->heap[i];
		m->heap[i] = m->heap[min];
		m->heap[min] = tmp;
		i = min;
	}
}

static bool queue_due(const struct mqueue *q, uint64_t below)
{
	return q->head < q->tail && q->ev[q->head].ts < below;
}

/* The queues with something to release, as a heap; returns how many. */
static size_t heap_build(struct sf_merge *m, uint64_t below)
{
	size_t n = 0;

	for (unsigned int i = 0; i < m->nq; i++)
		if (queue_due(&m->q[i], below))
			m->heap[n++] = i;
	for (size_t i = n / 2; i-- > 0;)
		heap_down(m, n, i);
	return n;
}

/* Of the heap's n queues, the one whose head comes next after the top's (n when alone). */
static size_t runner_up(const struct sf_merge *m, size_t n)
{
	if (n < 3)
		return n == 2 ? 1 : n;
	return heap_less(m, m->heap[1], m->heap[2]) ? 1 : 2;
}

int sf_merge__release(struct sf_merge *m, uint64_t below, sf_merge_fn fn, void *ctx)
{
	size_t n = heap_build(m, below);
	int count = 0, ret = 0;

	while (n && ret >= 0) {
		unsigned int qi = m->heap[0];
		struct mqueue *q = &m->q[qi];
		size_t next = runner_up(m, n);

		/* the top queue's run of events that come before every other queue's head */
		do {
			ret = fn(ctx, qi, q->ev[q->head++].ref);
			m->queued--;
			count++;
		} while (ret >= 0 && queue_due(q, below) &&
			 (next == n || heap_less(m, qi, m->heap[next])));
		queue_slide(q);
		if (!queue_due(q, below))
			m->heap[0] = m->heap[--n];
		heap_down(m, n, 0);
	}
	return ret < 0 ? ret : count;
}

/* Halves the queue while it is four times what it held at most since the last trim. */
static void queue_trim(struct mqueue *q)
{
	size_t n = q->tail - q->head, cap = q->cap;
	struct item *ev;

	while (cap > QUEUE_MIN && q->peak * 4 <= cap)
		cap /= 2;
	q->peak = n;
	if (cap == q->cap)
		return;
	queue_compact(q);
	ev = realloc(q->ev, cap * sizeof(*ev));
	if (ev) {
		q->ev = ev;
		q->cap = cap;
	}
}

void sf_merge__trim(struct sf_merge *m)
{
	for (unsigned int i = 0; i < m->nq; i++)
		queue_trim(&m->q[i]);
}

uint64_t sf_merge__least_ref(const struct sf_merge *m, unsigned int queue, uint64_t none)
{
	const struct mqueue *q = &m->q[queue];
	uint64_t least;

	if (q->head == q->tail)
		return none;
	least = q->ev[q->head].ref;
	for (size_t i = q->head + 1; i < q->tail; i++)
		if (q->ev[i].ref < least)
			least = q->ev[i].ref;
	return least;
}

size_t sf_merge__queued(const struct sf_merge *m)
{
	return m->queued;
}

void sf_merge__free(struct sf_merge *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; m->q && i < m->nq; i++)
		free(m->q[i].ev);
	free(m->q);
	free(m->heap);
	free(m->seen);
	free(m);
}
