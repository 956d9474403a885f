/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio api … (placeholder table; the API client fills it in) */
#include "cli.h"
#include "commands.h"

static const struct pv_cmd *const api_subcmds[] = {
        NULL,
};

const struct pv_cmd pv_cmd_api = {
        .name = "api",
        .summary = "talk to the Proxmox API directly (pvesh-like debugging)",
        .subcmds = api_subcmds,
        .max_args = -1,
};
