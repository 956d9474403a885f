/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster-wide apply lock for 'apply' and 'vm add' (pvfio/clusterlock.h): options, messages. */
#ifndef PVFIO_CMD_LOCK_H
#define PVFIO_CMD_LOCK_H

#include "cli.h"
#include "pvfio/clusterlock.h"

#define PV_CLI_LOCK_OPTS                                                                                          \
        { "lock-timeout", 0, PV_OPT_VALUE, "SECONDS",                                                             \
          "wait this long for another pvfio apply's cluster lock (default 300)", false },                        \
        { "no-lock", 0, PV_OPT_FLAG, NULL, "do not take the cluster-wide apply lock (unsafe with concurrent runs)",   \
          false }

/* One command's lock: taken after connecting, before the cluster is read; released at the end. */
struct pv_cli_lock {
        bool wanted;                    /* the command takes the lock (not --no-lock) */
        unsigned timeout_s;             /* --lock-timeout */
        struct pv_api *api;             /* a reference while held */
        struct pv_lock_holder self;
        bool held;
};

/* Parse --lock-timeout and --no-lock into *lock (wanted = !--no-lock). <0 after a usage message. */
int pv_cli_lock_parse(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args,
                      struct pv_cli_lock *lock);
/* Take the lock when wanted (waits up to timeout_s). <0 with err on failure. */
int pv_cli_lock_take(struct pv_ctx *ctx, struct pv_api *api, struct pv_cli_lock *lock, struct pv_error *err);
/* Release if held (a failure is a warning: the lock then goes stale). NULL-safe. */
void pv_cli_lock_release(struct pv_ctx *ctx, struct pv_cli_lock *lock);

#endif
