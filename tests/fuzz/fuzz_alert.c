// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* libFuzzer: alert rules parse or fail cleanly; their state machine stays sane. */
#include <stdint.h>
#include <string.h>
#include "alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_inst in = { 0 };
	struct alert_rule r;
	char text[256], err[512];
	int fired = 0;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (alert_parse(text, &r, err, sizeof(err)))
		return 0;
	for (size_t i = 0; i < size; i++) {
		enum alert_change c = alert_step(&r, &in, data[i], i * 1000000000ull, i & 1);

		/* fired and cleared alternate, starting with fired */
		if (c == ALERT_FIRED)
			fired++;
		if (c == ALERT_CLEARED)
			fired--;
		if (fired < 0 || fired > 1)
			__builtin_trap();
	}
	return 0;
}
