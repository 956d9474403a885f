/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio host …  (placeholder table; the host layer fills it in) */
#include "cli.h"
#include "commands.h"

static const struct pv_cmd host_subcmds[] = {
        { NULL },
};

const struct pv_cmd pv_cmd_host = {
        .name = "host",
        .summary = "inspect and configure this node's PCI/IOMMU/VFIO setup",
        .subcmds = host_subcmds,
        .max_args = -1,
};
