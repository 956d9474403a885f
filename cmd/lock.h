/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The options of the cluster-wide apply lock for 'apply' and 'vm add' (the lock itself: engine/applylock.h). */
#ifndef PVFIO_CMD_LOCK_H
#define PVFIO_CMD_LOCK_H

#include "applylock.h"
#include "cli.h"

#define PV_CLI_LOCK_OPTS                                                                                          \
        { "lock-timeout", 0, PV_OPT_VALUE, "SECONDS",                                                             \
          "wait this long for another pvfio apply's cluster lock (default 300)", false },                        \
        { "no-lock", 0, PV_OPT_FLAG, NULL, "do not take the cluster-wide apply lock (unsafe with concurrent runs)",   \
          false }

/* Parse --lock-timeout and --no-lock into *lock (wanted = !--no-lock). <0 after a usage message. */
int pv_cli_lock_parse(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args,
                      struct pv_apply_lock *lock);

#endif
