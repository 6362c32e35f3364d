/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef SYNFIN_COMMANDS_H
#define SYNFIN_COMMANDS_H

/* Each returns the process exit status: 0 ok, 1 runtime failure, 2 usage error. */
int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_repro(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
