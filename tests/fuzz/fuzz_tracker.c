// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: the engine on arbitrary event streams never crashes or leaks, and
 * keeps its invariants: live never goes negative, every endpoint it took in
 * comes out as exactly one lifecycle, a lifecycle with a gap is incomplete.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "view.h"
#include "tracker.h"

static uint64_t produced;
static char line[SF_JSON_MAX];

static void on_lc(const struct sf_lifecycle *lc, void *ctx)
{
	(void)ctx;
	produced++;
	if ((lc->gaps & ~SF_GAP_MIDLIFE) && lc->close != SF_CLOSE_INCOMPLETE)
		__builtin_trap();
	if (lc->nhops > SF_MAX_HOPS || lc->nwaves > SF_MAX_WAVES || lc->nopen > SF_MAX_OPEN)
		__builtin_trap();
	/* the writer has no bounds checks: SF_JSON_MAX must hold any lifecycle */
	if (!sf_lifecycle_json(line, sizeof(line), lc) || strlen(line) >= SF_JSON_MAX)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tracker_opts opts = { .max_conns = 64 };
	struct tracker_ops ops = { on_lc, NULL, NULL };
	struct tracker_stats st;
	struct tracker *t = NULL;
	struct sf_event e;

	produced = 0;
	if (tracker__new(&t, &opts, &ops))
		return 0;
	/* small fields from the input keep addresses and states colliding often */
	for (size_t off = 0; off + 24 <= size; off += 24) {
		const uint8_t *p = data + off;

		memset(&e, 0, sizeof(e));
		e.kind = 1 + p[0] % 4;
		if (p[0] == 0xff)
			e.kind = SF_EV_LOST;
		e.family = p[1] & 1 ? 10 : 2;
		e.oldstate = p[2] % 13;
		e.newstate = p[3] % 13;
		e.skaddr = 0x1000 + (p[4] % 16) * 64;
		e.cookie = p[5] % 4;
		e.ts_ns = off * 1000 + p[6];
		e.flags = p[7];
		e.sport = p[8] % 4;
		e.dport = p[9] % 4;
		e.saddr[0] = p[10] % 2;
		e.daddr[0] = p[11] % 2;
		memcpy(&e.snd_una, p + 12, 4);
		memcpy(&e.rcv_nxt, p + 16, 4);
		e.segs_in = p[20] % 4;
		e.segs_out = p[21] % 4;
		e.write_seq = e.snd_una + p[22] % 3;
		e.lost_seq = p[23] % 3;
		tracker__feed(t, &e);
		tracker__stats(t, &st);
		if (st.live > 64)
			__builtin_trap();
	}
	memset(&e, 0, sizeof(e));
	e.kind = SF_EV_END;
	e.ts_ns = size * 1000;
	tracker__feed(t, &e);
	tracker__stats(t, &st);
	if (st.live != 0 || st.connections != produced)
		__builtin_trap();
	tracker__free(t);
	return 0;
}
