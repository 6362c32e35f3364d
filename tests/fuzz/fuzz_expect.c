// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* libFuzzer: the expectation parser and evaluator never crash, whatever the text. */
#include <stdint.h>
#include <string.h>
#include "expect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_lifecycle lc;
	struct expect_result r;
	struct expect x;
	char text[512], err[512], what[512];

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (expect_parse(text, &x, err, sizeof(err)))
		return 0;
	memset(&lc, 0, sizeof(lc));
	lc.handshake_us = size % 3 ? (int64_t)size : -1;
	lc.close = size % 7;
	lc.role = size % 3;
	expect_eval(&x, &lc, 1, &r, NULL, 0);
	expect_describe(&x, &lc, what, sizeof(what));
	return 0;
}
