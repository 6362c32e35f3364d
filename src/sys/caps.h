/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Least privilege: what a command keeps once its BPF objects are attached. */
#ifndef SYNFIN_CAPS_H
#define SYNFIN_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_CAP(c) (1ull << (c))

/*
 * For after the BPF objects are loaded and attached: sets no_new_privs and
 * empties the effective, inheritable and ambient sets, and the bounding set
 * when we hold CAP_SETPCAP. The capabilities in keep (SF_CAP bits) that we
 * were given stay in the permitted set only, for sf_caps_effective() to raise
 * around the one step that needs them.
 */
int sf_drop_privileges(uint64_t keep, char *err, size_t errlen);
/* Raises the kept capabilities, or lowers them; does nothing before the drop. */
void sf_caps_effective(bool raise);
/*
 * Runs fn with the capabilities in caps out of the effective set, as they will
 * be after the drop, then puts them back: to ask the kernel, before dropping,
 * what it will refuse without them. Returns what fn returns.
 */
int sf_caps_probe(uint64_t caps, int (*fn)(void *ctx), void *ctx);

#endif
