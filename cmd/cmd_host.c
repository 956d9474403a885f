/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio host …: the subcommand table. scan/check live in cmd_host_scan.c,
 * plan/apply/rollback in cmd_host_plan.c. */
#include "cli.h"
#include "commands.h"

static const struct pv_cmd *const host_subcmds[] = {
        &pv_cmd_host_scan,
        &pv_cmd_host_check,
        &pv_cmd_host_plan,
        &pv_cmd_host_apply,
        &pv_cmd_host_rollback,
        &pv_cmd_host_rom,
        NULL,
};

const struct pv_cmd pv_cmd_host = {
        .name = "host",
        .summary = "inspect and configure this node's PCI/IOMMU/VFIO setup",
        .subcmds = host_subcmds,
        .max_args = -1,
};
