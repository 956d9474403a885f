/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PLACEHOLDER until the host planner lands: pvfio host plan / apply / rollback */
#include "cli.h"
#include "commands.h"

static int not_yet(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)args;
        fprintf(ctx->err, "pvfio host %s: not available in this build\n", cmd->name);
        return PV_EXIT_ERROR;
}

const struct pv_cmd pv_cmd_host_plan = { .name = "plan", .summary = "show the host changes a profile needs", .run = not_yet, .parent = "host", .max_args = -1 };
const struct pv_cmd pv_cmd_host_apply = { .name = "apply", .summary = "apply the host changes", .run = not_yet, .parent = "host", .max_args = -1 };
const struct pv_cmd pv_cmd_host_rollback = { .name = "rollback", .summary = "restore the pre-pvfio host state", .run = not_yet, .parent = "host", .max_args = -1 };
