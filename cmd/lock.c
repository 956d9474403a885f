/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "lock.h"

#include <string.h>

int pv_cli_lock_parse(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args,
                      struct pv_apply_lock *lock) {
        memset(lock, 0, sizeof *lock);
        if (pv_args_uint(ctx, cmd, args, "lock-timeout", 0, 86400, PV_CLUSTER_LOCK_DEFAULT_TIMEOUT_S, &lock->timeout_s) < 0)
                return -1;
        lock->wanted = !pv_args_flag(args, "no-lock");
        return 0;
}
