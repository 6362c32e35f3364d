/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The commands of main.c's table, one file each under src/cmd/. */
#ifndef SYNFIN_CMD_H
#define SYNFIN_CMD_H

/* Each returns the process exit status, one of enum sf_exit (cli.h). */
int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_repro(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
