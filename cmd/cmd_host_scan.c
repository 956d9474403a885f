/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PLACEHOLDER until the host-inspection layer lands: pvfio host scan / check */
#include "cli.h"
#include "commands.h"

static int not_yet(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)args;
        fprintf(ctx->err, "pvfio host %s: not available in this build\n", cmd->name);
        return PV_EXIT_ERROR;
}

const struct pv_cmd pv_cmd_host_scan = { .name = "scan", .summary = "list PCI devices by IOMMU group", .run = not_yet, .parent = "host", .max_args = -1 };
const struct pv_cmd pv_cmd_host_check = { .name = "check", .summary = "check passthrough readiness", .run = not_yet, .parent = "host", .max_args = -1 };
