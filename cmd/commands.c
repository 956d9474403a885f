/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The top-level command table, in the order `pvfio --help` lists it. */
#include "commands.h"

const struct pv_cmd *const pv_commands[] = {
        &pv_cmd_validate,
        &pv_cmd_plan,
        &pv_cmd_diff,
        &pv_cmd_apply,
        &pv_cmd_vm,
        &pv_cmd_host,
        &pv_cmd_api,
        NULL,
};
